"""Households keep apart: a posting's account, an author and an owner all belong to the
transaction's household."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from asyncpg.exceptions import (
    ForeignKeyViolationError,
)

from tests.support.raw_ledger import (
    HouseholdRows,
    Leg,
    assert_nothing_written,
    book,
    create_household,
    credit,
    debit,
    ledger_state,
)

pytestmark = pytest.mark.postgres


# ---------------------------------------------------------------------------
# 7. A posting's account exists and belongs to the transaction's household
# ---------------------------------------------------------------------------


async def test_posting_to_a_missing_account_is_refused(
    connection: asyncpg.Connection, household: HouseholdRows
) -> None:
    before = await ledger_state(connection)

    with pytest.raises(ForeignKeyViolationError, match="postings_account_fk"):
        await book(
            connection,
            household,
            [debit(household.groceries, 100), Leg(999_999, "credit", 100, "UAH")],
        )

    await assert_nothing_written(connection, before)


async def test_posting_to_an_account_of_another_household_is_refused(
    connection: asyncpg.Connection, household: HouseholdRows
) -> None:
    neighbour = await create_household(connection, telegram_id=2002)
    before = await ledger_state(connection)

    # Same currency, balanced: only the household is wrong (paid from the neighbour's cash).
    with pytest.raises(ForeignKeyViolationError, match="of another household"):
        await book(
            connection, household, [debit(household.groceries, 100), credit(neighbour.cash, 100)]
        )

    await assert_nothing_written(connection, before)


# ---------------------------------------------------------------------------
# Households keep apart, and the balance cache moves only by posting.
# ---------------------------------------------------------------------------


async def test_transaction_authored_by_a_member_of_another_household_is_refused(
    connection: asyncpg.Connection, household: HouseholdRows
) -> None:
    other = await create_household(connection, household.member + 1)
    before = await ledger_state(connection)

    with pytest.raises(ForeignKeyViolationError, match="transactions_author_fk"):
        async with connection.transaction():
            await connection.execute(
                "INSERT INTO transactions (id, household_id, number, author_telegram_id, kind,"
                " booked_on) VALUES ($1, $2, 1, $3, 'expense', current_date)",
                uuid.uuid4(),
                household.id,
                other.member,
            )

    await assert_nothing_written(connection, before)


async def test_account_owned_by_a_member_of_another_household_is_refused(
    connection: asyncpg.Connection, household: HouseholdRows
) -> None:
    other = await create_household(connection, household.member + 1)

    with pytest.raises(ForeignKeyViolationError, match="accounts_owner_fk"):
        await connection.execute(
            "INSERT INTO accounts (household_id, type, name, name_key, currency,"
            " owner_telegram_id) VALUES ($1, 'asset', 'X', 'x', 'UAH', $2)",
            household.id,
            other.member,
        )
