"""An installation from before the roles: tables owned by the superuser, who also ran the
bot. The new start keeps every entry, number and report, and hands the schema to the
owner role (docs/adr/0009)."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
import pytest

from finance_bot.adapters.postgres.check import check_ledger
from finance_bot.adapters.postgres.migrator import available_migrations
from finance_bot.adapters.postgres.roles import APP, OWNER
from finance_bot.bootstrap import application
from finance_bot.config import Settings
from tests.integration.test_backup import _columns, _tables
from tests.integration.test_household_currency import _household, _reports
from tests.support.databases import migrate_as_the_first_release_did

pytestmark = pytest.mark.postgres


async def _migrate_as_the_previous_version_did(url: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await migrate_as_the_first_release_did(connection)
    finally:
        await connection.close()


async def _owners(url: str) -> set[str]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            """
            SELECT pg_get_userbyid(c.relowner) FROM pg_class c
              JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname IN ('public', 'reporting') AND c.relkind IN ('r', 'v', 'S')
            UNION SELECT pg_get_userbyid(p.proowner) FROM pg_proc p
              JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
            UNION SELECT pg_get_userbyid(t.typowner) FROM pg_type t
              JOIN pg_namespace n ON n.oid = t.typnamespace
             WHERE n.nspname = 'public' AND t.typtype = 'e'
            UNION SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'reporting'
            """
        )
        return {row[0] for row in rows}
    finally:
        await connection.close()


def _without_versions(tables: dict[str, list[str]]) -> dict[str, Any]:
    # Households gain their currency column on the way (migration 0005); their ids, and
    # every other row, stay exactly as they were.
    return {
        name: rows
        for name, rows in tables.items()
        if name not in ("schema_migrations", "households")
    }


async def _household_reports(
    url: str, households: dict[int, str], *, before: bool = False
) -> dict[int, object]:
    connection = await asyncpg.connect(url)
    try:
        ids = [row[0] for row in await connection.fetch("SELECT id FROM households ORDER BY id")]
        assert ids == sorted(households)
        return {h: await _reports(connection, h, c, before=before) for h, c in households.items()}
    finally:
        await connection.close()


async def _populate_as_the_previous_version_did(url: str) -> dict[int, str]:
    connection = await asyncpg.connect(url)
    try:
        return {
            await _household(connection, [501, 502], "UAH"): "UAH",
            await _household(connection, [601], "USD"): "USD",
        }
    finally:
        await connection.close()


async def test_an_old_installation_upgrades_with_every_entry_kept(
    empty_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    await _migrate_as_the_previous_version_did(empty_database_url)
    households = await _populate_as_the_previous_version_did(empty_database_url)
    superuser = (await _owners(empty_database_url)).pop()
    assert await _owners(empty_database_url) == {superuser} != {OWNER}
    tables_before = await _tables(empty_database_url)
    columns_before = await _columns(empty_database_url)
    reports_before = await _household_reports(empty_database_url, households, before=True)

    settings = Settings(_env_file=None, database_url=empty_database_url)  # type: ignore[call-arg]
    with caplog.at_level(logging.INFO):
        async with application(settings) as app:
            assert await app.pool.fetchval("SELECT current_user") == APP
            async with app.pool.acquire() as connection:
                assert await check_ledger(connection) == []
    assert f"database role {APP}; migrations as {OWNER}" in caplog.text

    assert await _owners(empty_database_url) == {OWNER}
    tables_after = await _tables(empty_database_url)
    # Later migrations add tables (the currency table filled, the rest empty); every table
    # the old installation had keeps every row.
    added = set(tables_after) - set(tables_before)
    assert {table for table in added if tables_after[table]} <= {"currencies"}
    # Later migrations may add columns (members.left_at, 0013): the old ones keep every value.
    kept = await _tables(empty_database_url, columns=columns_before)
    assert _without_versions(kept) == _without_versions(tables_before)
    # Rows come sorted as text ("(10" before "(2"): compared as numbers.
    versions = sorted(
        int(row.split(",")[0].lstrip("(")) for row in tables_after["schema_migrations"]
    )
    assert versions == [m.version for m in available_migrations()]
    assert await _household_reports(empty_database_url, households) == reports_before

    # And again: a second start changes nothing more.
    async with application(settings):
        pass
    assert await _tables(empty_database_url) == tables_after
