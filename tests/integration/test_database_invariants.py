"""The database itself refuses every violation of the ledger's invariants (docs/adr/0002).

These tests go around the application: raw SQL through asyncpg, as a buggy writer or an
operator at a psql prompt would send it. Each refused case asserts the specific error the
server raises and then that nothing was written, so a test cannot pass because some other,
earlier error happened to fire. A positive control shows the helpers can book at all.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

import asyncpg
import pytest
from asyncpg.exceptions import (
    CheckViolationError,
    FeatureNotSupportedError,
    ForeignKeyViolationError,
    IntegrityConstraintViolationError,
    UniqueViolationError,
)

pytestmark = pytest.mark.postgres

BOOKED_ON = date(2026, 3, 14)


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    id: int
    currency: str


@dataclass(frozen=True)
class Household:
    id: int
    member: int  # the telegram_id of its one member, who authors every transaction
    cash: Account  # asset, UAH
    card: Account  # asset, UAH
    groceries: Account  # expense, UAH
    dollars: Account  # asset, USD


class Leg(NamedTuple):
    account_id: int
    direction: str  # 'debit' or 'credit'
    amount_minor: int
    currency: str


def debit(account: Account, amount_minor: int, currency: str | None = None) -> Leg:
    return Leg(account.id, "debit", amount_minor, currency or account.currency)


def credit(account: Account, amount_minor: int, currency: str | None = None) -> Leg:
    return Leg(account.id, "credit", amount_minor, currency or account.currency)


async def insert_account(
    connection: asyncpg.Connection, household_id: int, type_: str, name: str, currency: str
) -> Account:
    account_id = await connection.fetchval(
        "INSERT INTO accounts (household_id, type, name, name_key, currency)"
        " VALUES ($1, $2, $3, lower($3), $4) RETURNING id",
        household_id,
        type_,
        name,
        currency,
    )
    return Account(account_id, currency)


async def create_household(connection: asyncpg.Connection, telegram_id: int) -> Household:
    """A household with one member, two UAH asset accounts, a UAH category and a USD asset."""
    async with connection.transaction():
        household_id = await connection.fetchval(
            "INSERT INTO households (currency) VALUES ('UAH') RETURNING id"
        )
        await connection.execute(
            "INSERT INTO members (telegram_id, household_id) VALUES ($1, $2)",
            telegram_id,
            household_id,
        )
        return Household(
            id=household_id,
            member=telegram_id,
            cash=await insert_account(connection, household_id, "asset", "Cash", "UAH"),
            card=await insert_account(connection, household_id, "asset", "Card", "UAH"),
            groceries=await insert_account(connection, household_id, "expense", "Groceries", "UAH"),
            dollars=await insert_account(connection, household_id, "asset", "Dollars", "USD"),
        )


async def next_number(connection: asyncpg.Connection, household: Household) -> int:
    # What this connection can see: another writer's uncommitted number is invisible,
    # which is exactly the race the (household_id, number) unique constraint closes.
    number: int = await connection.fetchval(
        "SELECT COALESCE(max(number), 0) + 1 FROM transactions WHERE household_id = $1",
        household.id,
    )
    return number


async def add_transaction(
    connection: asyncpg.Connection,
    household: Household,
    legs: Sequence[Leg],
    *,
    kind: str = "expense",
    voids: uuid.UUID | None = None,
    voided_by: uuid.UUID | None = None,
    number: int | None = None,
    transaction_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """INSERT one transaction row and its postings; the caller owns the unit of work."""
    transaction_id = transaction_id or uuid.uuid4()
    if number is None:
        number = await next_number(connection, household)
    await connection.execute(
        "INSERT INTO transactions (id, household_id, number, author_telegram_id, kind,"
        " booked_on, voids_transaction_id, voided_by_transaction_id)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        transaction_id,
        household.id,
        number,
        household.member,
        kind,
        BOOKED_ON,
        voids,
        voided_by,
    )
    await insert_postings(connection, transaction_id, legs)
    return transaction_id


async def insert_postings(
    connection: asyncpg.Connection, transaction_id: uuid.UUID, legs: Sequence[Leg]
) -> None:
    for leg in legs:
        await connection.execute(
            "INSERT INTO postings (transaction_id, account_id, direction, amount_minor, currency)"
            " VALUES ($1, $2, $3, $4, $5)",
            transaction_id,
            *leg,
        )


async def append_legs(
    connection: asyncpg.Connection, transaction_id: uuid.UUID, legs: Sequence[Leg]
) -> None:
    """More legs for an already committed transaction, in a unit of work of their own."""
    async with connection.transaction():
        await insert_postings(connection, transaction_id, legs)


async def book(
    connection: asyncpg.Connection, household: Household, legs: Sequence[Leg], **kwargs: Any
) -> uuid.UUID:
    """One transaction in one unit of work: the deferred checks run at the end of this block."""
    async with connection.transaction():
        return await add_transaction(connection, household, legs, **kwargs)


async def mirror_of(connection: asyncpg.Connection, transaction_id: uuid.UUID) -> list[Leg]:
    """The legs of a reversal of `transaction_id`: same accounts and amounts, sides swapped."""
    flipped = {"debit": "credit", "credit": "debit"}
    rows = await connection.fetch(
        "SELECT account_id, direction, amount_minor, currency FROM postings"
        " WHERE transaction_id = $1 ORDER BY id",
        transaction_id,
    )
    return [
        Leg(r["account_id"], flipped[r["direction"]], r["amount_minor"], r["currency"])
        for r in rows
    ]


async def set_voided_by(
    connection: asyncpg.Connection, transaction_id: uuid.UUID, voided_by: uuid.UUID | None
) -> None:
    await connection.execute(
        "UPDATE transactions SET voided_by_transaction_id = $1 WHERE id = $2",
        voided_by,
        transaction_id,
    )


async def void(
    connection: asyncpg.Connection, household: Household, original: uuid.UUID
) -> uuid.UUID:
    """The one correct way to void: a mirrored reversal and the original's link, together."""
    async with connection.transaction():
        reversal = await add_transaction(
            connection,
            household,
            await mirror_of(connection, original),
            kind="reversal",
            voids=original,
        )
        await set_voided_by(connection, original, reversal)
    return reversal


async def spend(connection: asyncpg.Connection, household: Household, amount: int) -> uuid.UUID:
    """An ordinary, balanced expense paid in cash."""
    return await book(
        connection, household, [debit(household.groceries, amount), credit(household.cash, amount)]
    )


@dataclass(frozen=True)
class LedgerState:
    transactions: list[tuple[Any, ...]]
    postings: list[tuple[Any, ...]]
    balances: dict[int, int]
    accounts: list[tuple[Any, ...]]


async def ledger_state(connection: asyncpg.Connection) -> LedgerState:
    async def rows(query: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in await connection.fetch(query)]

    return LedgerState(
        transactions=await rows("SELECT * FROM transactions ORDER BY household_id, number"),
        postings=await rows("SELECT * FROM postings ORDER BY id"),
        balances={
            r["account_id"]: r["balance_minor"]
            for r in await connection.fetch("SELECT * FROM account_balances")
        },
        accounts=await rows("SELECT * FROM accounts ORDER BY id"),
    )


async def assert_nothing_written(connection: asyncpg.Connection, before: LedgerState) -> None:
    after = await ledger_state(connection)
    # Counts first, for a readable failure; then every row and balance, byte for byte.
    assert len(after.transactions) == len(before.transactions)
    assert len(after.postings) == len(before.postings)
    assert after.balances == before.balances
    assert after == before


async def balances(connection: asyncpg.Connection, *accounts: Account) -> list[int]:
    return [
        await connection.fetchval(
            "SELECT balance_minor FROM account_balances WHERE account_id = $1", account.id
        )
        for account in accounts
    ]


@pytest.fixture
async def connection(fresh_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(fresh_database_url)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
async def household(connection: asyncpg.Connection) -> Household:
    return await create_household(connection, telegram_id=1001)


# ---------------------------------------------------------------------------
# Positive control: the helpers do book, so refusals below are not vacuous
# ---------------------------------------------------------------------------


async def test_a_balanced_transaction_is_accepted(
    connection: asyncpg.Connection, household: Household
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
    connection: asyncpg.Connection, household: Household
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

    with pytest.raises(CheckViolationError, match="is unbalanced by 1"):
        await unit_of_work.commit()

    await assert_nothing_written(connection, before)


async def test_transaction_with_one_posting_is_refused(
    connection: asyncpg.Connection, household: Household
) -> None:
    before = await ledger_state(connection)

    with pytest.raises(CheckViolationError, match=r"has 1 posting\(s\); at least two"):
        await book(connection, household, [debit(household.groceries, 100)])

    await assert_nothing_written(connection, before)


async def test_transaction_with_no_postings_is_refused(
    connection: asyncpg.Connection, household: Household
) -> None:
    before = await ledger_state(connection)

    # No posting fires the posting trigger; the transaction row's own trigger catches it.
    with pytest.raises(CheckViolationError, match=r"has 0 posting\(s\); at least two"):
        await book(connection, household, [])

    await assert_nothing_written(connection, before)


async def test_zero_leg_is_refused(connection: asyncpg.Connection, household: Household) -> None:
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
    connection: asyncpg.Connection, household: Household
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
    connection: asyncpg.Connection, household: Household, shape: str
) -> None:
    h = household
    legs = {
        # each currency balances on its own, yet one transaction must be one currency
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

    with pytest.raises(CheckViolationError, match="mixes currencies"):
        await book(connection, household, legs)

    await assert_nothing_written(connection, before)


async def test_posting_currency_must_be_its_accounts_currency(
    connection: asyncpg.Connection, household: Household
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
    connection: asyncpg.Connection, household: Household, statement: str, message: str
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
    connection: asyncpg.Connection, household: Household, assignment: str
) -> None:
    transaction_id = await spend(connection, household, 100)
    before = await ledger_state(connection)

    with pytest.raises(IntegrityConstraintViolationError, match="is immutable"):
        await connection.execute(
            f"UPDATE transactions SET {assignment} WHERE id = $1", transaction_id
        )

    await assert_nothing_written(connection, before)


async def test_transaction_cannot_be_deleted(
    connection: asyncpg.Connection, household: Household
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
            "TRUNCATE transactions, postings",
            IntegrityConstraintViolationError,
            "TRUNCATE on (transactions|postings) is refused",
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
    household: Household,
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
# 6. Voiding: a mirrored reversal, linked both ways, once
# ---------------------------------------------------------------------------


async def test_correct_void_is_accepted_and_nets_to_zero(
    connection: asyncpg.Connection, household: Household
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
    connection: asyncpg.Connection, household: Household
) -> None:
    original = await spend(connection, household, 100)
    await void(connection, household, original)
    before = await ledger_state(connection)

    with pytest.raises(UniqueViolationError, match="transactions_voids_uq"):
        await void(connection, household, original)

    await assert_nothing_written(connection, before)


@pytest.mark.parametrize("new_link", ["cleared", "repointed"])
async def test_void_link_of_a_voided_transaction_cannot_change(
    connection: asyncpg.Connection, household: Household, new_link: str
) -> None:
    original = await spend(connection, household, 100)
    await void(connection, household, original)
    stranger = await spend(connection, household, 7)
    before = await ledger_state(connection)

    with pytest.raises(IntegrityConstraintViolationError, match="is already voided"):
        await set_voided_by(connection, original, None if new_link == "cleared" else stranger)

    await assert_nothing_written(connection, before)


async def test_reversal_cannot_be_voided(
    connection: asyncpg.Connection, household: Household
) -> None:
    original = await spend(connection, household, 100)
    reversal = await void(connection, household, original)
    before = await ledger_state(connection)

    # A well-formed reversal of the reversal is accepted row by row until the link is set.
    with pytest.raises(IntegrityConstraintViolationError, match="is a reversal and cannot be"):
        await void(connection, household, reversal)

    await assert_nothing_written(connection, before)


async def test_reversal_of_a_reversal_is_refused_at_commit_even_when_linked_at_insert(
    connection: asyncpg.Connection, household: Household
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
    connection: asyncpg.Connection, household: Household, flaw: str
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
    connection: asyncpg.Connection, household: Household
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
    household: Household,
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


# ---------------------------------------------------------------------------
# 7. A posting's account exists and belongs to the transaction's household
# ---------------------------------------------------------------------------


async def test_posting_to_a_missing_account_is_refused(
    connection: asyncpg.Connection, household: Household
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
    connection: asyncpg.Connection, household: Household
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
# 8. Accounts stay, and keep the type and currency their postings were made under
# ---------------------------------------------------------------------------


async def test_account_cannot_be_deleted(
    connection: asyncpg.Connection, household: Household
) -> None:
    before = await ledger_state(connection)

    # An account with no postings yet: the trigger refuses, not merely a foreign key.
    with pytest.raises(IntegrityConstraintViolationError, match="DELETE on accounts is refused"):
        await connection.execute("DELETE FROM accounts WHERE id = $1", household.card.id)

    await assert_nothing_written(connection, before)


@pytest.mark.parametrize("assignment", ["currency = 'USD'", "type = 'liability'"])
async def test_account_currency_and_type_cannot_change(
    connection: asyncpg.Connection, household: Household, assignment: str
) -> None:
    await spend(connection, household, 100)
    before = await ledger_state(connection)

    with pytest.raises(IntegrityConstraintViolationError, match="cannot change"):
        await connection.execute(
            f"UPDATE accounts SET {assignment} WHERE id = $1", household.cash.id
        )

    await assert_nothing_written(connection, before)


# ---------------------------------------------------------------------------
# 9. The balance cache is the sum of the postings
# ---------------------------------------------------------------------------


async def test_account_balances_equal_the_sum_of_postings(
    connection: asyncpg.Connection, household: Household
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
    connection: asyncpg.Connection, household: Household, fresh_database_url: str
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


# ---------------------------------------------------------------------------
# A committed transaction is closed: no legs may join it later.
# ---------------------------------------------------------------------------


async def test_legs_cannot_be_added_to_a_committed_transaction(
    connection: asyncpg.Connection, household: Household
) -> None:
    h = household
    transaction_id = await spend(connection, h, 100)
    before = await ledger_state(connection)

    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="only be written with it"):
        await append_legs(connection, transaction_id, [debit(h.card, 5), credit(h.cash, 5)])

    await assert_nothing_written(connection, before)


async def test_legs_cannot_be_added_to_a_voided_original(
    connection: asyncpg.Connection, household: Household
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


# ---------------------------------------------------------------------------
# Households keep apart, and the balance cache moves only by posting.
# ---------------------------------------------------------------------------


async def test_transaction_authored_by_a_member_of_another_household_is_refused(
    connection: asyncpg.Connection, household: Household
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
    connection: asyncpg.Connection, household: Household
) -> None:
    other = await create_household(connection, household.member + 1)

    with pytest.raises(ForeignKeyViolationError, match="accounts_owner_fk"):
        await connection.execute(
            "INSERT INTO accounts (household_id, type, name, name_key, currency,"
            " owner_telegram_id) VALUES ($1, 'asset', 'X', 'x', 'UAH', $2)",
            household.id,
            other.member,
        )


async def test_cached_balance_cannot_be_set_by_hand(
    connection: asyncpg.Connection, household: Household
) -> None:
    await spend(connection, household, 100)
    before = await ledger_state(connection)

    with pytest.raises(IntegrityConstraintViolationError, match="only by posting"):
        await connection.execute(
            "UPDATE account_balances SET balance_minor = 5 WHERE account_id = $1",
            household.cash.id,
        )

    await assert_nothing_written(connection, before)
