"""Export the books (docs/product.md §13): a household's postings, grouped into
transactions, written to one or more formats in a single pass over one snapshot."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from finance_bot.domain.periods import Period, PeriodKind, reportable
from finance_bot.ports.export import BookWriter, ExportedPosting, ExportReader

_PERIOD = re.compile(r"^([0-9]{4})(?:-([0-9]{1,2}))?$")


def export_period(text: str | None) -> Period | None:
    """`YYYY` or `YYYY-MM` as a period; None for everything. Raises ValueError when the
    text is neither or outside the years the bot reports on."""
    if text is None or not text.strip():
        return None
    match = _PERIOD.match(text.strip())
    if match is None:
        raise ValueError(text)
    year = int(match[1])
    month = int(match[2]) if match[2] else None
    if month is not None and not 1 <= month <= 12:
        raise ValueError(text)
    day = date(max(year, 1), month or 1, 1)
    if not reportable(day):
        raise ValueError(text)
    return Period.containing(PeriodKind.YEAR if month is None else PeriodKind.MONTH, day)


def period_label(period: Period | None) -> str:
    """What names the files: `2026`, `2026-03`, or `all`."""
    if period is None:
        return "all"
    if period.kind is PeriodKind.YEAR:
        return f"{period.start.year}"
    return f"{period.start.year}-{period.start.month:02d}"


@dataclass(frozen=True)
class Exported:
    transactions: int
    postings: int


async def export_books(
    reader: ExportReader,
    household_id: int,
    period: Period | None,
    writers: Sequence[BookWriter],
) -> Exported:
    """Stream the household's books into every writer; nothing but one transaction's legs
    and the dates of voided transactions is held at a time."""
    start, end = (None, None) if period is None else (period.start, period.end)
    voided_on: dict[UUID, date] = {}  # a reversal counts on its original's day
    legs: list[ExportedPosting] = []
    transactions = postings = 0

    def flush() -> None:
        nonlocal transactions
        first = legs[0]
        if first.voided_by is not None:
            voided_on[first.transaction_id] = first.booked_on
        dated = voided_on.pop(first.voids, first.booked_on) if first.voids else first.booked_on
        for writer in writers:
            writer.transaction(legs, dated=dated)
        transactions += 1
        legs.clear()

    async for posting in reader.postings(household_id, start=start, end=end):
        if legs and posting.transaction_id != legs[0].transaction_id:
            flush()
        legs.append(posting)
        postings += 1
    if legs:
        flush()
    for writer in writers:
        writer.finish()
    return Exported(transactions, postings)
