"""A write in a non-transactional unit of work is durable when the repository method that
made it returns, though every unit of work is now one database transaction at a time
(docs/adr/0021, ADR-0008: once a write commits, a later failure never says "not
recorded")."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

import asyncpg
import pytest

from finance_bot.domain.digests import DigestKind
from finance_bot.ports.unit_of_work import UnitOfWork
from tests.support.household import Household, ledger_world

# What asyncpg raises on a connection the server ended, depending on when it notices.
LOST = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError)

Write = Callable[[UnitOfWork, Household], Awaitable[object]]


async def store(uow: UnitOfWork, home: Household) -> object:
    return await uow.ledger.add(home.expense(120, "cafe"))


async def claim_digest(uow: UnitOfWork, home: Household) -> object:
    return await uow.digests.claim(home.alice, DigestKind.DAILY, date(2026, 1, 1))


WRITTEN = {
    store: "SELECT count(*) FROM transactions WHERE household_id = $1",
    claim_digest: "SELECT count(*) FROM digests_sent d JOIN members m USING (telegram_id)"
    " WHERE m.household_id = $1",
}


@pytest.mark.parametrize("write", list(WRITTEN), ids=lambda write: write.__name__)
async def test_a_write_outlives_the_connection_lost_right_after_it(
    fresh_database_url: str, write: Write
) -> None:
    async with ledger_world(fresh_database_url, max_size=1) as world:
        home = await world.household()
        admin = await asyncpg.connect(fresh_database_url)
        try:
            before = await admin.fetchval(WRITTEN[write], home.id)

            async def lost_after_the_write() -> None:
                async with world.uow_factory(transactional=False, person=home.alice) as uow:
                    await write(uow, home)
                    # The unit of work's connection is lost before the unit of work ends.
                    killed = await admin.fetchval(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        " AND backend_type = 'client backend'"
                    )
                    assert killed == 1
                    await uow.directory.members(home.id)

            with pytest.raises(LOST):
                await lost_after_the_write()
            assert await admin.fetchval(WRITTEN[write], home.id) == before + 1
        finally:
            await admin.close()


async def test_a_unit_of_work_ends_its_transaction_and_leaves_no_binding(
    fresh_database_url: str,
) -> None:
    async with ledger_world(fresh_database_url, max_size=1) as world:
        home = await world.household()
        for transactional in (False, True):
            async with world.uow_factory(transactional=transactional, person=home.alice) as uow:
                assert await uow.directory.members(home.id)
            async with world.pool.acquire() as connection:
                assert not connection.is_in_transaction()
                assert not await connection.fetchval(
                    "SELECT current_setting('finance_bot.household', true)"
                )
