from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from finance_bot.adapters.postgres.roles import APP, login_url
from tests.support.household import LedgerWorld, PostgresWorld, ledger_world


@pytest.fixture
async def world(shared_database_url: str) -> AsyncIterator[LedgerWorld]:
    async with ledger_world(shared_database_url) as opened:
        yield opened


@pytest.fixture
async def bot_world(fresh_database_url: str) -> AsyncIterator[PostgresWorld]:
    """A database of the test's own, as the bot's own role, held to the households'
    policies (docs/adr/0021)."""
    async with ledger_world(login_url(fresh_database_url, APP)) as opened:
        assert isinstance(opened, PostgresWorld)
        yield opened


@pytest.fixture
async def admin(fresh_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """The superuser's connection to that database, which sees every household: to judge."""
    connection = await asyncpg.connect(fresh_database_url)
    try:
        yield connection
    finally:
        await connection.close()
