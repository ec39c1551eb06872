"""Append-only: postings and transactions never change or disappear, and a committed
transaction is closed to new legs."""

from __future__ import annotations

import asyncpg
import pytest
from asyncpg.exceptions import (
    FeatureNotSupportedError,
    IntegrityConstraintViolationError,
)

from tests.support.raw_ledger import (
    HouseholdRows,
    append_legs,
    assert_nothing_written,
    credit,
    debit,
    ledger_state,
    spend,
    void,
)

pytestmark = pytest.mark.postgres


# ---------------------------------------------------------------------------
# 5. Append-only: postings and transactions never change or disappear
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        pytest.param(
            "UPDATE postings SET amount_minor = amount_minor + 1",
            "UPDATE on postings is refused",
            id="update_amount",
        ),
        pytest.param(
            "UPDATE postings SET direction = 'credit' WHERE direction = 'debit'",
            "UPDATE on postings is refused",
            id="update_direction",
        ),
        pytest.param("DELETE FROM postings", "DELETE on postings is refused", id="delete"),
        pytest.param("TRUNCATE postings", "TRUNCATE on postings is refused", id="truncate"),
    ],
)
async def test_postings_cannot_be_changed_or_removed(
    connection: asyncpg.Connection, household: HouseholdRows, statement: str, message: str
) -> None:
    await spend(connection, household, 100)
    before = await ledger_state(connection)

    with pytest.raises(IntegrityConstraintViolationError, match=message):
        await connection.execute(statement)

    await assert_nothing_written(connection, before)


@pytest.mark.parametrize(
    "assignment",
    [
        "booked_on = booked_on + 1",
        "note = 'edited afterwards'",
        "number = number + 100",
        "tags = '{edited}'",
        "kind = 'income'",
    ],
)
async def test_transaction_fields_cannot_be_updated(
    connection: asyncpg.Connection, household: HouseholdRows, assignment: str
) -> None:
    transaction_id = await spend(connection, household, 100)
    before = await ledger_state(connection)

    with pytest.raises(IntegrityConstraintViolationError, match="is immutable"):
        await connection.execute(
            f"UPDATE transactions SET {assignment} WHERE id = $1", transaction_id
        )

    await assert_nothing_written(connection, before)


async def test_transaction_cannot_be_deleted(
    connection: asyncpg.Connection, household: HouseholdRows
) -> None:
    transaction_id = await spend(connection, household, 100)
    before = await ledger_state(connection)

    # The trigger answers before the postings' foreign key would.
    with pytest.raises(IntegrityConstraintViolationError, match="DELETE on transactions"):
        await connection.execute("DELETE FROM transactions WHERE id = $1", transaction_id)

    await assert_nothing_written(connection, before)


@pytest.mark.parametrize(
    ("statement", "error", "message"),
    [
        # Plain TRUNCATE never reaches the trigger: postings reference transactions.
        pytest.param(
            "TRUNCATE transactions",
            FeatureNotSupportedError,
            "cannot truncate a table referenced in a foreign key constraint",
            id="plain",
        ),
        pytest.param(
            "TRUNCATE transactions CASCADE",
            IntegrityConstraintViolationError,
            "TRUNCATE on transactions is refused",
            id="cascade",
        ),
        pytest.param(
            "TRUNCATE transactions, postings, conversions, recurring_occurrences",
            IntegrityConstraintViolationError,
            "TRUNCATE on (transactions|postings|conversions) is refused",
            id="with_postings",
        ),
        # households has no trigger of its own, but the cascade reaches tables that do
        pytest.param(
            "TRUNCATE households CASCADE",
            IntegrityConstraintViolationError,
            r"TRUNCATE on \w+ is refused: the ledger is append-only",
            id="households_cascade",
        ),
    ],
)
async def test_transactions_cannot_be_truncated(
    connection: asyncpg.Connection,
    household: HouseholdRows,
    statement: str,
    error: type[Exception],
    message: str,
) -> None:
    await spend(connection, household, 100)
    before = await ledger_state(connection)

    with pytest.raises(error, match=message):
        await connection.execute(statement)

    await assert_nothing_written(connection, before)


# ---------------------------------------------------------------------------
# A committed transaction is closed: no legs may join it later.
# ---------------------------------------------------------------------------


async def test_legs_cannot_be_added_to_a_committed_transaction(
    connection: asyncpg.Connection, household: HouseholdRows
) -> None:
    h = household
    transaction_id = await spend(connection, h, 100)
    before = await ledger_state(connection)

    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="only be written with it"):
        await append_legs(connection, transaction_id, [debit(h.card, 5), credit(h.cash, 5)])

    await assert_nothing_written(connection, before)


async def test_legs_cannot_be_added_to_a_voided_original(
    connection: asyncpg.Connection, household: HouseholdRows
) -> None:
    h = household
    original = await spend(connection, h, 100)
    await void(connection, h, original)
    before = await ledger_state(connection)

    # If accepted, the reversal no longer mirrors the original and the pair no longer
    # nets to zero: groceries would be left at +30 after a "voided" expense.
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="only be written with it"):
        await append_legs(connection, original, [debit(h.groceries, 30), credit(h.cash, 30)])

    await assert_nothing_written(connection, before)
