"""The CSV export: one row per posting, the fixed contract that `finance-bot import` reads
back (docs/product.md §13)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TextIO

from finance_bot.ports.export import ExportedConversion, ExportedPosting

HEADER = (
    "transaction_id",
    "number",
    "date",
    "kind",
    "author",
    "author_name",
    "account",
    "account_type",
    "account_code",
    "account_owner",
    "amount",
    "currency",
    "base_amount",
    "base_currency",
    "note",
    "tags",
    "voids",
    "voided_by",
    "conversion_from",
    "conversion_to",
    "conversion_rate",
)


def plain(amount: Decimal) -> str:
    """A decimal as written: no exponent, no grouping, "-" only when negative."""
    return format(amount, "f")


def rate_text(rate: Decimal) -> str:
    """The stored rate with trailing zeros stripped: "41.5", "100"."""
    return format(rate.normalize(), "f")


def conversion_text(conversion: ExportedConversion) -> str:
    """ "20.00 USD > 830.00 UAH at 41.5", for the journals' metadata."""
    return (
        f"{plain(conversion.from_amount)} {conversion.from_currency} > "
        f"{plain(conversion.to_amount)} {conversion.to_currency} at {rate_text(conversion.rate)}"
    )


def _conversion_columns(conversion: ExportedConversion | None) -> list[str]:
    if conversion is None:
        return ["", "", ""]
    return [
        f"{plain(conversion.from_amount)} {conversion.from_currency}",
        f"{plain(conversion.to_amount)} {conversion.to_currency}",
        rate_text(conversion.rate),
    ]


class CsvWriter:
    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._rows = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
        self._rows.writerow(HEADER)

    def transaction(self, legs: Sequence[ExportedPosting], *, dated: date) -> None:
        # The CSV keeps each posting as booked: `dated` is for the journals' reports.
        first = legs[0]
        common = [
            str(first.transaction_id),
            str(first.number),
            first.booked_on.isoformat(),
            first.kind,
            str(first.author_telegram_id),
            first.author_name,
        ]
        tail = [
            first.base_currency,
            first.note,
            " ".join(first.tags),
            "" if first.voids is None else str(first.voids),
            "" if first.voided_by is None else str(first.voided_by),
            *_conversion_columns(first.conversion),
        ]
        self._rows.writerows(
            [
                *common,
                leg.account_name,
                leg.account_type,
                leg.account_code or "",
                "" if leg.account_owner_telegram_id is None else str(leg.account_owner_telegram_id),
                plain(leg.amount),
                leg.currency,
                "" if leg.base_amount is None else plain(leg.base_amount),
                *tail,
            ]
            for leg in legs
        )

    def finish(self) -> None:
        self._out.flush()
