"""The books as they leave: every posting of a household, streamed in ledger order with its
transaction's fields (docs/product.md §13, ports/export.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import asyncpg

from finance_bot.ports.export import ExportedConversion, ExportedPosting

# One row per posting, with its transaction's fields and conversion; the few things every
# row shares (currencies' scales, the base currency, authors' names) are read once beside it.
_POSTINGS = """
    SELECT t.id, t.number, t.booked_on, t.kind::text, t.author_telegram_id, t.note, t.tags,
           t.voids_transaction_id, t.voided_by_transaction_id,
           a.name, a.type::text, a.code, a.owner_telegram_id,
           p.direction::text, p.amount_minor, p.currency,
           c.from_currency, c.from_amount_minor, c.to_currency, c.to_amount_minor, c.rate
      FROM transactions t
      JOIN postings p ON p.transaction_id = t.id
      JOIN accounts a ON a.id = p.account_id
      LEFT JOIN conversions c ON c.transaction_id = t.id
     WHERE t.household_id = $1 {period}
     ORDER BY t.number, p.id
"""
# A reversal belongs where its original is (ports/export.py): matched on the original's date.
_PERIOD = """
       AND COALESCE((SELECT o.booked_on FROM transactions o WHERE o.id = t.voids_transaction_id),
                    t.booked_on) >= $2
       AND COALESCE((SELECT o.booked_on FROM transactions o WHERE o.id = t.voids_transaction_id),
                    t.booked_on) < $3
"""

_BATCH = 5000  # rows per round trip: big enough to stream fast, small enough to not matter


class PostgresExport:
    """ExportReader over a pool: one connection, one read-only snapshot per export, so the
    file is the books at one instant even while people keep recording."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def household_ids(self) -> list[int]:
        async with self._pool.acquire() as connection:
            # Across households, the ids alone (docs/adr/0021).
            return [row[0] for row in await connection.fetch("SELECT household_ids()")]

    async def postings(
        self, household_id: int, *, start: date | None = None, end: date | None = None
    ) -> AsyncIterator[ExportedPosting]:
        async with (
            self._pool.acquire() as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            await connection.execute(
                "SELECT set_config('finance_bot.household', $1::bigint::text, true)", household_id
            )
            shared = await _shared(connection, household_id)
            if start is None and end is None:
                cursor = await connection.cursor(_POSTINGS.format(period=""), household_id)
            else:
                cursor = await connection.cursor(
                    _POSTINGS.format(period=_PERIOD),
                    household_id,
                    start or date.min,
                    end or date.max,
                )
            last: tuple[object, ExportedConversion | None] = (None, None)
            while rows := await cursor.fetch(_BATCH):
                for row in rows:
                    posting = _posting(row, shared, last)
                    last = (posting.transaction_id, posting.conversion)
                    yield posting


@dataclass(frozen=True, slots=True)
class _Shared:
    base: str
    scales: dict[str, int]
    names: dict[int, str]


async def _shared(connection: asyncpg.Connection, household_id: int) -> _Shared:
    base = await connection.fetchval("SELECT currency FROM households WHERE id = $1", household_id)
    scales = await connection.fetch("SELECT code, scale FROM currencies")
    names = await connection.fetch(
        "SELECT telegram_id, COALESCE(display_name, '') FROM members WHERE household_id = $1",
        household_id,
    )
    return _Shared(
        base=base,
        scales=dict(scales),
        names=dict(names),
    )


def _posting(
    row: asyncpg.Record, shared: _Shared, last: tuple[object, ExportedConversion | None]
) -> ExportedPosting:
    (
        transaction_id,
        number,
        booked_on,
        kind,
        author,
        note,
        tags,
        voids,
        voided_by,
        account_name,
        account_type,
        account_code,
        owner,
        direction,
        amount_minor,
        currency,
        *conversion_columns,
    ) = row  # positionally, in the query's order: by name costs a lookup per column
    scales = shared.scales
    amount = Decimal(amount_minor if direction == "debit" else -amount_minor).scaleb(
        -scales[currency]
    )
    # The legs of a transaction are consecutive: its conversion is read once.
    conversion = last[1] if last[0] == transaction_id else _conversion(conversion_columns, scales)
    base = shared.base
    return ExportedPosting(
        transaction_id=transaction_id,
        number=number,
        booked_on=booked_on,
        kind=kind,
        author_telegram_id=author,
        author_name=shared.names.get(author, ""),
        account_name=account_name,
        account_type=account_type,
        account_code=account_code,
        account_owner_telegram_id=owner,
        amount=amount,
        currency=currency,
        base_amount=base_amount(amount, currency, base, scales[base], conversion),
        base_currency=base,
        note=note,
        tags=tuple(tags),
        voids=voids,
        voided_by=voided_by,
        conversion=conversion,
    )


def _conversion(columns: list[Any], scales: dict[str, int]) -> ExportedConversion | None:
    from_currency, from_minor, to_currency, to_minor, rate = columns
    if from_currency is None:
        return None
    return ExportedConversion(
        from_amount=Decimal(from_minor).scaleb(-scales[from_currency]),
        from_currency=from_currency,
        to_amount=Decimal(to_minor).scaleb(-scales[to_currency]),
        to_currency=to_currency,
        rate=rate,
    )


def base_amount(
    amount: Decimal,
    currency: str,
    base: str,
    base_scale: int,
    conversion: ExportedConversion | None,
) -> Decimal | None:
    """A leg in the base currency: itself; a foreign leg: its share of the base side of the
    transaction's conversion when one side is the base (a leg carrying the whole foreign
    side, as every leg the bot writes does, is exactly the base side); else unknown."""
    if currency == base:
        return amount
    if conversion is None:
        return None
    sides = {
        conversion.from_currency: conversion.from_amount,
        conversion.to_currency: conversion.to_amount,
    }
    if base not in sides or currency not in sides:
        return None
    foreign, in_base = sides[currency], sides[base]
    if abs(amount) == foreign:
        return in_base.copy_sign(amount)
    exact = amount * in_base / foreign
    return exact.quantize(Decimal(1).scaleb(-base_scale), rounding=ROUND_HALF_EVEN)
