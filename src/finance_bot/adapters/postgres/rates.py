"""Exchange rates: the household's history of what one unit of a currency is worth."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

import asyncpg

from finance_bot.adapters.postgres.lent_connection import durable
from finance_bot.ports.records import Rate

# On one day a rate set by hand outranks an exchange's, which outranks the official one.
_RANK = "CASE source WHEN 'manual' THEN 0 WHEN 'exchange' THEN 1 ELSE 2 END"
# The rate in force on day $D: the latest on or before it, else the earliest after it.
RATE_ON_DAY_ORDER = f"""
    valid_from > $D,
    CASE WHEN valid_from <= $D THEN $D - valid_from ELSE valid_from - $D END,
    {_RANK}, id DESC
"""


class PostgresRates:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def add(
        self,
        household_id: int,
        currency: str,
        rate: Decimal,
        valid_from: date,
        *,
        source: str,
        author_telegram_id: int | None = None,
    ) -> None:
        await self._connection.execute(
            "INSERT INTO exchange_rates"
            " (household_id, currency, valid_from, rate, source, author_telegram_id)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            household_id,
            currency,
            valid_from,
            rate,
            source,
            author_telegram_id,
        )
        await durable(self._connection)

    async def add_official(self, day: date, rates_in_uah: Mapping[str, Decimal]) -> int:
        # The hryvnia is one hryvnia; a household in another currency gets every rate
        # through its own currency's (cross rates), and none when the source lacks it.
        quoted = {**rates_in_uah, "UAH": Decimal(1)}
        codes, values = list(quoted), list(quoted.values())
        added: int = await self._connection.fetchval(
            """
            WITH quoted AS (
                SELECT code, rate FROM unnest($2::text[], $3::numeric[]) AS q(code, rate)
                 WHERE code IN (SELECT code FROM currencies) AND rate > 0
            ), inserted AS (
                INSERT INTO exchange_rates (household_id, currency, valid_from, rate, source)
                SELECT h.id, q.code, $1, q.rate / base.rate, 'official'
                  FROM households h
                  JOIN quoted base ON base.code = h.currency
                  JOIN quoted q ON q.code <> h.currency
                ON CONFLICT (household_id, currency, valid_from) WHERE source = 'official'
                DO NOTHING
                RETURNING 1
            )
            SELECT count(*) FROM inserted
            """,
            day,
            codes,
            values,
        )
        await durable(self._connection)
        return added

    async def on(self, household_id: int, currency: str, day: date) -> Rate | None:
        row = await self._connection.fetchrow(
            f"""
            SELECT currency, rate, valid_from, source FROM exchange_rates
             WHERE household_id = $1 AND currency = $2
             ORDER BY {RATE_ON_DAY_ORDER.replace("$D", "$3")}
             LIMIT 1
            """,
            household_id,
            currency,
            day,
        )
        return _rate(row) if row else None

    async def latest(self, household_id: int) -> list[Rate]:
        rows = await self._connection.fetch(
            f"""
            SELECT DISTINCT ON (currency) currency, rate, valid_from, source
              FROM exchange_rates WHERE household_id = $1
             ORDER BY currency, valid_from DESC, {_RANK}, id DESC
            """,
            household_id,
        )
        return [_rate(row) for row in rows]


def _rate(row: asyncpg.Record) -> Rate:
    return Rate(
        currency=row["currency"],
        rate=row["rate"],
        valid_from=row["valid_from"],
        source=row["source"],
    )
