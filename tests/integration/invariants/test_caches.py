"""The balance cache is the sum of the postings, and moves only by posting."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from asyncpg.exceptions import (
    CheckViolationError,
    ForeignKeyViolationError,
    IntegrityConstraintViolationError,
)

from tests.support.raw_ledger import (
    HouseholdRows,
    Leg,
    assert_nothing_written,
    balances,
    book,
    create_household,
    credit,
    debit,
    ledger_state,
    next_number,
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


# Imports and bulk loads write the legs of many entries in one statement: with two legs on
# one category and day, it must leave the caches as the same legs written one by one do.

_ENTRY = (
    "INSERT INTO transactions (id, household_id, number, author_telegram_id, kind, booked_on)"
    " VALUES ($1, $2, $3, $4, 'expense', '2026-03-14')"
)
_LEGS_AT_ONCE = (
    "INSERT INTO postings (transaction_id, account_id, direction, amount_minor, currency)"
    " SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::posting_direction[], $4::bigint[],"
    " $5::text[])"
)


async def _entries_in_one_statement(
    connection: asyncpg.Connection, household: HouseholdRows, legs: list[list[Leg]]
) -> None:
    async with connection.transaction():
        rows: list[tuple[uuid.UUID, Leg]] = []
        for entry_legs in legs:
            entry = uuid.uuid4()
            number = await next_number(connection, household)
            await connection.execute(_ENTRY, entry, household.id, number, household.member)
            rows += [(entry, leg) for leg in entry_legs]
        await connection.execute(
            _LEGS_AT_ONCE,
            [entry for entry, _ in rows],
            [leg.account_id for _, leg in rows],
            [leg.direction for _, leg in rows],
            [leg.amount_minor for _, leg in rows],
            [leg.currency for _, leg in rows],
        )


async def _category_totals(connection: asyncpg.Connection) -> list[tuple[Any, ...]]:
    return [
        tuple(row)
        for row in await connection.fetch(
            "SELECT household_id, booked_on, account_id, author_telegram_id, currency,"
            " debit_minus_credit_minor FROM category_day_totals ORDER BY 1, 2, 3, 4, 5"
        )
    ]


async def test_one_statement_with_many_postings_moves_the_caches_as_one_by_one(
    fresh_database_url: str,
) -> None:
    entries = [
        lambda h: [debit(h.groceries, 10_00), debit(h.groceries, 20_00), credit(h.card, 30_00)],
        lambda h: [debit(h.groceries, 5_50), credit(h.cash, 5_50)],
        lambda h: [debit(h.card, 100_00), credit(h.cash, 100_00)],
    ]
    states = []
    for at_once in (True, False):
        connection = await asyncpg.connect(fresh_database_url)
        try:
            h = await create_household(connection, telegram_id=2001 if at_once else 2002)
            if at_once:
                await _entries_in_one_statement(connection, h, [legs(h) for legs in entries])
            else:
                for legs in entries:
                    await book(connection, h, legs(h))
            state = await connection.fetch(
                "SELECT a.name, b.balance_minor FROM account_balances b"
                " JOIN accounts a ON a.id = b.account_id WHERE a.household_id = $1"
                " ORDER BY a.name",
                h.id,
            )
            totals = [row[1:] for row in await _category_totals(connection) if row[0] == h.id]
            states.append(([tuple(row) for row in state], [(t[0], t[3], t[4]) for t in totals]))
        finally:
            await connection.close()
    assert states[0] == states[1]
    balances_by_name = dict(states[0][0])
    assert balances_by_name["Groceries"] == 35_50
    assert [total for *_, total in states[0][1]] == [35_50]


async def test_one_statement_with_a_stray_posting_writes_none_of_them(
    connection: asyncpg.Connection, household: HouseholdRows
) -> None:
    other = await create_household(connection, telegram_id=2003)
    before = await ledger_state(connection)
    totals = await _category_totals(connection)
    h = household
    with pytest.raises(ForeignKeyViolationError, match="of another household"):
        await _entries_in_one_statement(
            connection,
            h,
            [
                [debit(h.groceries, 1_00), credit(h.cash, 1_00)],
                [debit(other.groceries, 2_00), credit(h.cash, 2_00)],
            ],
        )
    await assert_nothing_written(connection, before)
    assert await _category_totals(connection) == totals
