"""Forgetting idempotency keys that no update can come back for (docs/adr/0012).

Telegram redelivers an unconfirmed update for at most a day; a key kept a week covers
that with room for a bot that was down. The bot's role cannot DELETE from
idempotency_keys; it prunes through the function of migration 0006, which runs with its
owner's rights and never removes a key younger than a week.
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg

KEY_RETENTION = timedelta(days=7)

PRUNE_IDEMPOTENCY_KEYS = "SELECT prune_idempotency_keys($1::interval)"


async def prune_idempotency_keys(
    connection: asyncpg.Connection, keep: timedelta = KEY_RETENTION
) -> int:
    """Delete the keys older than `keep` (a week at least); return how many went."""
    pruned: int = await connection.fetchval(PRUNE_IDEMPOTENCY_KEYS, keep)
    return pruned
