"""Budgets, their alerts, and idempotency keys."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import asyncpg

from finance_bot.adapters.postgres.lent_connection import durable
from finance_bot.domain.money import Money
from finance_bot.ports.records import Budget


class PostgresBudgets:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def set(self, household_id: int, category_id: int | None, limit: Money) -> None:
        await self._connection.execute(
            """
            INSERT INTO budgets (household_id, category_id, amount_minor, currency)
            VALUES ($1, $2, $3, $4)
            ON CONFLICT (household_id, COALESCE(category_id, 0))
            DO UPDATE SET amount_minor = EXCLUDED.amount_minor, currency = EXCLUDED.currency,
                          updated_at = now()
            """,
            household_id,
            category_id,
            limit.amount_minor,
            limit.currency,
        )
        await durable(self._connection)

    async def remove(self, household_id: int, category_id: int | None) -> bool:
        status: str = await self._connection.execute(
            "DELETE FROM budgets WHERE household_id = $1 AND category_id IS NOT DISTINCT FROM $2",
            household_id,
            category_id,
        )
        await durable(self._connection)
        return status != "DELETE 0"

    async def all(self, household_id: int) -> list[Budget]:
        rows = await self._connection.fetch(
            "SELECT category_id, amount_minor, currency FROM budgets WHERE household_id = $1"
            " ORDER BY category_id NULLS FIRST",
            household_id,
        )
        return [Budget(r["category_id"], Money(r["amount_minor"], r["currency"])) for r in rows]

    async def record_alert(
        self, household_id: int, category_id: int | None, month: date, threshold_pct: int
    ) -> bool:
        inserted = await self._connection.fetchval(
            """
            INSERT INTO budget_alerts (household_id, category_id, month, threshold_pct)
            VALUES ($1, $2, $3, $4)
            ON CONFLICT (household_id, COALESCE(category_id, 0), month, threshold_pct) DO NOTHING
            RETURNING true
            """,
            household_id,
            category_id,
            month,
            threshold_pct,
        )
        await durable(self._connection)
        return bool(inserted)


class PostgresIdempotency:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def claim(self, key: str) -> dict[str, Any] | None:
        # ON CONFLICT waits for a concurrent claimer of the same key to finish, so the
        # loser sees the winner's committed result instead of doing the work twice.
        claimed = await self._connection.fetchval(
            "INSERT INTO idempotency_keys (key) VALUES ($1) ON CONFLICT DO NOTHING RETURNING true",
            key,
        )
        await durable(self._connection)
        if claimed:
            return None
        stored = await self._connection.fetchval(
            "SELECT result FROM idempotency_keys WHERE key = $1", key
        )
        result: dict[str, Any] = json.loads(stored) if stored else {}
        return result

    async def stored(self, key: str) -> dict[str, Any] | None:
        value = await self._connection.fetchval(
            "SELECT result FROM idempotency_keys WHERE key = $1", key
        )
        result: dict[str, Any] | None = json.loads(value) if value else None
        return result

    async def claimed_since(self, prefix: str, since: datetime) -> set[str]:
        rows = await self._connection.fetch(
            "SELECT key FROM idempotency_keys WHERE starts_with(key, $1) AND created_at >= $2",
            prefix,
            since,
        )
        return {row["key"] for row in rows}

    async def store(self, key: str, result: dict[str, Any]) -> None:
        await self._connection.execute(
            "UPDATE idempotency_keys SET result = $2::jsonb WHERE key = $1", key, json.dumps(result)
        )
        await durable(self._connection)
