"""The balance cache is the sum of the postings, and moves only by posting."""

from __future__ import annotations

import asyncpg
import pytest
from asyncpg.exceptions import (
    CheckViolationError,
    IntegrityConstraintViolationError,
)

from tests.support.raw_ledger import (
    HouseholdRows,
    assert_nothing_written,
    balances,
    book,
    credit,
    debit,
    ledger_state,
    spend,
    void,
)

pytestmark = pytest.mark.postgres


# ---------------------------------------------------------------------------
# 9. The balance cache is the sum of the postings
# ---------------------------------------------------------------------------


async def test_account_balances_equal_the_sum_of_postings(
    connection: asyncpg.Connection, household: HouseholdRows
) -> None:
    h = household
    await spend(connection, h, 120_00)
    await book(connection, h, [debit(h.card, 500_00), credit(h.cash, 500_00)])  # top-up
    await book(connection, h, [debit(h.groceries, 75_30), credit(h.card, 75_30)])
    await book(connection, h, [debit(h.dollars, 20_00), credit(h.dollars, 20_00)])
    voided = await spend(connection, h, 9_99)
    await void(connection, h, voided)
    # a refused attempt must leave no trace in the cache either
    with pytest.raises(CheckViolationError):
        await book(connection, h, [debit(h.groceries, 1), credit(h.cash, 2)])

    recomputed = {
        r["id"]: r["sum"]
        for r in await connection.fetch(
            "SELECT a.id, COALESCE(sum(CASE p.direction WHEN 'debit' THEN p.amount_minor"
            " ELSE -p.amount_minor END), 0)::bigint AS sum"
            " FROM accounts a LEFT JOIN postings p ON p.account_id = a.id GROUP BY a.id"
        )
    }
    assert (await ledger_state(connection)).balances == recomputed
    assert await balances(connection, h.cash, h.card, h.groceries, h.dollars) == [
        -620_00,
        424_70,
        195_30,
        0,
    ]


async def test_cached_balance_cannot_be_set_by_hand(
    connection: asyncpg.Connection, household: HouseholdRows
) -> None:
    await spend(connection, household, 100)
    before = await ledger_state(connection)

    with pytest.raises(IntegrityConstraintViolationError, match="only by posting"):
        await connection.execute(
            "UPDATE account_balances SET balance_minor = 5 WHERE account_id = $1",
            household.cash.id,
        )

    await assert_nothing_written(connection, before)
