from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.household import LedgerWorld, ledger_world


@pytest.fixture
async def world(shared_database_url: str) -> AsyncIterator[LedgerWorld]:
    async with ledger_world(shared_database_url) as opened:
        yield opened
