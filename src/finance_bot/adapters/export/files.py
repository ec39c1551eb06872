"""The three formats by name, and writers over files opened as each format needs."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TextIO

from finance_bot.adapters.export.beancount_file import BeancountWriter
from finance_bot.adapters.export.csv_writer import CsvWriter
from finance_bot.adapters.export.ledger_journal import LedgerJournalWriter
from finance_bot.ports.export import BookWriter

# the CLI's --format names, with the file suffix each one gets
FORMATS = (("csv", ".csv"), ("ledger", ".journal"), ("beancount", ".beancount"))


def writer(name: str, out: TextIO) -> BookWriter:
    if name == "csv":
        return CsvWriter(out)
    if name == "ledger":
        return LedgerJournalWriter(out)
    if name == "beancount":
        return BeancountWriter(out)
    raise ValueError(name)


def open_text(path: Path) -> TextIO:
    # newline="": the CSV writes its own "\r\n" (RFC 4180), the journals plain "\n".
    return path.open("w", encoding="utf-8", newline="")


@contextmanager
def open_writers(paths: Mapping[str, Path]) -> Iterator[list[BookWriter]]:
    """One writer per format name, each over its file; the files are closed on the way out."""
    with ExitStack() as files:
        yield [writer(name, files.enter_context(open_text(path))) for name, path in paths.items()]


@contextmanager
def open_output(path: str | None) -> Iterator[TextIO]:
    """A file, or standard output as UTF-8 whatever the locale (left open afterwards)."""
    if path:
        with open_text(Path(path)) as out:
            yield out
        return
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
    try:
        yield out
    finally:
        out.flush()
        out.detach()
