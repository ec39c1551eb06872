"""Voiding: a mirrored reversal, linked both ways, once."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from asyncpg.exceptions import (
    CheckViolationError,
    ForeignKeyViolationError,
    IntegrityConstraintViolationError,
    UniqueViolationError,
)

from tests.support.raw_ledger import (
    HouseholdRows,
    add_transaction,
    assert_nothing_written,
    book,
    credit,
    debit,
    ledger_state,
    mirror_of,
    set_voided_by,
    spend,
    void,
)

pytestmark = pytest.mark.postgres


# ---------------------------------------------------------------------------
# 6. Voiding: a mirrored reversal, linked both ways, once
# ---------------------------------------------------------------------------


async def test_correct_void_is_accepted_and_nets_to_zero(
    connection: asyncpg.Connection, household: HouseholdRows
) -> None:
    original = await spend(connection, household, 100)

    reversal = await void(connection, household, original)

    links = await connection.fetch(
        "SELECT id, kind, voids_transaction_id, voided_by_transaction_id FROM transactions"
        " ORDER BY number"
    )
    assert [tuple(r) for r in links] == [
        (original, "expense", None, reversal),
        (reversal, "reversal", original, None),
    ]
    state = await ledger_state(connection)
    assert len(state.postings) == 4
    assert set(state.balances.values()) == {0}


async def test_second_void_of_the_same_transaction_is_refused(
    connection: asyncpg.Connection, household: HouseholdRows
) -> None:
    original = await spend(connection, household, 100)
    await void(connection, household, original)
    before = await ledger_state(connection)

    with pytest.raises(UniqueViolationError, match="transactions_voids_uq"):
        await void(connection, household, original)

    await assert_nothing_written(connection, before)


@pytest.mark.parametrize("new_link", ["cleared", "repointed"])
async def test_void_link_of_a_voided_transaction_cannot_change(
    connection: asyncpg.Connection, household: HouseholdRows, new_link: str
) -> None:
    original = await spend(connection, household, 100)
    await void(connection, household, original)
    stranger = await spend(connection, household, 7)
    before = await ledger_state(connection)

    with pytest.raises(IntegrityConstraintViolationError, match="is already voided"):
        await set_voided_by(connection, original, None if new_link == "cleared" else stranger)

    await assert_nothing_written(connection, before)


async def test_reversal_cannot_be_voided(
    connection: asyncpg.Connection, household: HouseholdRows
) -> None:
    original = await spend(connection, household, 100)
    reversal = await void(connection, household, original)
    before = await ledger_state(connection)

    # A well-formed reversal of the reversal is accepted row by row until the link is set.
    with pytest.raises(IntegrityConstraintViolationError, match="is a reversal and cannot be"):
        await void(connection, household, reversal)

    await assert_nothing_written(connection, before)


async def test_reversal_of_a_reversal_is_refused_at_commit_even_when_linked_at_insert(
    connection: asyncpg.Connection, household: HouseholdRows
) -> None:
    # Setting the links in the INSERTs skips the BEFORE UPDATE guard altogether; the
    # deferred check must still see that the second reversal voids a reversal.
    h = household
    before = await ledger_state(connection)
    original, first, second = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    spent = [debit(h.groceries, 100), credit(h.cash, 100)]
    undone = [credit(h.groceries, 100), debit(h.cash, 100)]

    async def book_all_three_linked() -> None:
        async with connection.transaction():
            await add_transaction(connection, h, spent, transaction_id=original, voided_by=first)
            await add_transaction(
                connection,
                h,
                undone,
                transaction_id=first,
                kind="reversal",
                voids=original,
                voided_by=second,
            )
            await add_transaction(
                connection, h, spent, transaction_id=second, kind="reversal", voids=first
            )

    with pytest.raises(CheckViolationError, match="voids a transaction it may not void"):
        await book_all_three_linked()

    await assert_nothing_written(connection, before)


@pytest.mark.parametrize(
    "flaw", ["wrong_amount", "sides_not_swapped", "other_account", "extra_legs", "missing_leg"]
)
async def test_reversal_that_does_not_mirror_the_original_is_refused_at_commit(
    connection: asyncpg.Connection, household: HouseholdRows, flaw: str
) -> None:
    h = household
    original = await book(
        connection,
        h,
        [debit(h.groceries, 100), credit(h.cash, 60), credit(h.card, 40)],
    )
    legs = {
        "wrong_amount": [credit(h.groceries, 90), debit(h.cash, 50), debit(h.card, 40)],
        "sides_not_swapped": [debit(h.groceries, 100), credit(h.cash, 60), credit(h.card, 40)],
        "other_account": [credit(h.groceries, 100), debit(h.card, 60), debit(h.cash, 40)],
        "extra_legs": [
            credit(h.groceries, 100),
            debit(h.cash, 60),
            debit(h.card, 40),
            debit(h.card, 1),
            credit(h.cash, 1),
        ],
        "missing_leg": [credit(h.groceries, 60), debit(h.cash, 60)],
    }[flaw]
    before = await ledger_state(connection)

    async def void_with_flawed_reversal() -> None:
        async with connection.transaction():
            reversal = await add_transaction(connection, h, legs, kind="reversal", voids=original)
            await set_voided_by(connection, original, reversal)

    with pytest.raises(CheckViolationError, match="does not mirror transaction"):
        await void_with_flawed_reversal()

    await assert_nothing_written(connection, before)


async def test_reversal_without_the_originals_link_is_refused_at_commit(
    connection: asyncpg.Connection, household: HouseholdRows
) -> None:
    original = await spend(connection, household, 100)
    before = await ledger_state(connection)

    with pytest.raises(CheckViolationError, match="is not linked from the transaction it voids"):
        async with connection.transaction():
            await add_transaction(
                connection,
                household,
                await mirror_of(connection, original),
                kind="reversal",
                voids=original,
            )
            # ...and the UPDATE of the original's voided_by is forgotten

    await assert_nothing_written(connection, before)


@pytest.mark.parametrize(
    ("target", "error", "message"),
    [
        ("ordinary_transaction", CheckViolationError, "which is not its reversal"),
        # the FK on voided_by is deferred too, so this also arrives at COMMIT
        ("missing_transaction", ForeignKeyViolationError, "transactions_voided_by_fk"),
    ],
    ids=["ordinary_transaction", "missing_transaction"],
)
async def test_void_link_to_something_other_than_its_reversal_is_refused(
    connection: asyncpg.Connection,
    household: HouseholdRows,
    target: str,
    error: type[Exception],
    message: str,
) -> None:
    original = await spend(connection, household, 100)
    other = await spend(connection, household, 7)
    before = await ledger_state(connection)

    with pytest.raises(error, match=message):
        await set_voided_by(
            connection, original, other if target == "ordinary_transaction" else uuid.uuid4()
        )

    await assert_nothing_written(connection, before)
