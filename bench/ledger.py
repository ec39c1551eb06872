"""Ledger benchmark: write throughput against the bare-metal limit, and report latency.

Run as ``python bench/ledger.py [--database-url URL] [--transactions 100000]``.

Without --database-url and without DATABASE_URL it starts the embedded PostgreSQL in a
temporary directory; a URL given must be a superuser's. Either way it works only in a
throwaway database of its own (``bench_<random>``), created and migrated here and dropped
at the end, so it never touches real data.

1. Expenses recorded per second through ``application.recording.record`` (an idempotency
   key per write, like the bot), with 1 and with N concurrent writers, and the latency of
   one write.
2. The physical limit on the same server and driver: one INSERT + COMMIT per iteration into
   a scratch table, with 1 and N connections; the ratio application / bare.
2b. N writers on N households, one each, against the bare loop on N connections (target
   ratio >= 0.5: households must not queue on each other), with each side's client CPU and
   WAL per write, and where the writers' connections spend their time (pg_stat_activity);
   beside them the floor under record(): the ledger's storing statement alone in the bare
   loop's place, and as its own transaction with the database's checks and without
   (ADR-0029).
3. The household loaded in bulk to --transactions, then the month report
   (``application.reports.period_report``) and /balance (``application.reports.balances``),
   and the disk the books take per transaction.
4. With --export (or --export-only, which skips 1-3 but the load): the household with
   dollars exported in each format, its speed and peak memory, and hledger's own time to
   report on the journal beside the bot's month report (bench/export_figures.py).

Every figure is taken twice, side by side: for a household in one currency, and for one
where --foreign-share of the expenses (default 20 %) are in dollars — converted from the
hryvnia card at the household's rate, or paid from a dollar account through the
conversion accounts (docs/adr/0014) — with the ratio of the two (target: within 10 %).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import secrets
import shlex
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import cast

import asyncpg

from common import (
    Run,
    Server,
    admin,
    heading,
    latency_line,
    line,
    print_header,
    print_total,
    verdict,
)
from finance_bot.adapters.postgres.embedded import EmbeddedPostgres
from finance_bot.adapters.postgres.ledger import PostgresLedger
from finance_bot.adapters.postgres.migrator import migrate
from finance_bot.adapters.postgres.roles import is_superuser
from finance_bot.adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory, create_pool
from finance_bot.adapters.system import UuidV7Source
from finance_bot.application.budgets import set_budget
from finance_bot.application.household import enroll, found_household
from finance_bot.application.recording import record
from finance_bot.application.reports import balances, period_report
from finance_bot.bootstrap import run_async
from finance_bot.domain.accounts import AccountType
from finance_bot.domain.commands import RecordExpense
from finance_bot.domain.money import Money
from finance_bot.domain.periods import PeriodKind
from finance_bot.domain.transactions import expense
from finance_bot.ports.unit_of_work import UnitOfWorkFactory

CURRENCY = "UAH"
FOREIGN = "USD"
RATE = Decimal("41.50")  # hryvnias per dollar, set for the whole history
LANGUAGE = "ru"
MEMBERS = (700_000_001, 700_000_002)  # the household in one currency
MIXED_MEMBERS = (700_000_011, 700_000_012)  # the household that also spends dollars
APART_MEMBERS_FROM = 700_100_001  # the households of one writer each, two members apiece
RATIO_TARGET = 0.5
SAME_WITHIN = 0.10  # the mixed household's figures against the single-currency one's
EXPENSE_SHARE = 0.9  # of the loaded entries (the rest incomes and transfers)
MONTH_REPORT_P99_TARGET_MS = 20.0
HISTORY_DAYS = 730  # the loaded transactions cover about two years, ending today


# --------------------------------------------------------------------------- the household


@dataclass(frozen=True, slots=True)
class Household:
    id: int
    members: tuple[int, int]
    expense_categories: list[int]
    income_categories: list[int]
    cards: list[int]  # by member, in `members` order
    cash: list[int]
    dollars: list[int]  # each member's dollar account; empty in a one-currency household
    foreign_share: float  # of the expenses written or loaded, in dollars

    def foreign(self, sequence: int) -> bool:
        """Whether write number `sequence` is in dollars: evenly spread, at the share."""
        share = self.foreign_share
        return share > 0 and int(sequence * share) != int((sequence - 1) * share)


async def create_household(
    uow_factory: UnitOfWorkFactory, members: tuple[int, int], *, foreign_share: float = 0.0
) -> Household:
    """Two members and the default categories, as the bot's first two joins make them; for
    a household that spends dollars, a dollar account each and the rate."""
    async with uow_factory() as uow:
        household_id = await found_household(uow, language=LANGUAGE, currency=CURRENCY)
        for telegram_id in members:
            await enroll(uow, telegram_id, household_id, language=LANGUAGE, currency=CURRENCY)
            if foreign_share:
                await uow.directory.add_account(
                    household_id=household_id,
                    type=AccountType.ASSET,
                    name="доллары",
                    currency=FOREIGN,
                    owner_telegram_id=telegram_id,
                    code="dollars",
                )
        if foreign_share:
            await uow.directory.conversion_accounts(household_id, [CURRENCY, FOREIGN])
            await uow.rates.add(household_id, FOREIGN, RATE, date(2000, 1, 1), source="manual")
        await uow.commit()
    async with uow_factory() as uow:
        accounts = await uow.directory.accounts(household_id)

    def owned(code: str) -> list[int]:
        by_owner = {a.owner_telegram_id: a.id for a in accounts if a.code == code}
        return [by_owner[telegram_id] for telegram_id in members if telegram_id in by_owner]

    return Household(
        id=household_id,
        members=members,
        expense_categories=[a.id for a in accounts if a.type is AccountType.EXPENSE],
        income_categories=[a.id for a in accounts if a.type is AccountType.INCOME],
        cards=owned("card"),
        cash=owned("cash"),
        dollars=owned("dollars"),
        foreign_share=foreign_share,
    )


# --------------------------------------------------------------------------- writes


async def timed_concurrently(
    total: int, workers: int, operation: Callable[[int, int], Awaitable[None]]
) -> Run:
    """Run `operation(worker, sequence)` `total` times, shared among `workers` tasks."""
    latencies: list[float] = []
    sequence = itertools.count()

    async def worker(index: int) -> None:
        for _ in range(total // workers + (index < total % workers)):
            started = time.perf_counter()
            await operation(index, next(sequence))
            latencies.append(time.perf_counter() - started)

    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(index) for index in range(workers)))
    return Run(total, time.perf_counter() - started, latencies, time.process_time() - cpu_started)


async def application_writes(
    uow_factory: UnitOfWorkFactory,
    households: Sequence[Household],
    *,
    total: int,
    writers: int,
    tag: str,
    booked_on: date,
) -> Run:
    """Expenses through `record`, each with its own idempotency key, as the bot sends them.
    The key names the household: with the same keys, the second household's writes would
    be answered as replays of the first's, and write nothing. Given several households,
    writer w writes to household w mod their number, so that writers in different
    households share no counter and no account."""
    ids = UuidV7Source()

    async def write(worker: int, sequence: int) -> None:
        household = households[worker % len(households)]
        categories = household.expense_categories
        author = worker // len(households) % len(household.members)
        foreign = household.foreign(sequence)
        # Dollars: every other one from the author's dollar account (whom the rule picks when
        # no account is named), the rest from the named card, converted at the rate.
        from_card = foreign and sequence % 2 == 1
        command = RecordExpense(
            amount=Money(100 + sequence * 7919 % 500_000, FOREIGN if foreign else CURRENCY),
            category_id=categories[sequence % len(categories)],
            account_id=household.cards[author] if from_card else None,
            booked_on=booked_on,
            note="bench",
        )
        await record(
            command,
            author_telegram_id=household.members[author],
            idempotency_key=f"bench:{household.id}:{tag}:{sequence}",
            uow_factory=uow_factory,
            ids=ids,
        )

    return await timed_concurrently(total, writers, write)


async def bare_writes(url: str, *, total: int, connections: int) -> Run:
    """The floor: BEGIN; one INSERT; COMMIT per iteration, one connection per task."""
    opened = [await asyncpg.connect(url) for _ in range(connections)]
    try:

        async def write(worker: int, sequence: int) -> None:
            connection = opened[worker]
            async with connection.transaction():
                await connection.execute("INSERT INTO bench_bare (payload) VALUES ($1)", sequence)

        return await timed_concurrently(total, connections, write)
    finally:
        for connection in opened:
            await connection.close()


async def storing_statements(
    opened: Sequence[asyncpg.Connection],
    households: Sequence[Household],
    *,
    total: int,
    tag: str,
    own_transaction: bool = False,
) -> Run:
    """The ledger's storing statement in the bare loop's place: BEGIN with the household
    bound, the statement that numbers and stores an expense and claims its key, COMMIT —
    on `opened`, one connection per household, and no application around it.

    `own_transaction` sends the statement alone, its own transaction (one round trip):
    with no BEGIN to bind the household, it counts on the bench's superuser, whom
    row-level security does not bind. Given connections opened with the database's checks
    off (`checking_connections`), it shows what the checks cost."""
    ids = UuidV7Source()
    today = date.today()

    async def write(worker: int, sequence: int) -> None:
        household, connection = households[worker], opened[worker]
        entry = expense(
            id=ids.new_id(),
            household_id=household.id,
            author_telegram_id=household.members[0],
            booked_on=today,
            amount=Money(100 + sequence * 7919 % 500_000, CURRENCY),
            account_id=household.cards[0],
            category_id=household.expense_categories[sequence % 4],
            note="bench",
        )
        key = f"bench:{household.id}:{tag}:{sequence}"
        if own_transaction:
            await PostgresLedger(connection).add(entry, idempotency_key=key)
            return
        # Three round trips, as the bare loop's: the binding goes with the BEGIN, as
        # the bot's units of work send it.
        await connection.execute(
            f"BEGIN; SELECT set_config('finance_bot.household', '{int(household.id)}', true)"
        )
        try:
            await PostgresLedger(connection).add(entry, idempotency_key=key)
        except BaseException:
            await connection.execute("ROLLBACK")
            raise
        await connection.execute("COMMIT")

    return await timed_concurrently(total, len(households), write)


@contextlib.asynccontextmanager
async def checking_connections(
    url: str, count: int, *, checked: bool = True
) -> AsyncIterator[list[asyncpg.Connection]]:
    """`count` connections, kept open across the rounds as the pool's are; `checked` False
    opens them with the ledger's triggers and foreign keys off (`session_replication_role =
    replica`, a superuser's setting)."""
    settings = {} if checked else {"session_replication_role": "replica"}
    opened = [await asyncpg.connect(url, server_settings=settings) for _ in range(count)]
    try:
        yield opened
    finally:
        for connection in opened:
            await connection.close()


async def superuser(url: str) -> bool:
    connection = await asyncpg.connect(url)
    try:
        return await is_superuser(connection)
    finally:
        await connection.close()


# --------------------------------------------------------------------------- bulk load

# One row per transaction to load, numbered `lo`..`hi`, fully decided here so that the
# transactions and both legs of their postings are copied from it by two plain INSERTs.
# About 90 % expenses (from the author's card, one in four from cash), 7 % incomes to the
# author's card and 3 % transfers from the author's card to the other member's card.
# The ids keep UUIDv7's property that index order is creation order: a timestamp prefix
# that grows with the number, then random bits.
_CREATE_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS bench_stage (
    number bigint, id uuid, author bigint, kind transaction_kind, booked_on date,
    amount bigint, debit_id bigint, credit_id bigint, foreign_minor bigint
) ON COMMIT DELETE ROWS;
"""

_FILL_STAGE = """
INSERT INTO bench_stage
SELECT s.g,
       encode(overlay(uuid_send(gen_random_uuid())
                      placing substring(int8send($3::bigint + s.g) from 3) from 1 for 6),
              'hex')::uuid,
       ($4::bigint[])[1 + s.who],
       s.kind::transaction_kind,
       $5::date + ((s.g - $6::bigint) * $7::bigint / $8::bigint)::int,
       CASE WHEN s.foreign THEN round(s.cents * $14::numeric)::bigint
            ELSE 100 + (s.g * 104729) % (CASE s.kind WHEN 'expense' THEN 300000 ELSE 3000000 END)
       END,
       CASE s.kind
           WHEN 'expense' THEN ($9::bigint[])[1 + (s.g * 31) % cardinality($9::bigint[])]
           WHEN 'income' THEN ($11::bigint[])[1 + s.who]
           ELSE ($11::bigint[])[2 - s.who]
       END,
       CASE s.kind
           WHEN 'expense' THEN CASE WHEN s.g % 4 = 0 THEN ($12::bigint[])[1 + s.who]
                                    ELSE ($11::bigint[])[1 + s.who] END
           WHEN 'income' THEN ($10::bigint[])[1 + (s.g / 7) % cardinality($10::bigint[])]
           ELSE ($11::bigint[])[1 + s.who]
       END,
       CASE WHEN s.foreign THEN s.cents END
  FROM (SELECT g, who, kind, 100 + (g * 104729) % 10000 AS cents,
               -- dollars: the foreign share of all entries, all of them expenses
               kind = 'expense' AND (g * 6007) % 1000 < $13::int AS foreign
          FROM (SELECT g, (g % 2)::int AS who,
                       CASE WHEN (g * 7919) % 100 < 3 THEN 'transfer'
                            WHEN (g * 7919) % 100 < 10 THEN 'income'
                            ELSE 'expense' END AS kind
                  FROM generate_series($1::bigint, $2::bigint) AS g) AS kinds) AS s
"""

# A dollar price paid by the hryvnia card: the postings in hryvnias, and the conversion
# that says what was spent (docs/adr/0014).
_INSERT_CONVERSIONS = """
INSERT INTO conversions
    (transaction_id, from_currency, from_amount_minor, to_currency, to_amount_minor, rate)
SELECT id, $1, foreign_minor, $2, amount, $3 FROM bench_stage
 WHERE foreign_minor IS NOT NULL ORDER BY number
"""

_INSERT_TRANSACTIONS = """
INSERT INTO transactions (id, household_id, number, author_telegram_id, kind, booked_on, note)
SELECT id, $1, number, author, kind, booked_on, 'bench' FROM bench_stage ORDER BY number
"""

_INSERT_POSTINGS = """
INSERT INTO postings (transaction_id, account_id, direction, amount_minor, currency)
SELECT id, leg.account_id, leg.direction, amount, $1
  FROM bench_stage,
       LATERAL (VALUES (debit_id, 'debit'::posting_direction),
                       (credit_id, 'credit'::posting_direction)) AS leg (account_id, direction)
 ORDER BY number, leg.account_id
"""


@dataclass(frozen=True, slots=True)
class LoadResult:
    loaded: int
    seconds: float
    insert_seconds: float
    commit_seconds: float  # the deferred constraint triggers run here
    slowest_chunk_seconds: float
    vacuum_seconds: float


async def bulk_load(
    url: str, household: Household, *, target: int, chunk: int, today: date
) -> LoadResult:
    """Bring the household up to `target` transactions, in chunks of one transaction each."""
    connection = await asyncpg.connect(url)
    try:
        first = 1 + int(
            await connection.fetchval(
                "SELECT last_transaction_number FROM households WHERE id = $1", household.id
            )
        )
        loaded = max(0, target - first + 1)
        start_day = today - timedelta(days=HISTORY_DAYS)
        base_ms = int(time.time() * 1000) - 10 * loaded  # below the ids written just now
        authors = list(household.members)
        insert_seconds = commit_seconds = slowest = 0.0
        started = time.perf_counter()
        await connection.execute(_CREATE_STAGE)
        for lo in range(first, target + 1, chunk):
            hi = min(lo + chunk - 1, target)
            chunk_started = time.perf_counter()
            transaction = connection.transaction()
            await transaction.start()
            try:
                await connection.execute(
                    _FILL_STAGE,
                    lo,
                    hi,
                    base_ms,
                    authors,
                    start_day,
                    first,
                    HISTORY_DAYS,
                    loaded,
                    household.expense_categories,
                    household.income_categories,
                    household.cards,
                    household.cash,
                    round(household.foreign_share * 1000 / EXPENSE_SHARE),
                    RATE,
                )
                await connection.execute(_INSERT_TRANSACTIONS, household.id)
                await connection.execute(_INSERT_POSTINGS, CURRENCY)
                await connection.execute(_INSERT_CONVERSIONS, FOREIGN, CURRENCY, RATE)
                await connection.execute(
                    "UPDATE households SET last_transaction_number = $2 WHERE id = $1",
                    household.id,
                    hi,
                )
            except BaseException:
                await transaction.rollback()
                raise
            committing = time.perf_counter()
            await transaction.commit()
            done = time.perf_counter()
            insert_seconds += committing - chunk_started
            commit_seconds += done - committing
            slowest = max(slowest, done - chunk_started)
        seconds = time.perf_counter() - started
        # What autovacuum would do soon after such a load; the reports are measured after it.
        # Not `accounts`: its ~22 rows never reach autovacuum's threshold of 50 changes, so
        # in production it stays without planner statistics, and so it does here.
        vacuum_started = time.perf_counter()
        await connection.execute(
            "VACUUM (ANALYZE) transactions, postings, conversions, account_balances, households"
        )
        vacuum_seconds = time.perf_counter() - vacuum_started
        return LoadResult(loaded, seconds, insert_seconds, commit_seconds, slowest, vacuum_seconds)
    finally:
        await connection.close()


# --------------------------------------------------------------------------- reads


async def timed_alternately(
    runs: int, operations: list[Callable[[], Awaitable[object]]]
) -> list[Run]:
    """Each operation `runs` times, taking turns, so that a machine busy with other work
    slows them alike; one Run per operation."""
    for _ in range(max(3, runs // 20)):  # warm the pool, the plans and the caches
        for operation in operations:
            await operation()
    latencies: list[list[float]] = [[] for _ in operations]
    seconds = [0.0 for _ in operations]
    for turn in range(runs):
        order = list(enumerate(operations))
        for index, operation in order if turn % 2 == 0 else order[::-1]:
            began = time.perf_counter()
            await operation()
            took = time.perf_counter() - began
            latencies[index].append(took)
            seconds[index] += took
    return [Run(runs, seconds[i], latencies[i]) for i in range(len(operations))]


def month_in_the_middle(today: date) -> date:
    middle = today - timedelta(days=HISTORY_DAYS // 2)
    return middle.replace(day=15)


# --------------------------------------------------------------------------- the benchmark


@dataclass(frozen=True, slots=True)
class Options:
    transactions: int
    writes: int
    writers: int
    report_runs: int
    chunk: int
    rounds: int
    foreign_share: float
    export: bool = False
    export_only: bool = False


async def benchmark(server: Server, options: Options) -> None:
    if not await superuser(server.url):
        # Its own database, the bulk load across row-level security, the checks switched off
        # for one figure: the bench takes what the migrations take, a superuser.
        raise SystemExit("bench/ledger.py needs a superuser's URL (--database-url or DATABASE_URL)")
    database = f"bench_{secrets.token_hex(6)}"
    await admin(server.url, f'CREATE DATABASE "{database}"')
    try:
        await run_in(server.url_for(database), database, options)
    finally:
        await admin(server.url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        print(f"\ndropped database {database}", flush=True)


async def run_in(url: str, database: str, options: Options) -> None:
    connection = await asyncpg.connect(url)
    try:
        await migrate(connection)
        await connection.execute(
            "CREATE TABLE bench_bare (id bigserial PRIMARY KEY, payload bigint NOT NULL)"
        )
    finally:
        await connection.close()
    print(f"database:    {database} (created and migrated for this run)", flush=True)

    today = date.today()
    pool_size = max(8, options.writers)
    pool = await create_pool(url, min_size=pool_size, max_size=pool_size)
    try:
        # The port's attributes are mutable, hence invariant: mypy does not take the
        # Postgres unit of work for a `UnitOfWork` although it is one at run time.
        uow_factory = cast(UnitOfWorkFactory, PostgresUnitOfWorkFactory(pool))
        mixed = await create_household(
            uow_factory, MIXED_MEMBERS, foreign_share=options.foreign_share
        )
        if options.export_only:
            await export_only(url, uow_factory, mixed, options, today)
            return
        single = await create_household(uow_factory, MEMBERS)
        await write_figures(url, uow_factory, (single, mixed), options, today)
        await households_apart_figures(url, uow_factory, options, today)
        await read_figures(url, uow_factory, (single, mixed), options, today)
    finally:
        await pool.close()


def compared(name: str, single: float, mixed: float, *, higher_is_better: bool) -> None:
    """The mixed household's figure against the single-currency one's."""
    change = (mixed - single) / single if single else 0.0
    worse = -change if higher_is_better else change
    line(
        f"  {name}: with dollars / one currency",
        f"{mixed / single if single else 0.0:8.2f}",
        f"within {SAME_WITHIN:.0%}: {verdict(worse <= SAME_WITHIN)}",
    )


async def write_figures(
    url: str,
    uow_factory: UnitOfWorkFactory,
    households: tuple[Household, Household],
    options: Options,
    today: date,
) -> None:
    writes, writers, rounds = options.writes, options.writers, options.rounds
    single, mixed = households
    heading(
        f"1-2. Writes: {writes} per figure, in {rounds} alternating rounds of application"
        f" record() (one currency; {mixed.foreign_share:.0%} in dollars) and bare INSERT+COMMIT"
    )
    # warm-up: connections, prepared statements, the first pages of every index
    for household in households:
        await application_writes(
            uow_factory, [household], total=50, writers=writers, tag="warm", booked_on=today
        )
    await bare_writes(url, total=50, connections=writers)

    for concurrency in (1, writers):
        # Alternating rounds, so that a machine busy with other work slows all alike.
        apps = {single.id: Run(0, 0.0, []), mixed.id: Run(0, 0.0, [])}
        bare = Run(0, 0.0, [])
        for index in range(rounds):
            share = writes // rounds + (index < writes % rounds)
            bare += await bare_writes(url, total=share, connections=concurrency)
            # Each household goes first in every other round, so neither gains by its place.
            for household in households if index % 2 == 0 else households[::-1]:
                apps[household.id] += await application_writes(
                    uow_factory,
                    [household],
                    total=share,
                    writers=concurrency,
                    tag=f"w{concurrency}r{index}",
                    booked_on=today,
                )
        who = "writer" if concurrency == 1 else "writers"
        line(f"bare INSERT+COMMIT, {concurrency} connection(s)", f"{bare.per_second:8.0f} /s")
        latency_line(f"  latency of one bare write, {concurrency} conn.", bare)
        for household in households:
            app = apps[household.id]
            label = "one currency" if household is single else "with dollars"
            ratio = app.per_second / bare.per_second
            line(f"record(), {concurrency} {who}, {label}", f"{app.per_second:8.0f} /s")
            latency_line("  latency of one record()", app)
            line(
                "  ratio application / bare",
                f"{ratio:8.2f}",
                f"target >= {RATIO_TARGET:g}: {verdict(ratio >= RATIO_TARGET)}",
            )
        compared(
            f"writes/s, {concurrency} {who}",
            apps[single.id].per_second,
            apps[mixed.id].per_second,
            higher_is_better=True,
        )


async def households_apart_figures(
    url: str, uow_factory: UnitOfWorkFactory, options: Options, today: date
) -> None:
    """N writers, each on a household of its own, against the bare loop on N connections.
    One household's writes queue on its counter row (the figure above); writers in
    different households share no row, so nothing but the machine should hold them back."""
    writes, writers, rounds = options.writes, options.writers, options.rounds
    heading(
        f"2b. Writes on {writers} households apart: {writes} per figure, {rounds} alternating"
        f" rounds of record() by {writers} writers, one household each, the storing statement"
        " alone, and bare INSERT+COMMIT"
    )
    apart = [
        await create_household(
            uow_factory, (APART_MEMBERS_FROM + 2 * index, APART_MEMBERS_FROM + 2 * index + 1)
        )
        for index in range(writers)
    ]
    # Beside the bare loop and record(), the floor under record(): the ledger's own storing
    # statement in the bare loop's place, and as its own transaction, with the database's
    # checks and without. What lies between the floor and
    # the bare loop is the write the ledger makes; between record() and the floor, the
    # application around it (docs/adr/0029).
    async with (
        checking_connections(url, writers) as checking,
        checking_connections(url, writers, checked=False) as unchecked,
    ):
        figures: dict[str, Callable[[str, int], Awaitable[Run]]] = {
            "bare INSERT+COMMIT": lambda tag, count: bare_writes(
                url, total=count, connections=writers
            ),
            "the storing statement alone": lambda tag, count: storing_statements(
                checking, apart, total=count, tag=tag
            ),
            "  the same, its own transaction (one round trip)": lambda tag, count: (
                storing_statements(checking, apart, total=count, tag=tag, own_transaction=True)
            ),
            "  the same, the database's checks off": lambda tag, count: storing_statements(
                unchecked, apart, total=count, tag=tag, own_transaction=True
            ),
            "record()": lambda tag, count: application_writes(
                uow_factory, apart, total=count, writers=writers, tag=tag, booked_on=today
            ),
        }
        for name, figure in figures.items():  # warm each connection's statements
            await figure(f"warm:{len(name)}", 5 * writers)
        runs = {name: Run(0, 0.0, []) for name in figures}
        wal = dict.fromkeys(figures, 0)
        for index in range(rounds):
            share = writes // rounds + (index < writes % rounds)
            for name, figure in figures.items():
                async with wal_written(url) as written:
                    runs[name] += await figure(f"apart{index}:{len(name)}", share)
                wal[name] += written[0]
    bare, app = runs["bare INSERT+COMMIT"], runs["record()"]
    for name, run in runs.items():
        what = {
            "bare INSERT+COMMIT": f", {writers} connections",
            "record()": f", {writers} writers, 1 household each",
        }.get(name, "" if name.startswith(" ") else f", {writers} connections, 1 household each")
        line(f"{name}{what}", f"{run.per_second:8.0f} /s")
        latency_line("  latency of one write", run)
        line(
            "  per write: client CPU, WAL",
            f"{run.cpu_ms_each:6.2f} ms",
            f"{wal[name] / run.count:,.0f} bytes of WAL (server-wide: any other work on the"
            " server counts too)",
        )
        if run is not bare:
            line("  ratio to bare", f"{run.per_second / bare.per_second:8.2f}")
    ratio = app.per_second / bare.per_second
    line(
        "  ratio application / bare",
        f"{ratio:8.2f}",
        f"target >= {RATIO_TARGET:g}: {verdict(ratio >= RATIO_TARGET)}",
    )
    line(
        "  the client's ceiling: 1 / its CPU per write",
        f"{1000 / max(app.cpu_ms_each, 1e-9):8.0f} /s",
        "one Python process runs on one core, whatever the number of writers",
    )
    # Where the writers are, from one more (untimed) round watched by pg_stat_activity:
    # a lock on a row or table shared between households would show as Lock waits here.
    async with watched_waits(url) as waits:
        await application_writes(
            uow_factory,
            apart,
            total=writes // rounds,
            writers=writers,
            tag="watched",
            booked_on=today,
        )
    line("  where the writers' connections were (sampled)", f"{waits.samples:8d}", waits.summary())


@contextlib.asynccontextmanager
async def wal_written(url: str) -> AsyncIterator[list[int]]:
    """Bytes of WAL the server wrote during the block, in the one-element list it yields."""
    connection = await asyncpg.connect(url)
    written = [0]
    try:
        before = await connection.fetchval("SELECT pg_current_wal_lsn()")
        yield written
        written[0] = int(
            await connection.fetchval("SELECT pg_current_wal_lsn() - $1::pg_lsn", before)
        )
    finally:
        await connection.close()


@dataclass(slots=True)
class Waits:
    """Samples of the bench database's connections: idle, running, or waiting and on what."""

    samples: int = 0
    seen: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        ranked = sorted(self.seen.items(), key=lambda item: -item[1])
        return ", ".join(f"{name} {count / self.samples:.0%}" for name, count in ranked[:6])


# Each connection of the bench database but the sampler's: idle ones wait for the client
# (Python, or the network); an active one with no wait event is on the CPU; one waiting on
# a heavyweight lock names what it waits for (pg_locks), where a shared row or table would
# show.
_WAITS = """
SELECT CASE WHEN a.state <> 'active' THEN a.state
            WHEN a.wait_event IS NULL THEN 'active, running'
            WHEN a.wait_event_type = 'Lock' THEN
                'Lock:' || a.wait_event || COALESCE(' on ' || l.relation::regclass::text, '')
            ELSE a.wait_event_type || ':' || a.wait_event END AS doing
  FROM pg_stat_activity a
  LEFT JOIN pg_locks l ON l.pid = a.pid AND NOT l.granted
 WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
   AND a.backend_type = 'client backend'
"""


@contextlib.asynccontextmanager
async def watched_waits(url: str, every: float = 0.01) -> AsyncIterator[Waits]:
    waits = Waits()
    connection = await asyncpg.connect(url)

    async def sample() -> None:
        while True:
            for row in await connection.fetch(_WAITS):
                waits.samples += 1
                waits.seen[row["doing"]] = waits.seen.get(row["doing"], 0) + 1
            await asyncio.sleep(every)

    sampler = asyncio.create_task(sample())
    try:
        yield waits
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        await connection.close()


async def read_figures(
    url: str,
    uow_factory: UnitOfWorkFactory,
    households: tuple[Household, Household],
    options: Options,
    today: date,
) -> None:
    heading(f"3. Reads at {options.transactions} transactions in each household")
    for household in households:
        load = await bulk_load(
            url, household, target=options.transactions, chunk=options.chunk, today=today
        )
        label = "one currency" if household.foreign_share == 0 else "with dollars"
        line(
            f"bulk load, {label} (SQL, one db transaction per chunk)",
            f"{load.loaded:8d} tx",
            f"{load.seconds:.1f} s, {load.loaded / max(load.seconds, 1e-9):.0f} tx/s, "
            f"chunks of {options.chunk}; the rest were recorded above",
        )
        line("  of which COMMIT (deferred balance checks)", f"{load.commit_seconds:8.1f} s")
        line("  slowest chunk", f"{load.slowest_chunk_seconds:8.2f} s")
        await check_loaded(url, household, options.transactions)
    line("  planner statistics on accounts", await accounts_statistics(url))
    await storage_lines(url)

    day = month_in_the_middle(today)
    runs = options.report_runs
    figures: dict[str, dict[int, Run]] = {"month": {}, "balance": {}, "budgeted": {}}

    def month_report(household: Household) -> Callable[[], Awaitable[object]]:
        async def report() -> object:
            return await period_report(
                household.members[0],
                PeriodKind.MONTH,
                day,
                only_me=False,
                today=today,
                currency=CURRENCY,
                uow_factory=uow_factory,
            )

        return report

    def balance(household: Household) -> Callable[[], Awaitable[object]]:
        async def report() -> object:
            return await balances(household.members[0], currency=CURRENCY, uow_factory=uow_factory)

        return report

    for name, make in (("month", month_report), ("balance", balance)):
        timed = await timed_alternately(runs, [make(h) for h in households])
        figures[name] = {h.id: run for h, run in zip(households, timed, strict=True)}
    # With budgets the month report adds the month's spending by category.
    for household in households:
        for category_id in (None, *household.expense_categories[:3]):
            await set_budget(
                household.members[0], category_id, Money(10**12, CURRENCY), uow_factory=uow_factory
            )
    timed = await timed_alternately(runs, [month_report(h) for h in households])
    figures["budgeted"] = {h.id: run for h, run in zip(households, timed, strict=True)}

    for household in households:
        label = "one currency" if household.foreign_share == 0 else "with dollars"
        per_month = await transactions_in_month(url, household, day)
        latency_line(
            f"month report {day:%Y-%m} ({per_month} tx), {label}",
            figures["month"][household.id],
            MONTH_REPORT_P99_TARGET_MS,
        )
        latency_line(f"/balance, {label}", figures["balance"][household.id])
        latency_line(
            f"month report, 4 budgets, {label}",
            figures["budgeted"][household.id],
            MONTH_REPORT_P99_TARGET_MS,
        )
    single, mixed = households
    for name, runs_by_household in figures.items():
        compared(
            f"{name} median",
            runs_by_household[single.id].percentile_ms(50),
            runs_by_household[mixed.id].percentile_ms(50),
            higher_is_better=False,
        )
        compared(
            f"{name} p99",
            runs_by_household[single.id].percentile_ms(99),
            runs_by_household[mixed.id].percentile_ms(99),
            higher_is_better=False,
        )
    for household in households:
        late_writes = await application_writes(
            uow_factory,
            [household],
            total=min(options.writes, 100),
            writers=1,
            tag="late",
            booked_on=day,
        )
        label = "one currency" if household.foreign_share == 0 else "with dollars"
        line(
            f"info: record() at this size, 4 budgets, 1 writer, {label}",
            f"{late_writes.per_second:8.0f} /s",
            f"booked in {day:%Y-%m}",
        )
    if options.export:
        await export_section(url, uow_factory, households[1], today)


def month_report_of(
    household: Household, day: date, today: date, uow_factory: UnitOfWorkFactory
) -> Callable[[], Awaitable[object]]:
    async def report() -> object:
        return await period_report(
            household.members[0],
            PeriodKind.MONTH,
            day,
            only_me=False,
            today=today,
            currency=CURRENCY,
            uow_factory=uow_factory,
        )

    return report


async def export_only(
    url: str, uow_factory: UnitOfWorkFactory, household: Household, options: Options, today: date
) -> None:
    heading(f"3. The household with dollars loaded to {options.transactions} transactions")
    load = await bulk_load(
        url, household, target=options.transactions, chunk=options.chunk, today=today
    )
    line("bulk load", f"{load.loaded:8d} tx", f"{load.seconds:.1f} s")
    await check_loaded(url, household, options.transactions)
    await export_section(url, uow_factory, household, today)


async def export_section(
    url: str, uow_factory: UnitOfWorkFactory, household: Household, today: date
) -> None:
    from export_figures import export_figures

    day = month_in_the_middle(today)
    report = month_report_of(household, day, today, uow_factory)
    await export_figures(url, household.id, f"{day:%Y-%m}", report)


async def storage_lines(url: str) -> None:
    """What the books take on disk (tables, their indexes and TOAST) per transaction: with
    a household's yearly volume, the disk a PostgreSQL node needs per household."""
    connection = await asyncpg.connect(url)
    try:
        transactions = int(await connection.fetchval("SELECT count(*) FROM transactions"))
        sizes = await connection.fetch(
            "SELECT c.relname AS name, pg_total_relation_size(c.oid) AS bytes"
            "  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'bench_bare'"
            " ORDER BY bytes DESC"
        )
    finally:
        await connection.close()
    total = sum(int(row["bytes"]) for row in sizes)
    biggest = ", ".join(
        f"{row['name']} {int(row['bytes']) / max(transactions, 1):.0f}" for row in sizes[:4]
    )
    line(
        "  disk per transaction (all tables, indexes)",
        f"{total / max(transactions, 1):8.0f} B",
        f"{total / 2**20:.0f} MiB for {transactions} tx; of which {biggest}",
    )


async def accounts_statistics(url: str) -> str:
    """Whether `accounts` was ever analyzed: autovacuum waits for 50 changed rows."""
    connection = await asyncpg.connect(url)
    try:
        analyzed = await connection.fetchval(
            "SELECT COALESCE(last_analyze, last_autoanalyze) IS NOT NULL"
            " FROM pg_stat_user_tables WHERE relname = 'accounts'"
        )
    finally:
        await connection.close()
    return "present" if analyzed else "none"


async def transactions_in_month(url: str, household: Household, day: date) -> int:
    connection = await asyncpg.connect(url)
    try:
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
        count: int = await connection.fetchval(
            "SELECT count(*) FROM transactions"
            " WHERE household_id = $1 AND booked_on >= $2 AND booked_on < $3",
            household.id,
            start,
            end,
        )
        return count
    finally:
        await connection.close()


async def check_loaded(url: str, household: Household, target: int) -> None:
    """The load is only worth measuring if the ledger it made is a sound one."""
    connection = await asyncpg.connect(url)
    try:
        row = await connection.fetchrow(
            """
            SELECT (SELECT count(*) FROM transactions WHERE household_id = $1) AS transactions,
                   (SELECT max(number) FROM transactions WHERE household_id = $1) AS top,
                   (SELECT last_transaction_number FROM households WHERE id = $1) AS last,
                   (SELECT count(*) FROM postings) AS postings,
                   (SELECT count(*) FROM account_balances b
                     WHERE b.balance_minor <> (
                         SELECT COALESCE(sum(CASE p.direction WHEN 'debit' THEN p.amount_minor
                                                  ELSE -p.amount_minor END), 0)
                           FROM postings p WHERE p.account_id = b.account_id)) AS drifted
            """,
            household.id,
        )
    finally:
        await connection.close()
    assert row is not None
    expected = max(target, int(row["top"]))
    if not (row["transactions"] == row["top"] == row["last"] == expected) or row["drifted"]:
        raise SystemExit(f"the loaded ledger is not sound: {dict(row)}")
    line(
        "  ledger after the load",
        f"{row['transactions']:8d} tx",
        f"{row['postings']} postings, numbers 1..{row['top']}, balances agree",
    )


# --------------------------------------------------------------------------- entry point


def parse_options(argv: list[str] | None = None) -> tuple[argparse.Namespace, Options]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="any database on the server to use (default: DATABASE_URL, else embedded)",
    )
    parser.add_argument(
        "--transactions", type=int, default=100_000, help="household size for the reads"
    )
    parser.add_argument("--writes", type=int, default=2000, help="writes in each write run")
    parser.add_argument("--writers", type=int, default=8, help="concurrent writers")
    parser.add_argument("--report-runs", type=int, default=200, help="runs of each report")
    parser.add_argument("--chunk", type=int, default=10_000, help="transactions per load chunk")
    parser.add_argument(
        "--rounds", type=int, default=4, help="alternating app/bare rounds per write figure"
    )
    parser.add_argument(
        "--foreign-share",
        type=float,
        default=0.2,
        help="share of the second household's entries in dollars (0 < share < 0.9)",
    )
    parser.add_argument(
        "--export", action="store_true", help="also time the export of the dollar household"
    )
    parser.add_argument(
        "--export-only", action="store_true", help="only load the dollar household and export it"
    )
    args = parser.parse_args(argv)
    for name in ("transactions", "writes", "writers", "report_runs", "chunk", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    if not 0 < args.foreign_share < EXPENSE_SHARE:
        parser.error(f"--foreign-share must be above 0 and below {EXPENSE_SHARE}")
    options = Options(
        transactions=args.transactions,
        writes=args.writes,
        writers=args.writers,
        report_runs=args.report_runs,
        chunk=args.chunk,
        rounds=args.rounds,
        foreign_share=args.foreign_share,
        export=args.export,
        export_only=args.export_only,
    )
    return args, options


def main() -> None:
    args, options = parse_options()
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")  # the embedded server's
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
        kind = f"embedded (temporary, in {temporary})" if server.embedded else "external"
        print_header(server, kind)
        started = time.perf_counter()
        run_async(benchmark(server, options))
        print_total(started)
    finally:
        if embedded is not None:
            embedded.stop()
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)


if __name__ == "__main__":
    main()
