"""Hand-written SQL for the invariant tests: rows inserted as a buggy writer or an operator
at a psql prompt would, and the state to compare before and after."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

import asyncpg

BOOKED_ON = date(2026, 3, 14)


@dataclass(frozen=True)
class Account:
    id: int
    currency: str


@dataclass(frozen=True)
class HouseholdRows:
    """A household as hand-written SQL made it, for the tests that go around the application."""

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


async def create_household(connection: asyncpg.Connection, telegram_id: int) -> HouseholdRows:
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
        return HouseholdRows(
            id=household_id,
            member=telegram_id,
            cash=await insert_account(connection, household_id, "asset", "Cash", "UAH"),
            card=await insert_account(connection, household_id, "asset", "Card", "UAH"),
            groceries=await insert_account(connection, household_id, "expense", "Groceries", "UAH"),
            dollars=await insert_account(connection, household_id, "asset", "Dollars", "USD"),
        )


async def next_number(connection: asyncpg.Connection, household: HouseholdRows) -> int:
    # What this connection can see: another writer's uncommitted number is invisible,
    # which is exactly the race the (household_id, number) unique constraint closes.
    number: int = await connection.fetchval(
        "SELECT COALESCE(max(number), 0) + 1 FROM transactions WHERE household_id = $1",
        household.id,
    )
    return number


async def add_transaction(
    connection: asyncpg.Connection,
    household: HouseholdRows,
    legs: Sequence[Leg],
    *,
    kind: str = "expense",
    voids: uuid.UUID | None = None,
    voided_by: uuid.UUID | None = None,
    number: int | None = None,
    transaction_id: uuid.UUID | None = None,
    conversion: ConversionRow | None = None,
) -> uuid.UUID:
    """INSERT one transaction row, its postings and conversion; the caller owns the unit of
    work."""
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
    if conversion is not None:
        await insert_conversion(connection, transaction_id, conversion)
    return transaction_id


@dataclass(frozen=True)
class ConversionRow:
    from_currency: str
    from_amount_minor: int
    to_currency: str
    to_amount_minor: int
    rate: Decimal


async def insert_conversion(
    connection: asyncpg.Connection, transaction_id: uuid.UUID, conversion: ConversionRow
) -> None:
    await connection.execute(
        "INSERT INTO conversions (transaction_id, from_currency, from_amount_minor,"
        " to_currency, to_amount_minor, rate) VALUES ($1, $2, $3, $4, $5, $6)",
        transaction_id,
        conversion.from_currency,
        conversion.from_amount_minor,
        conversion.to_currency,
        conversion.to_amount_minor,
        conversion.rate,
    )


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
    connection: asyncpg.Connection, household: HouseholdRows, legs: Sequence[Leg], **kwargs: Any
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
    connection: asyncpg.Connection, household: HouseholdRows, original: uuid.UUID
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


async def spend(connection: asyncpg.Connection, household: HouseholdRows, amount: int) -> uuid.UUID:
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
    conversions: list[tuple[Any, ...]]
    rates: list[tuple[Any, ...]]


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
        conversions=await rows("SELECT * FROM conversions ORDER BY transaction_id"),
        rates=await rows("SELECT * FROM exchange_rates ORDER BY id"),
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
