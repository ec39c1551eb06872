"""Where the tests find PostgreSQL: DATABASE_URL when set (CI), else an embedded server."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from finance_bot.adapters.postgres.embedded import EmbeddedPostgres
from finance_bot.adapters.telegram.lean_import import import_aiogram_lean
from tests.support.databases import DatabaseServer, migrate_the_new_way

# Before any test module imports aiogram, as the bot's entry point does: the tests then run
# on the aiogram the bot runs on, and the session is spared building its ~600 models.
import_aiogram_lean()

# Property tests draw as many examples as the profile says: "quick" (25) for the inner loop
# (`pytest tests/unit`, a few seconds), "thorough" (400) for the whole suite (`make test`,
# so CI). Tests that need a fixed number (the slow stateful and end-to-end ones) set their own.
settings.register_profile("quick", max_examples=25, deadline=None)
settings.register_profile("thorough", max_examples=400, deadline=None)
settings.load_profile("quick")


@pytest.fixture(scope="session")
def database_server() -> Iterator[DatabaseServer]:
    url = os.environ.get("DATABASE_URL")
    if url:
        yield DatabaseServer(url)
        return
    # A short private directory: the server's Unix socket lives there, and socket paths
    # are limited to about 100 bytes; pytest's rotating temp dirs are shared between runs.
    data_dir = Path(tempfile.mkdtemp(prefix="fb-pg-"))
    embedded = EmbeddedPostgres(data_dir)
    try:
        yield DatabaseServer(embedded.start(), bin_dir=embedded.bin_dir())
    finally:
        embedded.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
async def template_database(database_server: DatabaseServer) -> AsyncIterator[str]:
    """A migrated database that fresh test databases are copied from: the roles set up,
    the schema owned by finance_bot_owner, as `finance-bot run` leaves it (docs/adr/0009)."""
    name = f"finance_bot_tpl_{uuid.uuid4().hex[:12]}"
    await database_server.create_database(name)
    await migrate_the_new_way(database_server.url_for(name))
    yield name
    await database_server.drop_database(name)


@pytest.fixture(scope="session")
async def shared_database_url(
    database_server: DatabaseServer, template_database: str
) -> AsyncIterator[str]:
    """One migrated database for the session; tests keep apart by using their own household."""
    name = f"finance_bot_shared_{uuid.uuid4().hex[:12]}"
    await database_server.create_database(name, template=template_database)
    yield database_server.url_for(name)
    await database_server.drop_database(name)


@pytest.fixture
async def fresh_database_url(
    database_server: DatabaseServer, template_database: str
) -> AsyncIterator[str]:
    """A migrated database of this test's own, for tests that need an empty ledger."""
    name = f"finance_bot_test_{uuid.uuid4().hex[:12]}"
    await database_server.create_database(name, template=template_database)
    yield database_server.url_for(name)
    await database_server.drop_database(name)


@pytest.fixture
async def empty_database_url(database_server: DatabaseServer) -> AsyncIterator[str]:
    """An empty, unmigrated database."""
    name = f"finance_bot_empty_{uuid.uuid4().hex[:12]}"
    await database_server.create_database(name)
    yield database_server.url_for(name)
    await database_server.drop_database(name)
