"""Concurrent writers cannot both take the same number."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from asyncpg.exceptions import (
    UniqueViolationError,
)

from tests.support.raw_ledger import (
    HouseholdRows,
    add_transaction,
    balances,
    credit,
    debit,
    ledger_state,
    next_number,
)

pytestmark = pytest.mark.postgres


# ---------------------------------------------------------------------------
# 10. Concurrent writers cannot both take the same number
# ---------------------------------------------------------------------------


async def wait_until_blocked_on_a_lock(
    observer: asyncpg.Connection, pid: int, within_seconds: float = 10.0
) -> None:
    # Polled from a connection outside any transaction: pg_stat_activity is snapshotted
    # once per transaction. Waiting on the server's own view, not a sleep, keeps it exact.
    async with asyncio.timeout(within_seconds):
        while True:
            if await observer.fetchval(
                "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid
            ):
                return
            await asyncio.sleep(0.02)


async def test_concurrent_transactions_with_the_same_number_one_is_refused(
    connection: asyncpg.Connection, household: HouseholdRows, fresh_database_url: str
) -> None:
    h = household
    first = await asyncpg.connect(fresh_database_url)
    second = await asyncpg.connect(fresh_database_url)
    try:
        first_unit = first.transaction()
        second_unit = second.transaction()
        await first_unit.start()
        await second_unit.start()

        # Neither sees the other's uncommitted row, so both pick the same number.
        number = await next_number(first, h)
        assert await next_number(second, h) == number
        winner = await add_transaction(
            first, h, [debit(h.groceries, 100), credit(h.cash, 100)], number=number
        )
        # The second INSERT waits on the first's uncommitted key in the unique index...
        loser = asyncio.create_task(
            add_transaction(second, h, [debit(h.groceries, 7), credit(h.cash, 7)], number=number)
        )
        await wait_until_blocked_on_a_lock(connection, second.get_server_pid())
        assert not loser.done()
        await first_unit.commit()

        # ...and fails as soon as the first commits.
        with pytest.raises(UniqueViolationError, match="transactions_number_uq"):
            await loser
        await second_unit.rollback()
    finally:
        await first.close()
        await second.close()

    state = await ledger_state(connection)
    assert [(t[0], t[2]) for t in state.transactions] == [(winner, number)]
    assert len(state.postings) == 2
    assert await balances(connection, h.groceries, h.cash) == [100, -100]
