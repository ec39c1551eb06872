"""The units of work of one update share one connection (docs/adr/0027): reads continue one
transaction, a write ends it, a unit of work bound otherwise starts afresh, a failure leaves
nothing behind, and nothing of one update's sharing reaches another."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from finance_bot.adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory
from finance_bot.application.household import enroll
from finance_bot.ports.unit_of_work import UnitOfWork
from tests.support.household import PostgresWorld, as_the_bot, ledger_world

# What asyncpg raises on a connection the server ended, depending on when it notices.
LOST = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError)
TRANSACTION = "SELECT pg_backend_pid(), transaction_timestamp(), txid_current_if_assigned()"


async def where(uow: UnitOfWork) -> tuple[int, object]:
    """The backend and the transaction a unit of work's statements run in."""
    connection = uow.ledger._connection  # type: ignore[attr-defined]  # the lent connection
    row = await connection.fetchrow(TRANSACTION)
    return row[0], row[1]


def factory(world: PostgresWorld) -> PostgresUnitOfWorkFactory:
    assert isinstance(world.uow_factory, PostgresUnitOfWorkFactory)
    return world.uow_factory


async def transactions(world: PostgresWorld) -> int:
    async with world.pool.acquire() as connection:
        count: int = await connection.fetchval("SELECT count(*) FROM transactions")
        return count


async def test_reads_of_one_update_continue_one_transaction(fresh_database_url: str) -> None:
    async with ledger_world(fresh_database_url) as world:
        home = await world.household()
        uows = factory(world)
        async with uows.sharing():
            async with uows(transactional=False, person=home.alice) as uow:
                first = await where(uow)
                assert await uow.directory.members(home.id)
            async with uows(transactional=False, person=home.alice) as uow:
                assert await where(uow) == first  # no COMMIT, no BEGIN in between
            async with uows(transactional=True, person=home.alice) as uow:
                assert await where(uow) == first
        # Unshared, each unit of work is its own transaction, as before.
        async with uows(transactional=False, person=home.alice) as uow:
            assert await where(uow) != first


async def test_a_write_ends_the_shared_transaction_and_the_next_unit_sees_it(
    fresh_database_url: str,
) -> None:
    async with ledger_world(fresh_database_url) as world:
        home = await world.household()
        uows = factory(world)
        async with uows.sharing():
            async with uows(transactional=False, person=home.alice) as uow:
                before = await where(uow)
                await uow.ledger.add(home.expense(120, "cafe"))
                # Committed when add() returned: another connection sees it at once.
                assert await transactions(world) == 1
            async with uows(transactional=False, person=home.alice) as uow:
                after = await where(uow)
                assert after[0] == before[0]
                assert after[1] != before[1]
                assert len(await uow.reports.last_transactions(home.id, 5)) == 1
            async with uows(transactional=True, person=home.alice) as uow:
                await uow.ledger.add(home.expense(80, "cafe"))
                await uow.commit()
            assert await transactions(world) == 2


async def test_a_failed_or_uncommitted_unit_is_undone_and_the_next_starts_clean(
    fresh_database_url: str,
) -> None:
    async with ledger_world(fresh_database_url) as world:
        home = await world.household()
        uows = factory(world)

        async def fail_after_a_write() -> None:
            async with uows(transactional=True, person=home.alice) as uow:
                await uow.ledger.add(home.expense(120, "cafe"))
                raise RuntimeError("the handler failed")

        async with uows.sharing():
            with pytest.raises(RuntimeError):
                await fail_after_a_write()
            async with uows(transactional=True, person=home.alice) as uow:
                await uow.ledger.add(home.expense(130, "cafe"))  # never committed
            with pytest.raises(asyncpg.PostgresError):
                async with uows(transactional=False, person=home.alice) as uow:
                    await uow.ledger._connection.execute("SELECT 1/0")  # type: ignore[attr-defined]
            async with uows(transactional=False, person=home.alice) as uow:
                assert await uow.directory.members(home.id)  # not an aborted transaction
        assert await transactions(world) == 0


async def test_a_unit_bound_otherwise_sees_its_own_household_only(
    fresh_database_url: str,
) -> None:
    async with ledger_world(fresh_database_url) as world:
        home, other = await world.household(), await world.household()
        async with as_the_bot(fresh_database_url) as uows, uows.sharing():
            async with uows(transactional=False, person=home.alice) as uow:
                assert await uow.directory.members(home.id)
                assert not await uow.directory.members(other.id)
            async with uows(transactional=False, household=other.id) as uow:
                assert await uow.directory.members(other.id)
                assert not await uow.directory.members(home.id)
            async with uows(transactional=False) as uow:  # bound to none
                assert not await uow.directory.members(other.id)
            async with uows(transactional=False, person=home.alice) as uow:
                assert await uow.directory.members(home.id)


async def test_a_new_member_is_bound_to_their_household_right_after_joining(
    fresh_database_url: str,
) -> None:
    async with ledger_world(fresh_database_url) as world:
        home = await world.household()
        newcomer = 777_000_111
        async with as_the_bot(fresh_database_url) as uows, uows.sharing():
            async with uows(transactional=False, person=newcomer) as uow:
                assert not await uow.directory.members(home.id)  # not a member: sees nothing
            async with uows(transactional=True, household=home.id) as uow:
                await enroll(uow, newcomer, home.id, language="ru", currency="UAH")
                await uow.commit()
            async with uows(transactional=False, person=newcomer) as uow:
                assert len(await uow.directory.members(home.id)) == 3


async def test_nested_and_concurrent_units_take_connections_of_their_own(
    fresh_database_url: str,
) -> None:
    async with ledger_world(fresh_database_url) as world:
        home = await world.household()
        uows = factory(world)

        async def read() -> int:
            async with uows(transactional=False, person=home.alice) as uow:
                await asyncio.sleep(0.01)
                return len(await uow.directory.members(home.id))

        async with uows.sharing():
            async with uows(transactional=False, person=home.alice) as outer:
                outer_backend = (await where(outer))[0]
                async with uows(transactional=False, person=home.alice) as inner:
                    assert (await where(inner))[0] != outer_backend
            assert await asyncio.gather(*(read() for _ in range(5))) == [2] * 5


async def test_park_gives_the_connection_back_between_units(fresh_database_url: str) -> None:
    async with ledger_world(fresh_database_url, max_size=1) as world:
        home = await world.household()
        uows = factory(world)
        async with uows.sharing():
            async with uows(transactional=False, person=home.alice) as uow:
                assert await uow.directory.members(home.id)
            await uows.park()
            # The pool's one connection is free again, out of any transaction.
            async with world.pool.acquire() as connection:
                assert not connection.is_in_transaction()
            async with uows(transactional=False, person=home.alice) as uow:
                assert await uow.directory.members(home.id)
        async with world.pool.acquire() as connection:
            assert not connection.is_in_transaction()


async def test_a_lost_connection_fails_one_unit_and_the_next_takes_a_new_one(
    fresh_database_url: str,
) -> None:
    async with ledger_world(fresh_database_url) as world:
        home = await world.household()
        uows = factory(world)
        admin = await asyncpg.connect(fresh_database_url)
        try:
            async with uows.sharing():
                async with uows(transactional=False, person=home.alice) as uow:
                    backend = (await where(uow))[0]
                await admin.execute("SELECT pg_terminate_backend($1)", backend)
                with pytest.raises(LOST):
                    async with uows(transactional=False, person=home.alice) as uow:
                        await uow.directory.members(home.id)
                async with uows(transactional=False, person=home.alice) as uow:
                    assert (await where(uow))[0] != backend
                    assert await uow.directory.members(home.id)
        finally:
            await admin.close()


async def test_a_unit_that_outlives_its_update_gives_the_connection_back(
    fresh_database_url: str,
) -> None:
    async with ledger_world(fresh_database_url, max_size=1) as world:
        home = await world.household()
        uows = factory(world)
        started, finish = asyncio.Event(), asyncio.Event()

        async def background() -> None:
            async with uows(transactional=False, person=home.alice) as uow:
                assert await uow.directory.members(home.id)
                started.set()
                await finish.wait()

        async with uows.sharing():
            task = asyncio.create_task(background())  # takes the update's connection
            await started.wait()
        finish.set()  # the update has ended; the task now ends its unit of work
        await task
        leaked = world.pool.get_idle_size() == 0
        if leaked:
            world.pool.terminate()  # or closing the world would wait for it for ever
        assert not leaked, "the pool's one connection was never given back"


async def test_a_statement_that_failed_inside_a_unit_is_not_continued(
    fresh_database_url: str,
) -> None:
    """A unit of work that catches a failed statement and ends normally leaves an aborted
    transaction: the next unit must not inherit it."""
    async with ledger_world(fresh_database_url) as world:
        home = await world.household()
        uows = factory(world)
        async with uows.sharing():
            async with uows(transactional=False, person=home.alice) as uow:
                with pytest.raises(asyncpg.DivisionByZeroError):
                    await uow.ledger._connection.execute("SELECT 1/0")  # type: ignore[attr-defined]
            async with uows(transactional=False, person=home.alice) as uow:
                assert await uow.directory.members(home.id)
