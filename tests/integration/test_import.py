"""`finance-bot import`: a CSV export of books kept by the application, loaded into another
database, is the same books — the same numbers, ids, reports and balances, `check` green —
and a file that was tampered with, cut short or malformed is refused with its line, leaving
the database exactly as it was (docs/adr/0019)."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finance_bot.adapters.export.csv_reader import read_csv
from finance_bot.adapters.postgres.books_import import books_store
from finance_bot.adapters.postgres.check import check_ledger
from finance_bot.adapters.postgres.roles import APP, OWNER, login_url
from finance_bot.adapters.postgres.unit_of_work import create_pool
from finance_bot.adapters.telegram.i18n import Catalog
from finance_bot.adapters.telegram.report_views import balance_text, period_report_text
from finance_bot.application.books_import import Imported, import_books
from finance_bot.application.reports import balances, period_report
from finance_bot.domain.commands import RecordExpense, RecordIncome, RecordTransfer
from finance_bot.domain.periods import PeriodKind
from finance_bot.ports.books_import import BooksRefused
from tests.support.books_csv import household_csv
from tests.support.databases import DatabaseServer
from tests.support.export_tools import (
    beancount_balances,
    beancount_month,
    bot_balances,
    bot_month,
    check_files,
    export_files,
    hledger_balances,
    hledger_month,
)
from tests.support.foreign import NOVEMBER, TODAY, add_account, foreign_month, money
from tests.support.household import LedgerWorld, ledger_world, uah

pytestmark = pytest.mark.postgres

NOTE = 'кофе "Ла Марзокко", два\r\nстроки; a "quoted", comma\nand ёжик'


@dataclass(frozen=True)
class Books:
    text: str
    household_id: int
    alice: int
    bob: int


async def _name(world: LedgerWorld, telegram_id: int, name: str) -> None:
    async with world.uow_factory() as uow:
        await uow.directory.set_profile(telegram_id, name, "ru")
        await uow.commit()


async def keep_books(world: LedgerWorld, url: str) -> Books:
    """A household's month through the application: expenses, income, transfers, a void,
    conversions in EUR and USD, exchanges into USD and JPY, awkward names and notes."""
    home = await world.household()
    await _name(world, home.alice, 'Алиса "Al", Jr.')
    await _name(world, home.bob, "Bob\nO'Brien")
    month = await foreign_month(home)
    card = home.accounts["card"].id
    wallet = await add_account(home, 'кошелёк, «старый» "1"', "UAH")
    yen = await add_account(home, "円 wallet", "JPY", owner=home.alice)
    day = date(2026, 11, 12)
    await world.record(
        RecordExpense(uah("99.90"), home.accounts["coffee"].id, None, day, NOTE, ("work", "☕")),
        home.alice,
    )
    await world.record(RecordIncome(uah(1000), None, None, day, 'bonus, "Q4"'), home.alice)
    await world.record(RecordTransfer(uah(300), card, wallet, day, "to the, wallet"), home.alice)
    await world.record(
        RecordTransfer(money("100", "USD"), month.dollars, card, day, received=uah(4150)),
        home.alice,
    )
    await world.record(
        RecordTransfer(uah(1000), card, yen, date(2026, 11, 13), received=money("3600", "JPY")),
        home.alice,
    )
    spent = await world.record(RecordExpense(uah(42), None, None, day, "oops"), home.bob)
    await world.void(spent.number, home.bob)
    return Books(await household_csv(url, home.id), home.id, home.alice, home.bob)


@pytest.fixture
async def books(shared_database_url: str) -> Books:
    async with ledger_world(shared_database_url) as world:
        return await keep_books(world, shared_database_url)


def as_app(url: str) -> str:
    return login_url(url, APP)


async def load(url: str, text: str, *, new_household: bool = False) -> Imported:
    """The import as the CLI runs it, as the owner role (docs/adr/0021)."""
    read = read_csv(text)
    return await import_books(
        read.postings,
        read.lines,
        store_factory=lambda: books_store(login_url(url, OWNER)),
        language="ru",
        new_household=new_household,
    )


async def snapshot(url: str) -> dict[str, list[str]]:
    """Every row of every table: what "nothing written" is measured against."""
    connection = await asyncpg.connect(url)
    try:
        tables = await connection.fetch(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
        )
        found = {}
        for (table,) in tables:
            rows = await connection.fetch(f'SELECT t::text FROM "{table}" t ORDER BY 1')
            found[table] = [row[0] for row in rows]
        found["last_transaction_number"] = [
            str(await connection.fetchval("SELECT sum(last_transaction_number) FROM households"))
        ]
        return found
    finally:
        await connection.close()


async def check(url: str) -> list[object]:
    connection = await asyncpg.connect(url)
    try:
        return list(await check_ledger(connection))
    finally:
        await connection.close()


async def reports(url: str, people: tuple[int, ...]) -> list[str]:
    """/month (both months, everyone's and each person's) and /balance, as the bot says them."""
    t = Catalog.load().translator("ru")
    said = []
    async with ledger_world(url) as world:
        for person in people:
            for month in (NOVEMBER, date(2026, 10, 1)):
                for only_me in (False, True):
                    report = await period_report(
                        person,
                        PeriodKind.MONTH,
                        month,
                        only_me=only_me,
                        today=TODAY,
                        currency="UAH",
                        uow_factory=world.uow_factory,
                    )
                    said.append(period_report_text(report, {}, t))
            view = await balances(person, currency="UAH", uow_factory=world.uow_factory)
            said.append(balance_text(view, t))
    return said


async def copy_rates(source: str, household_id: int, target: str) -> None:
    connection = await asyncpg.connect(source)
    try:
        rates = await connection.fetch(
            "SELECT currency, valid_from, rate, source, author_telegram_id FROM exchange_rates"
            " WHERE household_id = $1 ORDER BY id",
            household_id,
        )
    finally:
        await connection.close()
    assert rates
    connection = await asyncpg.connect(target)
    try:
        await connection.executemany(
            "INSERT INTO exchange_rates"
            " (household_id, currency, valid_from, rate, source, author_telegram_id)"
            " SELECT household_id, $1, $2, $3, $4, $5 FROM members WHERE telegram_id = $5",
            [tuple(rate) for rate in rates],
        )
    finally:
        await connection.close()


async def household_of(url: str, telegram_id: int) -> int:
    connection = await asyncpg.connect(url)
    try:
        household_id: int = await connection.fetchval(
            "SELECT household_id FROM members WHERE telegram_id = $1", telegram_id
        )
        return household_id
    finally:
        await connection.close()


async def test_imported_books_are_the_same_books(
    books: Books, shared_database_url: str, fresh_database_url: str
) -> None:
    imported = await load(fresh_database_url, books.text)

    assert imported.new_household
    assert imported.skipped == 0
    assert imported.added == len({row[0] for row in _rows(books.text)[1:]}) > 10
    # Ids, numbers, dates, authors and their names, accounts, amounts, notes, tags,
    # conversions and void links: the imported household exports to the very same bytes.
    assert imported.household_id is not None
    assert await household_csv(fresh_database_url, imported.household_id) == books.text
    people = (books.alice, books.bob)
    # The rates (/rate, and those exchanges set) are no part of the books' CSV: the
    # household's people give them again, as they would on a new service.
    await copy_rates(shared_database_url, books.household_id, fresh_database_url)
    assert await reports(fresh_database_url, people) == await reports(shared_database_url, people)
    assert await check(fresh_database_url) == []

    # The household goes on where it stopped: the next line gets the next number.
    async with ledger_world(as_app(fresh_database_url)) as world:
        accounts = await world.accounts(books.alice)
        recorded = await world.record(
            RecordExpense(uah(5), accounts["cafe"].id, None, TODAY), books.alice
        )
    async with ledger_world(shared_database_url) as world, world.uow_factory() as uow:
        last = await uow.ledger.last_number_by_author(books.bob)
    assert last is not None
    assert recorded.number > last


async def test_importing_the_same_file_again_adds_nothing(
    books: Books, fresh_database_url: str
) -> None:
    first = await load(fresh_database_url, books.text)
    before = await snapshot(fresh_database_url)

    again = await load(fresh_database_url, books.text)

    assert (again.added, again.skipped, again.household_id) == (0, first.added, first.household_id)
    assert await snapshot(fresh_database_url) == before


async def test_a_later_export_adds_only_what_is_new(
    shared_database_url: str, fresh_database_url: str
) -> None:
    async with ledger_world(shared_database_url) as world:
        home = await world.household()
        cafe = home.accounts["cafe"].id
        await world.record(RecordExpense(uah(10), cafe, None, TODAY), home.alice)
        kept = await world.record(RecordExpense(uah(20), cafe, None, TODAY), home.alice)
        earlier = await household_csv(shared_database_url, home.id)
        await world.void(kept.number, home.alice)  # voided after the first export
        await world.record(RecordExpense(uah(30), cafe, None, TODAY), home.bob)
        later = await household_csv(shared_database_url, home.id)
    first = await load(fresh_database_url, earlier)

    second = await load(fresh_database_url, later)

    assert (second.added, second.skipped) == (2, 2)
    assert second.household_id is not None
    assert second.household_id == first.household_id
    assert await household_csv(fresh_database_url, second.household_id) == later
    assert await check(fresh_database_url) == []


async def test_a_file_that_differs_from_what_it_loaded_before_is_refused(
    books: Books, fresh_database_url: str
) -> None:
    await load(fresh_database_url, books.text)
    before = await snapshot(fresh_database_url)
    rows = _rows(books.text)
    line = _line_of_row(books.text, 1)
    for row in rows[1:]:
        if row[0] == rows[1][0]:
            row[14] = "changed note"  # balanced, well-formed: only the loaded copy can tell

    with pytest.raises(BooksRefused) as refused:
        await load(fresh_database_url, _text(rows))

    assert refused.value.line == line
    assert "already here and differs" in refused.value.reason
    assert "note" in refused.value.reason
    assert await snapshot(fresh_database_url) == before


# (what was done to the file, the line it concerns, words of the reason)
def _unbalanced(text: str) -> tuple[str, int, str]:
    rows = _rows(text)
    del rows[2]  # the second leg of the first transaction
    return _text(rows), 2, "at least two rows"


def _unknown_account_type(text: str) -> tuple[str, int, str]:
    rows = _rows(text)
    rows[4][7] = "savings"
    return _text(rows), _line_of_row(text, 4), "account type 'savings' is unknown"


def _bad_currency(text: str) -> tuple[str, int, str]:
    rows = _rows(text)
    rows[3][11] = "XYZ"
    return _text(rows), _line_of_row(text, 3), "not a known ISO 4217 currency"


def _truncated(text: str) -> tuple[str, int, str]:
    cut = text[: len(text) - 7]
    return cut, cut.count("\n") + 1, "cut short"


def _tampered_amount(text: str) -> tuple[str, int, str]:
    rows = _rows(text)
    for column in (10, 12):  # 250.00 -> 350.00 on one leg, in its base amount too
        rows[1][column] = rows[1][column].replace("2", "3", 1)
    return _text(rows), 2, "unbalanced in UAH by"


def _nul_in_a_name(text: str) -> tuple[str, int, str]:
    """PostgreSQL's text holds no NUL: the database's own error once broke the import."""
    rows = _rows(text)
    for row in rows[1:]:
        if row[4] == rows[1][4]:
            row[5] += "\x00"
    return _text(rows), 2, "author_name holds a NUL character"


def _repeated_rows(text: str) -> tuple[str, int, str]:
    """A plain entry's two rows pasted twice: it balances, and once loaded it counted twice."""
    rows = _rows(text)
    at = next(
        i
        for i in range(1, len(rows) - 1)
        if rows[i][0] == rows[i + 1][0]
        and rows[i][0] not in (rows[i - 1][0], rows[i + 2][0] if i + 2 < len(rows) else "")
        and not any(rows[i][16:])  # no void link, no conversion
    )
    rows[at + 2 : at + 2] = [list(rows[at]), list(rows[at + 1])]
    tampered = _text(rows)
    return tampered, _line_of_row(tampered, at + 2), f"row on line {_line_of_row(text, at)}"


TAMPERINGS = [
    _unbalanced,
    _unknown_account_type,
    _bad_currency,
    _truncated,
    _tampered_amount,
    _nul_in_a_name,
    _repeated_rows,
]


@pytest.mark.parametrize("tamper", TAMPERINGS, ids=lambda f: f.__name__.strip("_"))
@pytest.mark.parametrize("into", ["empty", "holding the books"])
async def test_a_tampered_file_is_refused_with_its_line_and_nothing_written(
    tamper: object, into: str, books: Books, fresh_database_url: str
) -> None:
    assert callable(tamper)
    if into != "empty":
        await load(fresh_database_url, books.text)
    text, line, reason = tamper(books.text)
    before = await snapshot(fresh_database_url)

    with pytest.raises(BooksRefused) as refused:
        await load(fresh_database_url, text)

    assert refused.value.line == line, refused.value
    assert reason in refused.value.reason
    assert await snapshot(fresh_database_url) == before


async def test_what_only_the_database_can_judge_is_refused_at_commit_with_its_line(
    books: Books, fresh_database_url: str
) -> None:
    """A reversal that does not mirror its original reads well row by row; the ledger's
    check at COMMIT refuses it, and the whole load goes with it."""
    rows = _rows(books.text)
    first = len(rows) - 2  # the last transaction: Bob's reversal, two legs
    assert [row[3] for row in rows[first:]] == ["reversal", "reversal"]
    for row in rows[first:]:
        for column in (10, 12):  # 42.00 -> 52.00 on both legs: balanced
            row[column] = row[column].replace("42", "52")
    text = _text(rows)
    before = await snapshot(fresh_database_url)

    with pytest.raises(BooksRefused) as refused:
        await load(fresh_database_url, text)

    assert refused.value.line == _line_of_row(books.text, first)
    assert "does not mirror" in refused.value.reason
    assert await snapshot(fresh_database_url) == before


async def test_an_account_the_ledger_refuses_refuses_the_file(
    books: Books, fresh_database_url: str
) -> None:
    """A conversion account whose code names another currency than its own reads well row
    by row; the ledger refuses the account, and the whole load goes with it (a damaged
    file the property test below once drew)."""
    rows = _rows(books.text)
    damaged = next(row for row in rows if row[8] == "conversion:USD")
    damaged[8] = "conversion:XSD"
    before = await snapshot(fresh_database_url)

    with pytest.raises(BooksRefused) as refused:
        await load(fresh_database_url, _text(rows))

    assert "conversion account" in refused.value.reason
    assert await snapshot(fresh_database_url) == before


async def test_a_database_with_another_household_needs_to_be_asked(
    books: Books, fresh_database_url: str
) -> None:
    async with ledger_world(fresh_database_url) as world:
        await world.new_household()
    before = await snapshot(fresh_database_url)

    with pytest.raises(BooksRefused, match="--new-household"):
        await load(fresh_database_url, books.text)
    assert await snapshot(fresh_database_url) == before

    imported = await load(fresh_database_url, books.text, new_household=True)
    assert imported.new_household
    assert imported.added > 0
    assert await household_of(fresh_database_url, books.alice) == imported.household_id
    assert await check(fresh_database_url) == []


async def test_the_command_line_imports_and_refuses(
    books: Books, fresh_database_url: str, tmp_path: Path
) -> None:
    good = tmp_path / "books.csv"
    good.write_bytes(books.text.encode())
    bad = tmp_path / "tampered.csv"
    text, line, _ = _tampered_amount(books.text)
    bad.write_bytes(text.encode())
    environment = {
        "DATABASE_URL": as_app(fresh_database_url),
        "DATABASE_OWNER_URL": login_url(fresh_database_url, OWNER),  # the import runs as it
    }

    code, out, err = await _cli("import", str(bad), environment=environment)
    assert code == 1
    assert f"line {line}:" in err
    assert "nothing written" in err

    code, out, err = await _cli("import", str(good), environment=environment)
    assert code == 0, err
    assert "already there" in out
    assert "ledger ok" in out

    code, out, err = await _cli("import", str(good), environment=environment)
    assert code == 0
    assert "imported 0 transaction(s)" in out


# Names no chat makes (its names are single-spaced, at most 40 characters, and start with
# no digit, "@", "#", "/", "+" or "-"), but a file may hold: each tool's syntax, Unicode
# spaces hledger reads as spaces, a keyword, a formula, a very long name.
HOSTILE_NAMES = [
    "* starred",
    "; not a comment",
    '"quoted" \\ slash',
    "tab\there",
    "line\nbreak",
    "two  spaces",
    "no\u00a0break\u00a0 space",
    "em\u2003\u2003space",
    "open",
    "=HYPERLINK(1)",
    "1 #hash @at",
    "ａｂｃ wide " + "ф" * 300,
]


async def test_names_no_chat_makes_load_and_export_as_the_tools_read_them(
    books: Books, fresh_database_url: str, tmp_path: Path
) -> None:
    """Every account of the books renamed awkwardly in the file: it loads, and the journals
    the loaded books export pass hledger's and bean-check's checks with the bot's figures."""
    rows = _rows(books.text)
    keys = sorted({(row[6], row[7], row[9]) for row in rows[1:] if not row[8].startswith("conv")})
    assert len(keys) >= len(HOSTILE_NAMES)  # every name is given to an account
    renamed = dict(zip(keys, HOSTILE_NAMES, strict=False))
    for row in rows[1:]:
        row[6] = renamed.get((row[6], row[7], row[9]), row[6])
    text = _text(rows)

    imported = await load(fresh_database_url, text)

    assert imported.household_id is not None
    assert await household_csv(fresh_database_url, imported.household_id) == text
    assert await check(fresh_database_url) == []
    pool = await create_pool(fresh_database_url, min_size=1, max_size=1)
    try:
        files = await export_files(pool, imported.household_id, tmp_path)
    finally:
        await pool.close()
    check_files(files)
    people = [books.alice, books.bob]
    async with ledger_world(as_app(fresh_database_url)) as world:
        factory = world.uow_factory
        for month in (date(2026, 10, 1), NOVEMBER):
            assert hledger_month(files.journal, month, "UAH") == await bot_month(
                books.alice, month, "UAH", factory, beancount=False
            )
            assert beancount_month(files.beancount, month, "UAH") == await bot_month(
                books.alice, month, "UAH", factory, beancount=True
            )
        assert hledger_balances(files.journal, "^Assets:", "^Liabilities:") == await bot_balances(
            people, "UAH", factory, beancount=False
        )
        assert beancount_balances(files.beancount) == await bot_balances(
            people, "UAH", factory, beancount=True
        )


async def _cli(*arguments: str, environment: dict[str, str]) -> tuple[int, str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "DATA_DIR"))}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "finance_bot",
        *arguments,
        env={**clean, **environment},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


# --- random damage ------------------------------------------------------------------------


def _rows(text: str) -> list[list[str]]:
    return [list(row) for row in csv.reader(io.StringIO(text, newline=""))]


def _text(rows: list[list[str]]) -> str:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def _line_of_row(text: str, index: int) -> int:
    """The 1-based line the row `index` (0 = the header) starts on."""
    reader = csv.reader(io.StringIO(text, newline=""))
    line = 1
    for _ in range(index):
        next(reader)
        line = reader.line_num + 1
    return line


CODES = ["UAH", "USD", "EUR", "JPY", "KWD", "XXX", "usd", ""]


@st.composite
def mutations(draw: st.DrawFn, text: str) -> str:
    rows = _rows(text)
    kind = draw(st.sampled_from(["drop", "digit", "currency", "character"]))
    if kind == "drop":
        lines = text.split("\r\n")
        del lines[draw(st.integers(0, len(lines) - 1))]
        return "\r\n".join(lines)
    row = rows[draw(st.integers(1, len(rows) - 1))]
    if kind == "digit":
        column = draw(st.sampled_from([1, 10, 12, 18, 19, 20]))
        positions = [i for i, c in enumerate(row[column]) if c.isdigit()]
        if positions:
            at = draw(st.sampled_from(positions))
            digit = draw(st.sampled_from("0123456789"))
            row[column] = row[column][:at] + digit + row[column][at + 1 :]
        return _text(rows)
    if kind == "currency":
        row[draw(st.sampled_from([11, 13]))] = draw(st.sampled_from(CODES))
        return _text(rows)
    at = draw(st.integers(0, len(text) - 1))
    return text[:at] + draw(st.sampled_from(['"', ",", "\r", "\n", "x", "-", "."])) + text[at + 1 :]


def _without_base_amounts(text: str) -> list[list[str]]:
    rows = _rows(text)
    for row in rows[1:]:
        row[12] = ""
    return rows


@pytest.fixture
async def fixed_books(shared_database_url: str) -> Books:
    return await _books_once(shared_database_url)


_BOOKS: dict[str, Books] = {}


async def _books_once(url: str) -> Books:
    if url not in _BOOKS:
        async with ledger_world(url) as world:
            _BOOKS[url] = await keep_books(world, url)
    return _BOOKS[url]


@dataclass
class Copy:
    """A copy of the migrated template for one example; `untouched` once the example has
    shown that it wrote nothing."""

    url: str
    untouched: bool = False


class Copies:
    """Copies of the template for the examples of one test. A copy that an example left as
    it found it (every row the same, its sequences put back) serves the next example too:
    it is then the template's copy in every row and sequence, and making and dropping a
    database per example was most of this test's time."""

    def __init__(self, server: DatabaseServer, template: str) -> None:
        self._server, self._template = server, template
        self._kept: str | None = None

    @asynccontextmanager
    async def copy(self) -> AsyncIterator[Copy]:
        name, self._kept = self._kept, None
        if name is None:
            name = f"finance_bot_import_{uuid.uuid4().hex[:12]}"
            await self._server.create_database(name, template=self._template)
        copy = Copy(self._server.url_for(name))
        sequences = await _sequences(copy.url)
        try:
            yield copy
        except BaseException:
            copy.untouched = False
            raise
        finally:
            if copy.untouched:
                await _put_back(copy.url, sequences)
                self._kept = name
            else:
                await self._server.drop_database(name)

    async def close(self) -> None:
        if self._kept is not None:
            await self._server.drop_database(self._kept)


async def _sequences(url: str) -> list[tuple[str, int, bool]]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT format('%I.%I', schemaname, sequencename) AS name,"
            " COALESCE(last_value, start_value) AS value, last_value IS NOT NULL AS called"
            " FROM pg_sequences"
        )
        return [(row["name"], row["value"], row["called"]) for row in rows]
    finally:
        await connection.close()


async def _put_back(url: str, sequences: list[tuple[str, int, bool]]) -> None:
    """A refused import may have drawn ids before it was rolled back."""
    connection = await asyncpg.connect(url)
    try:
        for name, value, called in sequences:
            await connection.execute("SELECT setval($1::regclass, $2, $3)", name, value, called)
    finally:
        await connection.close()


@pytest.fixture
async def copies(database_server: DatabaseServer, template_database: str) -> AsyncIterator[Copies]:
    kept = Copies(database_server, template_database)
    yield kept
    await kept.close()


@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_damaged_files_are_refused_or_loaded_whole(
    data: st.DataObject, fixed_books: Books, copies: Copies
) -> None:
    """Whatever is done to a file, the import refuses it and writes nothing, or (the change
    harmless) loads all of it consistently; it never fails any other way."""
    text = data.draw(mutations(fixed_books.text))
    async with copies.copy() as copy:
        url = copy.url
        before = await snapshot(url)
        try:
            imported = await load(url, text)
        except BooksRefused as refused:
            line = refused.line
        else:
            line = 0
        if line != 0:
            assert line is None or line >= 1
            assert await snapshot(url) == before
            copy.untouched = True
            return
        assert imported.household_id is not None
        assert await check(url) == []
        exported = await household_csv(url, imported.household_id)
        assert _without_base_amounts(exported) == _without_base_amounts(text)
