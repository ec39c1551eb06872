"""A test-side CSV export that follows the shared contract (docs/product.md §13): the
postings of one household read straight from the tables, written one per row. The import
tests use it to make files from ledgers built by the application, and to compare a
household with its imported copy byte for byte."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, TextIO

from finance_bot.adapters.export.csv_reader import HEADER
from finance_bot.domain.currencies import scale
from finance_bot.ports.export import ExportedConversion, ExportedPosting

if TYPE_CHECKING:
    import asyncpg

_POSTINGS = """
    SELECT t.id, t.number, t.booked_on, t.kind::text, t.author_telegram_id,
           COALESCE(m.display_name, '') AS author_name, a.name, a.type::text, a.code,
           a.owner_telegram_id, p.direction::text, p.amount_minor, p.currency::text,
           h.currency::text AS base_currency, t.note, t.tags, t.voids_transaction_id,
           t.voided_by_transaction_id, c.from_currency::text, c.from_amount_minor,
           c.to_currency::text, c.to_amount_minor, c.rate
      FROM transactions t
      JOIN households h ON h.id = t.household_id
      JOIN members m ON m.telegram_id = t.author_telegram_id
      JOIN postings p ON p.transaction_id = t.id
      JOIN accounts a ON a.id = p.account_id
      LEFT JOIN conversions c ON c.transaction_id = t.id
     WHERE t.household_id = $1
     ORDER BY t.number, p.id
"""


def _major(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-scale(currency))


async def household_postings(
    connection: asyncpg.Connection, household_id: int
) -> list[ExportedPosting]:
    postings = []
    for row in await connection.fetch(_POSTINGS, household_id):
        sign = 1 if row["direction"] == "debit" else -1
        amount = _major(sign * row["amount_minor"], row["currency"])
        conversion = None
        if row["from_currency"] is not None:
            conversion = ExportedConversion(
                _major(row["from_amount_minor"], row["from_currency"]),
                row["from_currency"],
                _major(row["to_amount_minor"], row["to_currency"]),
                row["to_currency"],
                row["rate"],
            )
        postings.append(
            ExportedPosting(
                transaction_id=row["id"],
                number=row["number"],
                booked_on=row["booked_on"],
                kind=row["kind"],
                author_telegram_id=row["author_telegram_id"],
                author_name=row["author_name"],
                account_name=row["name"],
                account_type=row["type"],
                account_code=row["code"],
                account_owner_telegram_id=row["owner_telegram_id"],
                amount=amount,
                currency=row["currency"],
                base_amount=amount if row["currency"] == row["base_currency"] else None,
                base_currency=row["base_currency"],
                note=row["note"],
                tags=tuple(row["tags"]),
                voids=row["voids_transaction_id"],
                voided_by=row["voided_by_transaction_id"],
                conversion=conversion,
            )
        )
    return postings


def _amount(value: Decimal, currency: str) -> str:
    return f"{value:.{scale(currency)}f}"


def _rate(value: Decimal) -> str:
    return format(value.normalize(), "f")


def write_csv(postings: Iterable[ExportedPosting], out: TextIO) -> int:
    """The contract's CSV; the number of rows written (the header not counted)."""
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(HEADER)
    rows = 0
    for p in postings:
        c = p.conversion
        writer.writerow([
            str(p.transaction_id), str(p.number), p.booked_on.isoformat(), p.kind,
            str(p.author_telegram_id), p.author_name, p.account_name, p.account_type,
            p.account_code or "",
            "" if p.account_owner_telegram_id is None else str(p.account_owner_telegram_id),
            _amount(p.amount, p.currency), p.currency,
            "" if p.base_amount is None else _amount(p.base_amount, p.base_currency),
            p.base_currency, p.note, " ".join(p.tags), str(p.voids or ""),
            str(p.voided_by or ""),
            "" if c is None else f"{_amount(c.from_amount, c.from_currency)} {c.from_currency}",
            "" if c is None else f"{_amount(c.to_amount, c.to_currency)} {c.to_currency}",
            "" if c is None else _rate(c.rate),
        ])  # fmt: skip
        rows += 1
    return rows


async def household_csv(url: str, household_id: int) -> str:
    import asyncpg  # here, so that the unit tier, which writes files by hand, never loads it

    connection = await asyncpg.connect(url)
    try:
        postings = await household_postings(connection, household_id)
    finally:
        await connection.close()
    out = io.StringIO(newline="")
    write_csv(postings, out)
    return out.getvalue()
