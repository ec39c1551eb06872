"""Forgetting idempotency keys that no update can come back for (docs/adr/0012).

Telegram redelivers an unconfirmed update for at most a day; a key kept a week covers
that with room for a bot that was down. Pruning is the only DELETE the bot runs on
idempotency_keys, so the database role it runs as needs DELETE there and nowhere else
for this purpose.
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg

KEY_RETENTION = timedelta(days=7)

PRUNE_IDEMPOTENCY_KEYS = "DELETE FROM idempotency_keys WHERE created_at < now() - $1::interval"


async def prune_idempotency_keys(
    connection: asyncpg.Connection, keep: timedelta = KEY_RETENTION
) -> int:
    """Delete the keys older than `keep`; return how many went."""
    status: str = await connection.execute(PRUNE_IDEMPOTENCY_KEYS, keep)
    return int(status.rsplit(maxsplit=1)[-1])
