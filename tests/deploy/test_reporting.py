"""Migration 0003: the reporting views tell what the bot tells, and the reader reads only them.

On real PostgreSQL. Roles are shared by every database of a server, so the tests that make
a login role give it a name of their own and drop it afterwards.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import asyncpg
import pytest
from iso4217 import Currency

from finance_bot.adapters.postgres.reports import PostgresReports
from tests.deploy.seed import Seeded, seed_household
from tests.deploy.tools import DEPLOY
from tests.support.databases import DatabaseServer
from tests.support.household import ledger_world

pytestmark = pytest.mark.postgres
READER = "finance_bot_reader"
INIT_SCRIPT = DEPLOY / "postgres" / "initdb" / "10-grafana-reader.sh"


@pytest.fixture
async def seeded(fresh_database_url: str) -> AsyncIterator[tuple[str, Seeded]]:
    async with ledger_world(fresh_database_url, max_size=2) as world:
        yield fresh_database_url, await seed_household(world, date.today())


async def as_reader(url: str, query: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(url)
    try:
        async with connection.transaction():
            await connection.execute(f"SET LOCAL ROLE {READER}")
            rows: list[asyncpg.Record] = await connection.fetch(query, *args)
            return rows
    finally:
        await connection.close()


async def test_the_reader_may_read_every_reporting_view_and_no_table(
    fresh_database_url: str,
) -> None:
    connection = await asyncpg.connect(fresh_database_url)
    try:
        assert await connection.fetchval(
            "SELECT NOT rolcanlogin FROM pg_roles WHERE rolname = $1", READER
        )
        views = [
            r["name"]
            for r in await connection.fetch(
                "SELECT format('%I.%I', table_schema, table_name) AS name"
                "  FROM information_schema.views WHERE table_schema = 'reporting'"
            )
        ]
        relations = await connection.fetch(
            "SELECT format('%I.%I', n.nspname, c.relname) AS name"
            "  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f')"
            "   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'reporting')"
        )
        tables = [r["name"] for r in relations]
        granted = {
            name: await connection.fetchval(
                "SELECT has_table_privilege($1, $2, 'SELECT')", READER, name
            )
            for name in views + tables
        }
        writable = [
            name
            for name in views + tables
            if await connection.fetchval(
                "SELECT has_table_privilege($1, $2, 'INSERT, UPDATE, DELETE, TRUNCATE')",
                READER,
                name,
            )
        ]
    finally:
        await connection.close()
    assert len(views) >= 6
    assert {"public.postings", "public.transactions", "public.accounts"} <= set(tables)
    assert all(granted[v] for v in views)
    assert not [t for t in tables if granted[t]], "the reader may read a base table"
    assert not writable
    for view in views:
        await as_reader(fresh_database_url, f"SELECT * FROM {view} LIMIT 1")
    for table in ("postings", "transactions", "members", "schema_migrations"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await as_reader(fresh_database_url, f"SELECT * FROM public.{table} LIMIT 1")


async def test_currency_scales_match_the_domain(fresh_database_url: str) -> None:
    rows = await as_reader(fresh_database_url, "SELECT currency, scale FROM reporting.currencies")
    iso = {c.code: c.exponent for c in Currency if c.exponent is not None}
    assert {r["currency"]: r["scale"] for r in rows} == iso


async def test_monthly_totals_equal_the_bots_month_report(seeded: tuple[str, Seeded]) -> None:
    url, s = seeded
    rows = await as_reader(
        url,
        "SELECT month, category_id, category_type, amount_minor, amount"
        "  FROM reporting.monthly_category_totals WHERE household_id = $1",
        s.household_id,
    )
    connection = await asyncpg.connect(url)
    try:
        reports = PostgresReports(connection)
        for month, next_month in ((s.last_month, s.this_month), (s.this_month, None)):
            end = next_month or date(month.year + month.month // 12, month.month % 12 + 1, 1)
            totals = await reports.period_totals(s.household_id, month, end, currency="UAH")
            spending = {
                r["category_id"]: r["amount_minor"]
                for r in rows
                if r["month"] == month and r["category_type"] == "expense"
            }
            income = {
                r["category_id"]: r["amount_minor"]
                for r in rows
                if r["month"] == month and r["category_type"] == "income"
            }
            assert spending == {x.key: x.amount.amount_minor for x in totals.by_category}
            assert income == {x.key: x.amount.amount_minor for x in totals.income_by_category}
    finally:
        await connection.close()
    products_now = [
        r for r in rows if r["month"] == s.this_month and r["category_id"] == s.accounts["products"]
    ]
    assert [(r["amount_minor"], str(r["amount"])) for r in products_now] == [(25050, "250.50")]
    cafe_now = [
        r["amount_minor"]
        for r in rows
        if r["month"] == s.this_month and r["category_id"] == s.accounts["cafe"]
    ]
    assert cafe_now == [12000]  # the voided 999 is left out


async def test_budget_use_per_month(seeded: tuple[str, Seeded]) -> None:
    url, s = seeded
    rows = await as_reader(
        url,
        "SELECT month, category, budget_minor, spent_minor, used_pct"
        "  FROM reporting.monthly_budget_use WHERE household_id = $1",
        s.household_id,
    )
    use = {(r["month"], r["category"]): (r["spent_minor"], float(r["used_pct"])) for r in rows}
    name = "продукты"
    assert use[(s.this_month, name)] == (25050, 125.3)
    assert use[(s.this_month, "total")] == (25050 + 12000, 7.4)
    assert use[(s.last_month, name)] == (8000, 40.0)
    assert use[(s.last_month, "total")] == (8000 + 4000, 2.4)


async def test_balances_over_time_end_at_the_current_balances(seeded: tuple[str, Seeded]) -> None:
    url, s = seeded
    history = await as_reader(
        url,
        "SELECT account_id, day, change_minor, balance_minor FROM reporting.daily_balances"
        " WHERE household_id = $1 ORDER BY account_id, day",
        s.household_id,
    )
    now = await as_reader(
        url,
        "SELECT account_id, balance_minor, balance FROM reporting.current_balances"
        " WHERE household_id = $1",
        s.household_id,
    )
    last = {r["account_id"]: r["balance_minor"] for r in history}
    current = {r["account_id"]: r["balance_minor"] for r in now}
    assert last == {k: v for k, v in current.items() if k in last}
    running: dict[int, int] = {}
    for r in history:
        running[r["account_id"]] = running.get(r["account_id"], 0) + r["change_minor"]
        assert r["balance_minor"] == running[r["account_id"]]
    card = s.accounts["card"]
    # Alice's card: +30000 salary, -80 and -250.50 groceries, -1000 to cash (the voided
    # 999 and its reversal cancel out).
    assert current[card] == 3_000_000 - 8_000 - 25_050 - 100_000
    assert current[s.accounts["cash"]] == 100_000


def psql(server: DatabaseServer) -> str:
    """The embedded server's own psql, else the machine's."""
    if server.bin_dir is not None and (server.bin_dir / "psql").exists():
        return str(server.bin_dir / "psql")
    found = shutil.which("psql")
    if found is None:
        pytest.fail("psql is needed to run the Grafana role script (postgresql-client)")
    return found


def address(url: str) -> dict[str, str]:
    """Host (or socket directory), port, user, password and database of a URL."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return {
        "host": parts.hostname or query.get("host", [""])[0],
        "port": str(parts.port or query.get("port", ["5432"])[0]),
        "user": unquote(parts.username or "postgres"),
        "password": unquote(parts.password or ""),
        "database": parts.path.lstrip("/"),
    }


@pytest.fixture
async def grafana_login(
    fresh_database_url: str, database_server: DatabaseServer
) -> AsyncIterator[tuple[str, str]]:
    """Run deploy/postgres/initdb/10-grafana-reader.sh as the image would; drop its role."""
    user, password = f"grafana_test_{uuid.uuid4().hex[:10]}", f"pw-{uuid.uuid4().hex}"
    server = address(fresh_database_url)
    env = {
        **os.environ,
        "PATH": f"{Path(psql(database_server)).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PGHOST": server["host"],
        "PGPORT": server["port"],
        "PGPASSWORD": server["password"],
        "POSTGRES_USER": server["user"],
        "POSTGRES_DB": server["database"],
        "GRAFANA_DB_USER": user,
        "GRAFANA_DB_PASSWORD": password,
    }
    for _ in range(2):  # the script may run again: that is how a password changes
        result = await asyncio.to_thread(
            subprocess.run,
            [str(INIT_SCRIPT)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    try:
        yield user, password
    finally:
        connection = await asyncpg.connect(database_server.url)
        try:
            await connection.execute(f'DROP ROLE IF EXISTS "{user}"')
        finally:
            await connection.close()


async def test_grafanas_login_role_reads_the_views_only(
    fresh_database_url: str, grafana_login: tuple[str, str]
) -> None:
    user, password = grafana_login
    server = address(fresh_database_url)
    connection = await asyncpg.connect(
        host=server["host"],
        port=int(server["port"]),
        database=server["database"],
        user=user,
        password=password,
    )
    try:
        assert await connection.fetchval("SELECT count(*) FROM reporting.currencies") > 0
        assert await connection.fetchval("SHOW default_transaction_read_only") == "on"
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.fetch("SELECT * FROM public.postings LIMIT 1")
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await connection.execute("CREATE TEMP TABLE t (x int)")
    finally:
        await connection.close()


async def test_the_household_picker_counts_the_members_of_now(fresh_database_url: str) -> None:
    async with ledger_world(fresh_database_url, max_size=2) as world:
        alice, bob = await world.new_household(2)
        household_id = await world.household_of(alice)

        async def members() -> list[int]:
            rows = await as_reader(
                fresh_database_url,
                "SELECT members FROM reporting.households WHERE household_id = $1",
                household_id,
            )
            return [row["members"] for row in rows]

        assert await members() == [2]
        async with world.pool.acquire() as connection:
            await connection.execute(
                "UPDATE members SET left_at = now() WHERE telegram_id = $1", bob
            )
        assert await members() == [1]
