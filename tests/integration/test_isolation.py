"""Households apart by row-level security (SPEC §14, docs/adr/0021), raw SQL as the bot's
own role. The tables come from the catalog: a new table is covered, or the first test
fails until it gets a decision."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from finance_bot.adapters.postgres.roles import APP, login_url
from tests.support.household import Household, ledger_world

# Not a household's data: reference data, the update keys of the whole bot (Telegram's
# update ids, global; a key is found only by the update that made it), the backup log,
# the migrations' own table (docs/adr/0021).
SHARED = {"currencies", "idempotency_keys", "backup_runs", "schema_migrations"}

# Still to be filled by the fixture (a converted entry, an alert, a personal category, a
# rule with an occurrence): their policies are checked by the first test only.
UNFILLED = {
    "budget_alerts",
    "conversions",
    "category_day_foreign_totals",
    "personal_categories",
    "recurring_rules",
    "recurring_occurrences",
}


@dataclass
class Two:
    url: str  # the superuser's: sees everything, to judge
    a: Household
    b: Household


@pytest.fixture
async def two(fresh_database_url: str) -> Two:
    async with ledger_world(fresh_database_url) as world:
        a, b = await world.household(), await world.household()
        for home in (a, b):
            await home.spend(120, "cafe")
    admin = await asyncpg.connect(fresh_database_url)
    try:
        for home in (a, b):  # a row in every table the two spends did not fill
            await admin.execute(
                "INSERT INTO budgets (household_id, category_id, amount_minor, currency)"
                " VALUES ($1, NULL, 100000, 'UAH')",
                home.id,
            )
            await admin.execute(
                "INSERT INTO exchange_rates (household_id, currency, rate, valid_from, source)"
                " VALUES ($1, 'USD', 41.5, '2026-01-01', 'manual')",
                home.id,
            )
            await admin.execute(
                "INSERT INTO member_shares (household_id, telegram_id, share_pct)"
                " VALUES ($1, $2, 50), ($1, $3, 50)",
                home.id,
                home.alice,
                home.bob,
            )
            await admin.execute(
                "INSERT INTO digest_settings (telegram_id, kind, send_at, since)"
                " VALUES ($1, 'daily', '21:00', now())",
                home.alice,
            )
            await admin.execute(
                "INSERT INTO digests_sent (telegram_id, kind, period_start) VALUES ($1, 'daily',"
                " '2026-01-01')",
                home.alice,
            )
    finally:
        await admin.close()
    return Two(fresh_database_url, a, b)


@pytest.fixture
async def app(two: Two) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(login_url(two.url, APP))
    try:
        assert await connection.fetchval("SELECT current_user") == APP
        yield connection
    finally:
        await connection.close()


async def household_tables(connection: asyncpg.Connection) -> list[str]:
    rows = await connection.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1"
    )
    return [row[0] for row in rows if row[0] not in SHARED]


async def household_rows(url: str, table: str, household: Household) -> list[dict[str, Any]]:
    """The household's rows of `table`, as the superuser sees them."""
    admin = await asyncpg.connect(url)
    try:
        async with admin.transaction():
            # The policy itself says what is a household's: bound as the superuser, who
            # bypasses it, the rows are filtered by its expression instead.
            expression = await admin.fetchval(
                "SELECT qual FROM pg_policies WHERE tablename = $1 AND policyname ="
                " 'household_only'",
                table,
            )
            await admin.execute(
                "SELECT set_config('finance_bot.household', $1::bigint::text, true)", household.id
            )
            rows = await admin.fetch(f"SELECT * FROM {table} WHERE {expression}")
    finally:
        await admin.close()
    return [dict(row) for row in rows]


async def bind(connection: asyncpg.Connection, household_id: int) -> None:
    await connection.execute(
        "SELECT set_config('finance_bot.household', $1::bigint::text, true)", household_id
    )


async def test_every_household_table_is_enabled_forced_and_has_a_policy(
    app: asyncpg.Connection,
) -> None:
    rows = await app.fetch(
        "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,"
        " EXISTS (SELECT 1 FROM pg_policies p WHERE p.schemaname = 'public'"
        "         AND p.tablename = c.relname AND p.policyname = 'household_only') AS policy"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
    )
    lacking = [row["relname"] for row in rows if row["relname"] not in SHARED and not all(row[1:])]
    assert lacking == []
    assert {row["relname"] for row in rows} >= SHARED  # no stale name in the list


async def test_bound_to_a_the_app_sees_a_and_nothing_of_b(
    app: asyncpg.Connection, two: Two
) -> None:
    for table in await household_tables(app):
        theirs = await household_rows(two.url, table, two.b)
        ours = await household_rows(two.url, table, two.a)
        if table in UNFILLED:
            continue
        assert theirs and ours, f"{table}: the fixture should fill it for both"
        async with app.transaction():
            await bind(app, two.a.id)
            seen = [dict(row) for row in await app.fetch(f"SELECT * FROM {table}")]
        assert not [row for row in seen if row in theirs], table
        assert sorted(map(repr, seen)) == sorted(map(repr, ours)), table


async def test_unbound_the_app_sees_nothing_and_writes_nothing(
    app: asyncpg.Connection, two: Two
) -> None:
    for table in await household_tables(app):
        assert await app.fetchval(f"SELECT count(*) FROM {table}") == 0, table
        if table in UNFILLED:
            continue
        row = (await household_rows(two.url, table, two.a))[0]
        with pytest.raises(asyncpg.PostgresError):
            await _insert(app, table, row)


async def test_bound_to_a_every_write_touching_b_is_refused_or_touches_nothing(
    app: asyncpg.Connection, two: Two
) -> None:
    """UPDATE and DELETE of the whole table reach A's rows at most (refused outright
    where the role holds no grant or a trigger guards the table); an INSERT of a row of B
    is refused."""
    for table in await household_tables(app):
        if table in UNFILLED:
            continue
        before = await household_rows(two.url, table, two.b)
        ours = len(await household_rows(two.url, table, two.a))
        column = next(iter(before[0]))
        for statement in (f"UPDATE {table} SET {column} = {column}", f"DELETE FROM {table}"):
            try:
                async with app.transaction():
                    await bind(app, two.a.id)
                    status = await app.execute(statement)
                    assert int(status.split()[-1]) <= ours, (table, statement)
                    raise _Undo
            except (_Undo, asyncpg.PostgresError):
                pass
        for row in before:
            with pytest.raises(asyncpg.PostgresError):
                async with app.transaction():
                    await bind(app, two.a.id)
                    await _insert(app, table, row)
        assert await household_rows(two.url, table, two.b) == before, table


class _Undo(Exception):
    """Leaves the transaction rolled back."""


async def _insert(connection: asyncpg.Connection, table: str, row: dict[str, Any]) -> None:
    columns = ", ".join(row)
    values = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    await connection.execute(
        f"INSERT INTO {table} ({columns}) OVERRIDING SYSTEM VALUE VALUES ({values})",
        *row.values(),
    )
