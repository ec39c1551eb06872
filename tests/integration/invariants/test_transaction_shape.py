"""Shape of a transaction: two or more legs, positive amounts, one currency, balanced."""

from __future__ import annotations

import asyncpg
import pytest
from asyncpg.exceptions import (
    CheckViolationError,
    ForeignKeyViolationError,
)

from tests.support.raw_ledger import (
    HouseholdRows,
    add_transaction,
    assert_nothing_written,
    balances,
    book,
    credit,
    debit,
    ledger_state,
    spend,
)

pytestmark = pytest.mark.postgres


# ---------------------------------------------------------------------------
# Positive control: the helpers do book, so refusals below are not vacuous
# ---------------------------------------------------------------------------


async def test_a_balanced_transaction_is_accepted(
    connection: asyncpg.Connection, household: HouseholdRows
) -> None:
    transaction_id = await spend(connection, household, 12_50)

    state = await ledger_state(connection)
    assert len(state.transactions) == 1
    assert len(state.postings) == 2
    assert {p[1] for p in state.postings} == {transaction_id}
    assert await balances(connection, household.groceries, household.cash) == [12_50, -12_50]


# ---------------------------------------------------------------------------
# 1-4. Shape of a transaction: two or more legs, positive amounts, one currency, balanced
# ---------------------------------------------------------------------------


async def test_unbalanced_transaction_is_refused_at_commit(
    connection: asyncpg.Connection, household: HouseholdRows
) -> None:
    before = await ledger_state(connection)
    unit_of_work = connection.transaction()
    await unit_of_work.start()

    transaction_id = await add_transaction(
        connection, household, [debit(household.groceries, 100), credit(household.cash, 99)]
    )
    # The INSERTs went through: the balance check is a deferred constraint trigger, so
    # legs may arrive in any order and the whole unit is judged at COMMIT.
    legs = await connection.fetchval(
        "SELECT count(*) FROM postings WHERE transaction_id = $1", transaction_id
    )
    assert legs == 2

    with pytest.raises(CheckViolationError, match="is unbalanced in UAH by 1"):
        await unit_of_work.commit()

    await assert_nothing_written(connection, before)


async def test_transaction_with_one_posting_is_refused(
    connection: asyncpg.Connection, household: HouseholdRows
) -> None:
    before = await ledger_state(connection)

    with pytest.raises(CheckViolationError, match=r"has 1 posting\(s\); at least two"):
        await book(connection, household, [debit(household.groceries, 100)])

    await assert_nothing_written(connection, before)


async def test_transaction_with_no_postings_is_refused(
    connection: asyncpg.Connection, household: HouseholdRows
) -> None:
    before = await ledger_state(connection)

    # No posting fires the posting trigger; the transaction row's own trigger catches it.
    with pytest.raises(CheckViolationError, match=r"has 0 posting\(s\); at least two"):
        await book(connection, household, [])

    await assert_nothing_written(connection, before)


async def test_zero_leg_is_refused(
    connection: asyncpg.Connection, household: HouseholdRows
) -> None:
    before = await ledger_state(connection)

    # Balanced overall; the zero leg alone is what is wrong, refused at its INSERT.
    with pytest.raises(CheckViolationError, match="postings_amount_positive"):
        await book(
            connection,
            household,
            [
                debit(household.groceries, 100),
                credit(household.cash, 100),
                debit(household.card, 0),
            ],
        )

    await assert_nothing_written(connection, before)


async def test_negative_leg_is_refused(
    connection: asyncpg.Connection, household: HouseholdRows
) -> None:
    before = await ledger_state(connection)

    # Signed amounts would "balance" with two debits; the direction column carries the sign.
    with pytest.raises(CheckViolationError, match="postings_amount_positive"):
        await book(
            connection, household, [debit(household.groceries, 100), debit(household.cash, -100)]
        )

    await assert_nothing_written(connection, before)


@pytest.mark.parametrize(
    "shape",
    ["balanced_within_each_currency", "balanced_only_across_currencies"],
)
async def test_mixed_currencies_in_one_transaction_are_refused(
    connection: asyncpg.Connection, household: HouseholdRows, shape: str
) -> None:
    h = household
    legs = {
        # each currency balances on its own, yet nothing says how one became the other
        "balanced_within_each_currency": [
            debit(h.groceries, 100),
            credit(h.cash, 100),
            debit(h.dollars, 5),
            credit(h.dollars, 5),
        ],
        # 100 UAH against 100 USD: the numbers sum to zero, the money does not
        "balanced_only_across_currencies": [debit(h.groceries, 100), credit(h.dollars, 100)],
    }[shape]
    before = await ledger_state(connection)

    refusal = {
        "balanced_within_each_currency": "mixes currencies without a conversion",
        "balanced_only_across_currencies": "is unbalanced in UAH by 100, USD by -100",
    }[shape]
    with pytest.raises(CheckViolationError, match=refusal):
        await book(connection, household, legs)

    await assert_nothing_written(connection, before)


async def test_posting_currency_must_be_its_accounts_currency(
    connection: asyncpg.Connection, household: HouseholdRows
) -> None:
    before = await ledger_state(connection)

    # One currency and balanced, but UAH accounts cannot hold USD legs: the composite
    # (account_id, currency) foreign key refuses the first leg at its INSERT.
    with pytest.raises(ForeignKeyViolationError, match="postings_account_fk"):
        await book(
            connection,
            household,
            [debit(household.groceries, 100, "USD"), credit(household.cash, 100, "USD")],
        )

    await assert_nothing_written(connection, before)
