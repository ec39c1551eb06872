"""Repeating entries: the rules, and one row per rule and due date (docs/adr/0016)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from finance_bot.adapters.postgres.lent_connection import durable
from finance_bot.ports.records import OccurrenceNotice, RecurringRule

# Any fixed number will do; the same in every finance-bot process ("rule").
_NUMBERING_LOCK = 0x72756C65

_RULE_COLUMNS = (
    "id, number, household_id, author_telegram_id, every, day, month, line, entry, starts_on,"
    " stopped_at IS NOT NULL AS stopped"
)


class PostgresRecurring:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def add_rule(
        self,
        *,
        household_id: int,
        author_telegram_id: int,
        every: str,
        day: int,
        month: int,
        line: str,
        entry: Mapping[str, object],
        starts_on: date,
    ) -> int:
        # Numbers are the household's own: two rules made at once in one household take
        # turns here (the lock ends with the transaction); other households never wait.
        await self._connection.execute(
            "SELECT pg_advisory_xact_lock($1, $2::integer)", _NUMBERING_LOCK, household_id
        )
        number: int = await self._connection.fetchval(
            "INSERT INTO recurring_rules"
            " (household_id, number, author_telegram_id, every, day, month, line, entry,"
            "  starts_on)"
            " SELECT $1, COALESCE(max(number), 0) + 1, $2, $3, $4, $5, $6, $7::jsonb, $8"
            "   FROM recurring_rules WHERE household_id = $1"
            " RETURNING number",
            household_id,
            author_telegram_id,
            every,
            day,
            month,
            line,
            json.dumps(dict(entry)),
            starts_on,
        )
        await durable(self._connection)
        return number

    async def rules(self, household_id: int) -> list[RecurringRule]:
        rows = await self._connection.fetch(
            f"SELECT {_RULE_COLUMNS} FROM recurring_rules"
            " WHERE household_id = $1 AND stopped_at IS NULL ORDER BY number",
            household_id,
        )
        return [_rule(row) for row in rows]

    async def live_rules(self) -> list[RecurringRule]:
        rows = await self._connection.fetch(
            # The policy shows the bound household's rules alone; said here too, for a
            # connection the policy does not hold (the owner's, a superuser's).
            f"SELECT {_RULE_COLUMNS} FROM recurring_rules"
            " WHERE stopped_at IS NULL AND household_id = current_household() ORDER BY id"
        )
        return [_rule(row) for row in rows]

    async def households_with_live_rules(self) -> list[int]:
        return [
            row[0] for row in await self._connection.fetch("SELECT households_with_live_rules()")
        ]

    async def households_with_unsent_notices(self) -> list[int]:
        return [
            row[0]
            for row in await self._connection.fetch("SELECT households_with_unsent_notices()")
        ]

    async def stop(self, household_id: int, number: int) -> bool:
        stopped = await self._connection.fetchval(
            "UPDATE recurring_rules SET stopped_at = now()"
            " WHERE number = $1 AND household_id = $2 AND stopped_at IS NULL RETURNING id",
            number,
            household_id,
        )
        await durable(self._connection)
        return stopped is not None

    async def dealt_with(self, rule_id: int, since: date) -> set[date]:
        rows = await self._connection.fetch(
            "SELECT due_on FROM recurring_occurrences WHERE rule_id = $1 AND due_on >= $2",
            rule_id,
            since,
        )
        return {row["due_on"] for row in rows}

    async def add_occurrence(
        self,
        rule_id: int,
        due_on: date,
        *,
        transaction_id: UUID | None,
        skipped: str | None,
        alerts: Sequence[Mapping[str, Any]] = (),
    ) -> bool:
        added = await self._connection.fetchval(
            # A rule stopped meanwhile (`/every off N`) records nothing more.
            "INSERT INTO recurring_occurrences (rule_id, due_on, transaction_id, skipped, alerts)"
            " SELECT $1, $2, $3, $4, $5::jsonb WHERE EXISTS"
            " (SELECT 1 FROM recurring_rules WHERE id = $1 AND stopped_at IS NULL)"
            " ON CONFLICT (rule_id, due_on) DO NOTHING RETURNING true",
            rule_id,
            due_on,
            transaction_id,
            skipped,
            json.dumps([dict(alert) for alert in alerts]),
        )
        await durable(self._connection)
        return added is True

    async def unsent(self, limit: int) -> list[OccurrenceNotice]:
        rows = await self._connection.fetch(
            """
            WITH first_rule AS (
                SELECT o.rule_id FROM recurring_occurrences o
                 WHERE o.notified_at IS NULL
                 ORDER BY o.rule_id, o.due_on
                 LIMIT 1
                   FOR UPDATE SKIP LOCKED
            ), locked AS (
                SELECT o.rule_id, o.due_on, o.transaction_id, o.skipped, o.alerts
                  FROM recurring_occurrences o
                 WHERE o.notified_at IS NULL AND o.rule_id = (SELECT rule_id FROM first_rule)
                 ORDER BY o.due_on
                 LIMIT $1
                   FOR UPDATE SKIP LOCKED
            )
            SELECT l.rule_id, l.due_on, l.transaction_id, l.skipped, l.alerts, t.number,
                   r.author_telegram_id, r.line, r.number AS rule_number
              FROM locked l
              JOIN recurring_rules r ON r.id = l.rule_id
              LEFT JOIN transactions t ON t.id = l.transaction_id
             ORDER BY l.due_on
            """,
            limit,
        )
        return [
            OccurrenceNotice(
                rule_id=row["rule_id"],
                rule_number=row["rule_number"],
                due_on=row["due_on"],
                author_telegram_id=row["author_telegram_id"],
                line=row["line"],
                transaction_id=row["transaction_id"],
                number=row["number"],
                skipped=row["skipped"],
                alerts=tuple(_json(row["alerts"])),
            )
            for row in rows
        ]

    async def mark_sent(self, rule_id: int, due_dates: Sequence[date]) -> None:
        await self._connection.execute(
            "UPDATE recurring_occurrences SET notified_at = now()"
            " WHERE rule_id = $1 AND due_on = ANY($2::date[])",
            rule_id,
            list(due_dates),
        )
        await durable(self._connection)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _rule(row: asyncpg.Record) -> RecurringRule:
    entry: Any = row["entry"]
    return RecurringRule(
        id=row["id"],
        number=row["number"],
        household_id=row["household_id"],
        author_telegram_id=row["author_telegram_id"],
        every=row["every"],
        day=row["day"],
        month=row["month"],
        line=row["line"],
        entry=json.loads(entry) if isinstance(entry, str) else dict(entry),
        starts_on=row["starts_on"],
        stopped=row["stopped"],
    )
