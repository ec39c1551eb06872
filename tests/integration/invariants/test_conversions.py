"""Several currencies (docs/product.md §8): per currency, every transaction balances; money
changes currency only through the conversion accounts, as its stored conversion says; a
stored conversion or rate never changes. Each rule refused by the database, with raw SQL."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import asyncpg
import pytest
from asyncpg.exceptions import (
    CheckViolationError,
    ForeignKeyViolationError,
    IntegrityConstraintViolationError,
)

from tests.support.raw_ledger import (
    Account,
    ConversionRow,
    HouseholdRows,
    Leg,
    add_transaction,
    assert_nothing_written,
    book,
    credit,
    debit,
    ledger_state,
    mirror_of,
    set_voided_by,
)

pytestmark = pytest.mark.postgres


@dataclass(frozen=True)
class Conversions:
    uah: Account  # the household's conversion account in UAH
    usd: Account
    eur: Account


async def _conversion_account(
    connection: asyncpg.Connection, household: HouseholdRows, currency: str
) -> Account:
    account_id = await connection.fetchval(
        "INSERT INTO accounts (household_id, type, name, name_key, code, currency)"
        " VALUES ($1, 'equity', $2, lower($2), 'conversion:' || $3, $3) RETURNING id",
        household.id,
        f"⇄ {currency}",
        currency,
    )
    return Account(account_id, currency)


@pytest.fixture
async def conversions(connection: asyncpg.Connection, household: HouseholdRows) -> Conversions:
    return Conversions(
        uah=await _conversion_account(connection, household, "UAH"),
        usd=await _conversion_account(connection, household, "USD"),
        eur=await _conversion_account(connection, household, "EUR"),
    )


# 20 USD spent from the dollar account on groceries, worth 830 UAH at 41.50.
SPENT_IN_DOLLARS = ConversionRow("USD", 2_000, "UAH", 83_000, Decimal("41.50"))


def _dollars_for_groceries(h: HouseholdRows, c: Conversions, uah: int = 83_000) -> list[Leg]:
    return [
        debit(h.groceries, uah),
        credit(c.uah, 83_000),
        debit(c.usd, 2_000),
        credit(h.dollars, 2_000),
    ]


async def test_a_conversion_through_the_conversion_accounts_is_stored(
    connection: asyncpg.Connection, household: HouseholdRows, conversions: Conversions
) -> None:
    transaction_id = await book(
        connection,
        household,
        _dollars_for_groceries(household, conversions),
        conversion=SPENT_IN_DOLLARS,
    )
    row = await connection.fetchrow(
        "SELECT * FROM conversions WHERE transaction_id = $1", transaction_id
    )
    assert (row["from_amount_minor"], row["to_amount_minor"], row["rate"]) == (
        2_000,
        83_000,
        Decimal("41.50"),
    )


async def test_dollar_legs_that_do_not_balance_are_refused_though_the_grand_total_does(
    connection: asyncpg.Connection, household: HouseholdRows, conversions: Conversions
) -> None:
    h, c = household, conversions
    # +1 UAH and -1 USD: the numbers sum to zero, each currency is off by one.
    legs = [
        debit(h.groceries, 83_001),
        credit(c.uah, 83_000),
        debit(c.usd, 2_000),
        credit(h.dollars, 2_001),
    ]
    before = await ledger_state(connection)

    with pytest.raises(CheckViolationError, match="unbalanced in UAH by 1, USD by -1"):
        await book(connection, h, legs, conversion=SPENT_IN_DOLLARS)

    await assert_nothing_written(connection, before)


async def test_a_posting_in_another_currency_than_its_account_is_refused(
    connection: asyncpg.Connection, household: HouseholdRows
) -> None:
    h = household
    before = await ledger_state(connection)

    with pytest.raises(ForeignKeyViolationError, match="postings_account_fk"):
        await book(connection, h, [debit(h.groceries, 100), credit(h.dollars, 100, "UAH")])

    await assert_nothing_written(connection, before)


async def test_two_currencies_without_a_conversion_are_refused(
    connection: asyncpg.Connection, household: HouseholdRows, conversions: Conversions
) -> None:
    before = await ledger_state(connection)

    with pytest.raises(CheckViolationError, match="mixes currencies without a conversion"):
        await book(connection, household, _dollars_for_groceries(household, conversions))

    await assert_nothing_written(connection, before)


async def test_three_currencies_in_one_transaction_are_refused(
    connection: asyncpg.Connection, household: HouseholdRows, conversions: Conversions
) -> None:
    h, c = household, conversions
    euros = await connection.fetchval(
        "INSERT INTO accounts (household_id, type, name, name_key, currency)"
        " VALUES ($1, 'asset', 'Euros', 'euros', 'EUR') RETURNING id",
        h.id,
    )
    legs = [*_dollars_for_groceries(h, c), debit(c.eur, 5), credit(Account(euros, "EUR"), 5)]
    before = await ledger_state(connection)

    with pytest.raises(CheckViolationError, match="more than two currencies"):
        await book(connection, h, legs, conversion=SPENT_IN_DOLLARS)

    await assert_nothing_written(connection, before)


@pytest.mark.parametrize(
    "conversion",
    [
        pytest.param(ConversionRow("USD", 2_100, "UAH", 87_150, Decimal("41.50")), id="amounts"),
        pytest.param(ConversionRow("EUR", 2_000, "UAH", 83_000, Decimal("41.50")), id="currency"),
    ],
)
async def test_a_conversion_the_postings_do_not_carry_out_is_refused(
    connection: asyncpg.Connection,
    household: HouseholdRows,
    conversions: Conversions,
    conversion: ConversionRow,
) -> None:
    before = await ledger_state(connection)

    with pytest.raises(CheckViolationError, match="does not carry out its conversion"):
        await book(
            connection,
            household,
            _dollars_for_groceries(household, conversions),
            conversion=conversion,
        )

    await assert_nothing_written(connection, before)


async def test_legs_that_bypass_the_conversion_accounts_are_refused(
    connection: asyncpg.Connection, household: HouseholdRows
) -> None:
    h = household
    other_dollars = await connection.fetchval(
        "INSERT INTO accounts (household_id, type, name, name_key, currency)"
        " VALUES ($1, 'asset', 'Stash', 'stash', 'USD') RETURNING id",
        h.id,
    )
    card_out = await connection.fetchval(
        "INSERT INTO accounts (household_id, type, name, name_key, currency)"
        " VALUES ($1, 'asset', 'Wallet', 'wallet', 'UAH') RETURNING id",
        h.id,
    )
    # Each currency balances between two asset accounts; nothing converts anything.
    legs = [
        debit(h.card, 83_000),
        credit(Account(card_out, "UAH"), 83_000),
        debit(Account(other_dollars, "USD"), 2_000),
        credit(h.dollars, 2_000),
    ]
    before = await ledger_state(connection)

    with pytest.raises(CheckViolationError, match="does not carry out its conversion"):
        await book(connection, h, legs, conversion=SPENT_IN_DOLLARS)

    await assert_nothing_written(connection, before)


async def test_a_rate_that_does_not_turn_one_amount_into_the_other_is_refused(
    connection: asyncpg.Connection, household: HouseholdRows, conversions: Conversions
) -> None:
    wrong_rate = ConversionRow("USD", 2_000, "UAH", 83_000, Decimal("41.60"))
    before = await ledger_state(connection)

    with pytest.raises(CheckViolationError, match="rate of transaction"):
        await book(
            connection,
            household,
            _dollars_for_groceries(household, conversions),
            conversion=wrong_rate,
        )

    await assert_nothing_written(connection, before)


async def test_a_foreign_price_paid_from_a_hryvnia_account_states_what_it_cost(
    connection: asyncpg.Connection, household: HouseholdRows
) -> None:
    h = household
    transaction_id = await book(
        connection,
        h,
        [debit(h.groceries, 83_000), credit(h.card, 83_000)],
        conversion=SPENT_IN_DOLLARS,
    )
    assert await connection.fetchval(
        "SELECT count(*) FROM conversions WHERE transaction_id = $1", transaction_id
    )
    before = await ledger_state(connection)

    # ... and may not claim a cost the postings do not show
    with pytest.raises(CheckViolationError, match="does not carry out its conversion"):
        await book(
            connection,
            h,
            [debit(h.groceries, 80_000), credit(h.card, 80_000)],
            conversion=SPENT_IN_DOLLARS,
        )

    await assert_nothing_written(connection, before)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE conversions SET rate = 42",
        "UPDATE conversions SET to_amount_minor = 84000, rate = 42",
        "DELETE FROM conversions",
        "TRUNCATE conversions",
    ],
)
async def test_a_stored_conversion_never_changes(
    connection: asyncpg.Connection,
    household: HouseholdRows,
    conversions: Conversions,
    statement: str,
) -> None:
    await book(
        connection,
        household,
        _dollars_for_groceries(household, conversions),
        conversion=SPENT_IN_DOLLARS,
    )
    before = await ledger_state(connection)

    with pytest.raises(IntegrityConstraintViolationError, match="append-only"):
        await connection.execute(statement)

    await assert_nothing_written(connection, before)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE exchange_rates SET rate = 1",
        "UPDATE exchange_rates SET valid_from = '2000-01-01'",
        "DELETE FROM exchange_rates",
        "TRUNCATE exchange_rates",
    ],
)
async def test_a_stored_rate_never_changes(
    connection: asyncpg.Connection, household: HouseholdRows, statement: str
) -> None:
    await connection.execute(
        "INSERT INTO exchange_rates (household_id, currency, valid_from, rate, source)"
        " VALUES ($1, 'USD', '2026-03-01', 41.5, 'manual')",
        household.id,
    )
    before = await ledger_state(connection)

    with pytest.raises(IntegrityConstraintViolationError, match="append-only"):
        await connection.execute(statement)

    await assert_nothing_written(connection, before)


async def test_a_conversion_cannot_be_added_to_a_committed_transaction(
    connection: asyncpg.Connection, household: HouseholdRows
) -> None:
    h = household
    transaction_id = await book(connection, h, [debit(h.groceries, 83_000), credit(h.card, 83_000)])
    before = await ledger_state(connection)

    with pytest.raises(IntegrityConstraintViolationError, match="can only be written with it"):
        await connection.execute(
            "INSERT INTO conversions VALUES ($1, 'USD', 2000, 'UAH', 83000, 41.5)", transaction_id
        )

    await assert_nothing_written(connection, before)


async def test_a_reversal_carries_its_originals_conversion(
    connection: asyncpg.Connection, household: HouseholdRows, conversions: Conversions
) -> None:
    h = household
    original = await book(
        connection, h, _dollars_for_groceries(h, conversions), conversion=SPENT_IN_DOLLARS
    )

    async def void_with(conversion: ConversionRow | None) -> None:
        async with connection.transaction():
            reversal = await add_transaction(
                connection,
                h,
                await mirror_of(connection, original),
                kind="reversal",
                voids=original,
                conversion=conversion,
            )
            await set_voided_by(connection, original, reversal)

    before = await ledger_state(connection)
    # Without the conversion, two currencies would be left unexplained.
    with pytest.raises(CheckViolationError, match="mixes currencies without a conversion"):
        await void_with(None)
    await assert_nothing_written(connection, before)

    # At another rate, the reversal would undo something else than what was done.
    other_rate = ConversionRow("USD", 2_000, "UAH", 83_000, Decimal("41.5000000001"))
    with pytest.raises(CheckViolationError, match="does not carry the conversion"):
        await void_with(other_rate)
    await assert_nothing_written(connection, before)

    await void_with(SPENT_IN_DOLLARS)
    assert await connection.fetchval("SELECT count(*) FROM conversions") == 2


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param(("expense", None, "USD", False), id="category_in_dollars"),
        pytest.param(("income", None, "EUR", False), id="income_category_in_euros"),
        pytest.param(("asset", "conversion:USD", "USD", False), id="conversion_not_equity"),
        pytest.param(("equity", "conversion:USD", "EUR", False), id="conversion_other_currency"),
        pytest.param(("equity", "conversion:USD", "USD", True), id="conversion_owned"),
    ],
)
async def test_accounts_that_would_break_the_base_currency_are_refused(
    connection: asyncpg.Connection,
    household: HouseholdRows,
    shape: tuple[str, str | None, str, bool],
) -> None:
    type_, code, currency, owner = shape
    before = await ledger_state(connection)

    with pytest.raises(CheckViolationError):
        await connection.execute(
            "INSERT INTO accounts (household_id, type, name, name_key, code, currency,"
            " owner_telegram_id) VALUES ($1, $2, 'x', 'x', $3, $4, $5)",
            household.id,
            type_,
            code,
            currency,
            household.member if owner else None,
        )

    await assert_nothing_written(connection, before)


async def test_an_unknown_currency_is_refused(
    connection: asyncpg.Connection, household: HouseholdRows
) -> None:
    before = await ledger_state(connection)

    with pytest.raises(ForeignKeyViolationError, match="accounts_currency_fk"):
        await connection.execute(
            "INSERT INTO accounts (household_id, type, name, name_key, currency)"
            " VALUES ($1, 'asset', 'Gold', 'gold', 'XAU')",
            household.id,
        )

    await assert_nothing_written(connection, before)
