"""Import benchmark: how fast `finance-bot import` reads, checks and loads a CSV export.

Run as ``python bench/books_import.py [--database-url URL] [--transactions 20000]``.

Without --database-url and without DATABASE_URL it starts the embedded PostgreSQL in a
temporary directory. Either way it works only in a throwaway database of its own
(``bench_<random>``), created and migrated here and dropped at the end.

It writes a household's books as the CSV export does — two people, expenses on the card,
one in ten paid in dollars through the conversion accounts, one in fifty voided — then
times the three steps of an import: reading and checking the file, loading it in one
database transaction (to COMMIT, the ledger's checks included), and importing it again
(which adds nothing); and `check` over the result.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import secrets
import shlex
import shutil
import sys
import tempfile
import time
import uuid
import warnings
from datetime import date, timedelta
from pathlib import Path

import asyncpg

from common import Server, admin, heading, line, print_header, print_total
from finance_bot.adapters.export.csv_reader import HEADER, read_csv
from finance_bot.adapters.postgres.books_import import books_store
from finance_bot.adapters.postgres.check import check_ledger
from finance_bot.adapters.postgres.embedded import EmbeddedPostgres
from finance_bot.adapters.postgres.migrator import migrate
from finance_bot.application.books_import import import_books
from finance_bot.bootstrap import run_async

ALICE, BOB = 900_000_001, 900_000_002


def books(transactions: int) -> str:
    """A CSV export of `transactions` entries (voids included), in ledger order."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    card = ("карта", "asset", "card")
    dollars = ("доллары", "asset", "")
    number = 0
    start = date(2024, 1, 1)
    while number < transactions:
        number += 1
        author = ALICE if number % 3 else BOB
        day = (start + timedelta(days=number // 20)).isoformat()
        cents = 100 + number % 9_900
        amount = f"{cents // 100}.{cents % 100:02d}"
        same = [str(uuid.uuid4()), str(number), day, "expense", str(author), "", ""]
        voided = number % 50 == 0 and number < transactions
        reversal_id = str(uuid.uuid4())
        if number % 10 == 0:  # paid in dollars at 41.5: four legs through the conversions
            worth = f"{(cents * 415 + 5) // 1000}.{((cents * 415 + 5) // 10) % 100:02d}"
            conversion = [f"{amount} USD", f"{worth} UAH", "41.5"]
            legs = [
                (("кафе", "expense", "cafe"), "", worth, "UAH"),
                (dollars, "", "-" + amount, "USD"),
                (("⇄ UAH", "equity", "conversion:UAH"), "", "-" + worth, "UAH"),
                (("⇄ USD", "equity", "conversion:USD"), "", amount, "USD"),
            ]
        else:
            conversion = ["", "", ""]
            legs = [
                (("продукты", "expense", "products"), "", amount, "UAH"),
                (card, str(author), "-" + amount, "UAH"),
            ]
        rows = []
        for (name, kind, code), owner, value, currency in legs:
            base = value if currency == "UAH" else ""
            rows.append((name, kind, code, owner, value, currency, base))
        tail = ["", ""]
        if voided:
            tail = ["", reversal_id]
        for name, kind, code, owner, value, currency, base in rows:
            writer.writerow([
                *same[:5], "", name, kind, code, owner, value, currency, base, "UAH",
                "note", "", *tail, *conversion,
            ])  # fmt: skip
        if voided:
            number += 1
            for name, kind, code, owner, value, currency, base in rows:
                flip = value[1:] if value.startswith("-") else "-" + value
                writer.writerow([
                    reversal_id, str(number), day, "reversal", str(author), "", name, kind,
                    code, owner, flip, currency, base and flip, "UAH", "note", "",
                    same[0], "", *conversion,
                ])  # fmt: skip
    return out.getvalue()


async def benchmark(server: Server, transactions: int) -> None:
    database = f"bench_{secrets.token_hex(6)}"
    await admin(server.url, f'CREATE DATABASE "{database}"')
    url = server.url_for(database)
    try:
        connection = await asyncpg.connect(url)
        try:
            await migrate(connection)
        finally:
            await connection.close()
        print(f"database:    {database} (created and migrated for this run)", flush=True)
        text = books(transactions)
        heading(f"import of {transactions} transactions ({len(text) / 1e6:.1f} MB of CSV)")

        started = time.perf_counter()
        read = read_csv(text)
        seconds = time.perf_counter() - started
        line("read and check the file", f"{seconds:7.2f} s", f"{len(read.postings)} postings")

        async def load() -> tuple[int, int]:
            imported = await import_books(
                read.postings,
                read.lines,
                store_factory=lambda: books_store(url),
                language="ru",
            )
            return imported.added, imported.skipped

        started = time.perf_counter()
        added, _ = await load()
        seconds = time.perf_counter() - started
        line("load, one transaction", f"{seconds:7.2f} s", f"{added / seconds:,.0f} entries/s")

        started = time.perf_counter()
        added, skipped = await load()
        seconds = time.perf_counter() - started
        line("import again", f"{seconds:7.2f} s", f"{added} added, {skipped} already there")

        connection = await asyncpg.connect(url)
        try:
            started = time.perf_counter()
            violations = await check_ledger(connection)
            seconds = time.perf_counter() - started
        finally:
            await connection.close()
        line("finance-bot check", f"{seconds:7.2f} s", f"{len(violations)} violation(s)")
    finally:
        await admin(server.url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        print(f"\ndropped database {database}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="any database on the server to use (default: DATABASE_URL, else embedded)",
    )
    parser.add_argument("--transactions", type=int, default=20_000)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    print(f"command:     {shlex.join(sys.orig_argv)}", flush=True)
    temporary: Path | None = None
    embedded: EmbeddedPostgres | None = None
    try:
        if args.database_url:
            server = Server(args.database_url, embedded=False)
        else:
            temporary = Path(tempfile.mkdtemp(prefix="finance-bench-"))
            embedded = EmbeddedPostgres(temporary)
            server = Server(embedded.start(), embedded=True)
        print_header(server, "external" if not server.embedded else f"embedded ({temporary})")
        started = time.perf_counter()
        run_async(benchmark(server, args.transactions))
        print_total(started)
    finally:
        if embedded is not None:
            embedded.stop()
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)


if __name__ == "__main__":
    main()
