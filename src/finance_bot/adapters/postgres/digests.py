"""Digest settings and the log that sends each digest at most once (docs/adr/0017).

A setting and a claim are the household's the unit of work is bound to (docs/adr/0025): a
person's digests of a household they left are not those of the one they are in now."""

from __future__ import annotations

from datetime import date

import asyncpg

from finance_bot.adapters.postgres.lent_connection import durable
from finance_bot.domain.digests import DigestKind, DigestSchedule
from finance_bot.ports.records import DigestSubscription


class PostgresDigests:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def subscribe(self, subscription: DigestSubscription) -> None:
        await self._connection.execute(
            """
            INSERT INTO digest_settings (telegram_id, household_id, kind, send_at, since)
            VALUES ($1, current_household(), $2, $3, $4)
            ON CONFLICT (telegram_id)
            DO UPDATE SET kind = EXCLUDED.kind, send_at = EXCLUDED.send_at, since = EXCLUDED.since
            """,
            subscription.telegram_id,
            subscription.schedule.kind.value,
            subscription.schedule.at,
            subscription.since,
        )
        await durable(self._connection)

    async def unsubscribe(self, telegram_id: int) -> bool:
        status: str = await self._connection.execute(
            "DELETE FROM digest_settings WHERE telegram_id = $1", telegram_id
        )
        await durable(self._connection)
        return status != "DELETE 0"

    async def subscription(self, telegram_id: int) -> DigestSubscription | None:
        row = await self._connection.fetchrow(
            "SELECT telegram_id, kind, send_at, since FROM digest_settings WHERE telegram_id = $1",
            telegram_id,
        )
        return _subscription(row) if row is not None else None

    async def subscriptions(self) -> list[DigestSubscription]:
        rows = await self._connection.fetch(
            "SELECT telegram_id, kind, send_at, since FROM digest_settings"
            " WHERE household_id = current_household() ORDER BY telegram_id"
        )
        return [_subscription(row) for row in rows]

    async def households_with_digests(self) -> list[int]:
        return [row[0] for row in await self._connection.fetch("SELECT households_with_digests()")]

    async def logged(self, telegram_id: int, kind: DigestKind, period_start: date) -> bool:
        found = await self._connection.fetchval(
            "SELECT true FROM digests_sent WHERE household_id = current_household()"
            " AND telegram_id = $1 AND kind = $2 AND period_start = $3",
            telegram_id,
            kind.value,
            period_start,
        )
        return bool(found)

    async def claim(self, telegram_id: int, kind: DigestKind, period_start: date) -> bool:
        # ON CONFLICT waits for a concurrent claim of the same digest to commit or roll
        # back, so of two schedulers exactly one wins.
        claimed = await self._connection.fetchval(
            """
            INSERT INTO digests_sent (household_id, telegram_id, kind, period_start)
            VALUES (current_household(), $1, $2, $3)
            ON CONFLICT DO NOTHING RETURNING true
            """,
            telegram_id,
            kind.value,
            period_start,
        )
        await durable(self._connection)
        return bool(claimed)

    async def finish(
        self, telegram_id: int, kind: DigestKind, period_start: date, *, sent: bool
    ) -> None:
        await self._connection.execute(
            """
            UPDATE digests_sent SET state = $4, finished_at = now()
             WHERE household_id = current_household()
               AND telegram_id = $1 AND kind = $2 AND period_start = $3
            """,
            telegram_id,
            kind.value,
            period_start,
            "sent" if sent else "refused",
        )
        await durable(self._connection)

    async def release(self, telegram_id: int, kind: DigestKind, period_start: date) -> None:
        await self._connection.execute(
            "DELETE FROM digests_sent WHERE household_id = current_household()"
            " AND telegram_id = $1 AND kind = $2 AND period_start = $3 AND state = 'sending'",
            telegram_id,
            kind.value,
            period_start,
        )
        await durable(self._connection)


def _subscription(row: asyncpg.Record) -> DigestSubscription:
    return DigestSubscription(
        telegram_id=row["telegram_id"],
        schedule=DigestSchedule(DigestKind(row["kind"]), row["send_at"]),
        since=row["since"],
    )
