"""The books as they leave: every posting of a household, streamed in ledger order with its
transaction's fields (docs/product.md §13, ports/export.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import asyncpg

from finance_bot.ports.export import ExportedConversion, ExportedPosting

# A reversal belongs where its original is (ports/export.py): the period is matched on the
# original's date. The conversion and the currencies' scales come in the same row, so a
# posting is one row and nothing is looked up per transaction.
_POSTINGS = """
    SELECT t.id, t.number, t.booked_on, t.kind::text AS kind, t.author_telegram_id,
           COALESCE(m.display_name, '') AS author_name, t.note, t.tags,
           t.voids_transaction_id, t.voided_by_transaction_id,
           a.name AS account_name, a.type::text AS account_type, a.code AS account_code,
           a.owner_telegram_id,
           p.direction::text AS direction, p.amount_minor, p.currency, pc.scale,
           h.currency AS base_currency, hc.scale AS base_scale,
           c.from_currency, c.from_amount_minor, fc.scale AS from_scale,
           c.to_currency, c.to_amount_minor, tc.scale AS to_scale, c.rate
      FROM transactions t
      JOIN households h ON h.id = t.household_id
      JOIN currencies hc ON hc.code = h.currency
      JOIN postings p ON p.transaction_id = t.id
      JOIN accounts a ON a.id = p.account_id
      JOIN currencies pc ON pc.code = p.currency
      LEFT JOIN members m ON m.telegram_id = t.author_telegram_id
      LEFT JOIN conversions c ON c.transaction_id = t.id
      LEFT JOIN currencies fc ON fc.code = c.from_currency
      LEFT JOIN currencies tc ON tc.code = c.to_currency
      LEFT JOIN transactions o ON o.id = t.voids_transaction_id
     WHERE t.household_id = $1
       AND ($2::date IS NULL OR COALESCE(o.booked_on, t.booked_on) >= $2)
       AND ($3::date IS NULL OR COALESCE(o.booked_on, t.booked_on) < $3)
     ORDER BY t.number, p.id
"""

_BATCH = 5000  # rows per round trip: big enough to stream fast, small enough to not matter


class PostgresExport:
    """ExportReader over a pool: one connection, one read-only snapshot per export, so the
    file is the books at one instant even while people keep recording."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def household_ids(self) -> list[int]:
        async with self._pool.acquire() as connection:
            return [
                row["id"] for row in await connection.fetch("SELECT id FROM households ORDER BY id")
            ]

    async def postings(
        self, household_id: int, *, start: date | None = None, end: date | None = None
    ) -> AsyncIterator[ExportedPosting]:
        async with (
            self._pool.acquire() as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            cursor = await connection.cursor(_POSTINGS, household_id, start, end)
            last: tuple[object, ExportedConversion | None] = (None, None)
            while rows := await cursor.fetch(_BATCH):
                for row in rows:
                    posting = _posting(row, last)
                    last = (posting.transaction_id, posting.conversion)
                    yield posting


def _posting(
    row: asyncpg.Record, last: tuple[object, ExportedConversion | None]
) -> ExportedPosting:
    (
        transaction_id,
        number,
        booked_on,
        kind,
        author,
        author_name,
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
        scale,
        base,
        base_scale,
        *conversion_columns,
    ) = row  # positionally, in the query's order: by name costs a lookup per column
    amount = Decimal(amount_minor if direction == "debit" else -amount_minor).scaleb(-scale)
    # The legs of a transaction are consecutive: its conversion is read once.
    conversion = last[1] if last[0] == transaction_id else _conversion(conversion_columns)
    return ExportedPosting(
        transaction_id=transaction_id,
        number=number,
        booked_on=booked_on,
        kind=kind,
        author_telegram_id=author,
        author_name=author_name,
        account_name=account_name,
        account_type=account_type,
        account_code=account_code,
        account_owner_telegram_id=owner,
        amount=amount,
        currency=currency,
        base_amount=base_amount(amount, currency, base, base_scale, conversion),
        base_currency=base,
        note=note,
        tags=tuple(tags),
        voids=voids,
        voided_by=voided_by,
        conversion=conversion,
    )


def _conversion(columns: list[Any]) -> ExportedConversion | None:
    from_currency, from_minor, from_scale, to_currency, to_minor, to_scale, rate = columns
    if from_currency is None:
        return None
    return ExportedConversion(
        from_amount=Decimal(from_minor).scaleb(-from_scale),
        from_currency=from_currency,
        to_amount=Decimal(to_minor).scaleb(-to_scale),
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
