from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.support.raw_ledger import HouseholdRows, create_household


@pytest.fixture
async def connection(fresh_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(fresh_database_url)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
async def household(connection: asyncpg.Connection) -> HouseholdRows:
    return await create_household(connection, telegram_id=1001)
