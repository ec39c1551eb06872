"""The CSV export as the import tests use it: the bot's own reader and writer
(adapters/postgres/export.py, adapters/export/csv_writer.py), so every import test is also a
round trip through the real export."""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date
from itertools import groupby
from typing import TextIO

from finance_bot.adapters.export.csv_writer import CsvWriter
from finance_bot.ports.export import ExportedPosting


def write_csv(postings: Iterable[ExportedPosting], out: TextIO) -> int:
    """Postings already in memory (the unit tier's hand-made books), as the export writes
    them; returns the rows written."""
    writer = CsvWriter(out)
    rows = 0
    for _, legs in groupby(postings, key=lambda posting: posting.transaction_id):
        batch = list(legs)
        writer.transaction(batch, dated=date.min)  # the CSV keeps each leg's own date
        rows += len(batch)
    writer.finish()
    return rows


async def household_csv(url: str, household_id: int) -> str:
    """One household's books exported as `finance-bot export --format csv` does."""
    # Here, so that the unit tier, which writes files by hand, never loads them.
    from finance_bot.adapters.postgres.export import PostgresExport
    from finance_bot.adapters.postgres.unit_of_work import create_pool
    from finance_bot.application.export import export_books

    pool = await create_pool(url, min_size=1, max_size=1)
    try:
        out = io.StringIO(newline="")
        await export_books(PostgresExport(pool), household_id, None, [CsvWriter(out)])
    finally:
        await pool.close()
    return out.getvalue()
