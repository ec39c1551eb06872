"""Households apart by row-level security (SPEC §14, docs/adr/0021), raw SQL as the bot's
own role. The tables come from the catalog: a new table is covered, or the first test
fails until it gets a decision."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from finance_bot.adapters.postgres.roles import APP, login_url
from finance_bot.adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory, create_pool
from finance_bot.application.budgets import set_budget
from finance_bot.application.membership import make_invite
from finance_bot.application.recurring import add_rule, record_due
from finance_bot.application.shares import mark_personal
from finance_bot.domain.schedules import Every, RuleText, Schedule
from tests.support.foreign import money, spend_foreign
from tests.support.household import (
    DAY,
    Household,
    PostgresWorld,
    expense_command,
    ledger_world,
    uah,
)

# Not a household's data: reference data, the update keys of the whole bot (Telegram's
# update ids, global; a key is found only by the update that made it), the backup log,
# the migrations' own table (docs/adr/0021).
NOW = datetime.now(UTC)

SHARED = {"currencies", "idempotency_keys", "backup_runs", "schema_migrations"}


@dataclass
class Two:
    url: str  # the superuser's: sees everything, to judge
    a: Household
    b: Household


@pytest.fixture
async def two(fresh_database_url: str) -> Two:
    """Two households with a row of their own in every household table, made through the
    application where it has a way to (the rest by the superuser)."""
    async with ledger_world(fresh_database_url) as world:
        assert isinstance(world, PostgresWorld)
        recurring = PostgresUnitOfWorkFactory(world.pool)
        a, b = await world.household(), await world.household()
        for home in (a, b):
            cafe = home.accounts["cafe"]
            # A budget the spending crosses: its alerts are remembered.
            await set_budget(home.alice, cafe.id, uah(100), uow_factory=world.uow_factory)
            await home.spend(120, "cafe")
            # A price in dollars: a conversion, and the category's foreign day total.
            await spend_foreign(home, money("20", "USD"), "41.50", "cafe")
            await mark_personal(home.alice, cafe, True, uow_factory=world.uow_factory)
            await make_invite(home.alice, now=NOW, uow_factory=world.uow_factory)
            await add_rule(
                home.alice,
                RuleText(Schedule(Every.MONTH, 1), "500 кафе", DAY),
                expense_command(uah(500), cafe.id, on=DAY),
                today=DAY,
                uow_factory=recurring,
                ids=world.ids,
            )
        # Each household's rule is due once: an occurrence each.
        assert await record_due(DAY + timedelta(days=31), uow_factory=recurring, ids=world.ids)
    admin = await asyncpg.connect(fresh_database_url)
    try:
        for home in (a, b):  # a row in every table the application did not fill
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
                "INSERT INTO digest_settings (telegram_id, household_id, kind, send_at, since)"
                " VALUES ($1, $2, 'daily', '21:00', now())",
                home.alice,
                home.id,
            )
            await admin.execute(
                "INSERT INTO digests_sent (telegram_id, household_id, kind, period_start)"
                " VALUES ($1, $2, 'daily', '2026-01-01')",
                home.alice,
                home.id,
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
        assert theirs, f"{table}: the fixture should fill it for both"
        assert ours, f"{table}: the fixture should fill it for both"
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
                await _insert_bound(app, two.a.id, table, row)
        assert await household_rows(two.url, table, two.b) == before, table


class _Undo(Exception):
    """Leaves the transaction rolled back."""


async def _insert_bound(
    connection: asyncpg.Connection, household_id: int, table: str, row: dict[str, Any]
) -> None:
    async with connection.transaction():
        await bind(connection, household_id)
        await _insert(connection, table, row)


async def _insert(connection: asyncpg.Connection, table: str, row: dict[str, Any]) -> None:
    columns = ", ".join(row)
    values = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    await connection.execute(
        f"INSERT INTO {table} ({columns}) OVERRIDING SYSTEM VALUE VALUES ({values})",
        *row.values(),
    )


async def test_a_pooled_connection_carries_no_binding_into_the_next_unit_of_work(
    two: Two,
) -> None:
    """Every unit of work binds for its own transaction only (docs/adr/0021): on the one
    pooled connection, whatever ran before, nothing is bound outside a unit of work, and
    the next unit of work sees only what it is bound to itself."""
    pool = await create_pool(login_url(two.url, APP), min_size=1, max_size=1)

    async def left_bound() -> str:
        async with pool.acquire() as connection:
            assert not connection.is_in_transaction()
            setting = await connection.fetchval(
                "SELECT coalesce(current_setting('finance_bot.household', true), '')"
            )
            assert await connection.fetchval("SELECT count(*) FROM members") == 0
            return str(setting)

    try:
        factory = PostgresUnitOfWorkFactory(pool)
        async with factory(transactional=False, household=two.a.id) as uow:
            assert await uow.directory.members(two.a.id)
            await uow.directory.set_language(two.a.alice, "en")  # committed at once
            assert await uow.directory.members(two.a.id)  # a transaction bound anew
        assert await left_bound() == ""
        for transactional in (True, False):
            async with factory(transactional=transactional) as uow:
                assert await uow.directory.members(two.a.id) == []
            assert await left_bound() == ""
        async with factory(person=two.b.alice) as uow:
            assert await uow.directory.members(two.a.id) == []
            assert await uow.directory.members(two.b.id)
            await uow.commit()
        assert await left_bound() == ""
    finally:
        await pool.close()
