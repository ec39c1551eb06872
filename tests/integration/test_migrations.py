"""Migrations run from an empty database, and running them again changes nothing."""

from __future__ import annotations

import re

import asyncpg
import pytest

from finance_bot.adapters.postgres.migrator import (
    MigrationError,
    available_migrations,
    migrate,
    pending_versions,
)
from finance_bot.domain.languages import LANGUAGES

pytestmark = pytest.mark.postgres


async def test_migrations_apply_from_empty_and_are_idempotent(empty_database_url: str) -> None:
    connection = await asyncpg.connect(empty_database_url)
    try:
        assert await pending_versions(connection) == [m.version for m in available_migrations()]
        applied = await migrate(connection)
        assert applied == [m.version for m in available_migrations()]
        assert await migrate(connection) == []
        assert await pending_versions(connection) == []
        tables = {
            r["tablename"]
            for r in await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
        }
        assert {"transactions", "postings", "accounts", "idempotency_keys"} <= tables
    finally:
        await connection.close()


async def test_an_edited_migration_is_refused(empty_database_url: str) -> None:
    connection = await asyncpg.connect(empty_database_url)
    try:
        await migrate(connection)
        await connection.execute("UPDATE schema_migrations SET checksum = 'x' WHERE version = 1")
        with pytest.raises(MigrationError, match="edited"):
            await migrate(connection)
    finally:
        await connection.close()


def test_the_members_check_lists_the_languages_the_bot_speaks() -> None:
    [first] = [m for m in available_migrations() if m.version == 1]
    found = re.search(r"members_language_known CHECK \(language IN \(([^)]*)\)\)", first.sql)
    assert found is not None
    assert tuple(re.findall(r"'(\w+)'", found.group(1))) == LANGUAGES
