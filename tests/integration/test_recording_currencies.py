"""Recording in several currencies on real PostgreSQL: the deferred checks accept what the
application writes, and `finance-bot check` finds nothing wrong afterwards."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from finance_bot.adapters.postgres.check import check_ledger
from finance_bot.adapters.rates.nbu import OfficialRates
from finance_bot.application.directory import add_account
from finance_bot.application.rates import list_rates, set_rate
from finance_bot.bootstrap import official_rates_storage
from finance_bot.domain.commands import RecordExpense, RecordTransfer
from finance_bot.domain.errors import NoRate, ReceivedAmountNeeded
from finance_bot.domain.money import Money
from tests.support.household import LedgerWorld, PostgresWorld, uah

pytestmark = pytest.mark.postgres
DAY = date(2026, 11, 20)


def usd(major: int | str) -> Money:
    return Money.from_decimal(Decimal(str(major)), "USD")


async def _ledger_is_sound(world: LedgerWorld) -> None:
    assert isinstance(world, PostgresWorld)
    async with world.pool.acquire() as connection:
        assert await check_ledger(connection) == []


async def _conversion(world: LedgerWorld, number: int, household_id: int) -> tuple[object, ...]:
    assert isinstance(world, PostgresWorld)
    async with world.pool.acquire() as connection:
        row = await connection.fetchrow(
            "SELECT c.from_currency, c.from_amount_minor, c.to_currency, c.to_amount_minor,"
            " c.rate FROM conversions c JOIN transactions t ON t.id = c.transaction_id"
            " WHERE t.household_id = $1 AND t.number = $2",
            household_id,
            number,
        )
    assert row is not None
    return tuple(row)


async def test_a_converted_expense_from_a_dollar_account(world: LedgerWorld) -> None:
    (alice, _) = await world.new_household()
    dollars = await add_account(
        alice, "доллары", shared=False, currency="USD", uow_factory=world.uow_factory
    )
    await set_rate(
        alice,
        "USD",
        Decimal("41.50"),
        today=DAY,
        idempotency_key=None,
        uow_factory=world.uow_factory,
    )
    accounts = await world.accounts(alice)
    household_id = await world.household_of(alice)
    line = RecordExpense(usd(20), accounts["cafe"].id, None, DAY)

    first = await world.record(line, alice, key=f"fx:{alice}:1")
    again = await world.record(line, alice, key=f"fx:{alice}:1")

    assert (first.number, again.number, again.replayed) == (1, 1, True)
    assert await world.balance(dollars.id) == -2000
    assert await world.balance(accounts["cafe"].id) == 83000
    assert await _conversion(world, 1, household_id) == (
        "USD",
        2000,
        "UAH",
        83000,
        Decimal("41.50"),
    )
    await _ledger_is_sound(world)

    await world.refile(1, accounts["products"].id, alice)
    await world.undo(alice)
    assert await world.balance(dollars.id) == 0
    assert await world.balance(accounts["products"].id) == 0
    await _ledger_is_sound(world)


async def test_a_converted_expense_from_the_base_card(world: LedgerWorld) -> None:
    (alice, _) = await world.new_household()
    await set_rate(
        alice,
        "USD",
        Decimal("41.50"),
        today=DAY,
        idempotency_key=None,
        uow_factory=world.uow_factory,
    )
    accounts = await world.accounts(alice)

    await world.record(RecordExpense(usd(20), accounts["cafe"].id, None, DAY), alice)

    assert await world.balance(accounts["card"].id) == -83000
    household_id = await world.household_of(alice)
    assert await _conversion(world, 1, household_id) == (
        "USD",
        2000,
        "UAH",
        83000,
        Decimal("41.50"),
    )
    await _ledger_is_sound(world)


async def test_an_exchange_records_its_rate_and_one_without_a_rate_asks(
    world: LedgerWorld,
) -> None:
    (alice, _) = await world.new_household()
    dollars = await add_account(
        alice, "доллары", shared=False, currency="USD", uow_factory=world.uow_factory
    )
    card = (await world.accounts(alice))["card"]
    with pytest.raises(ReceivedAmountNeeded):
        await world.record(RecordTransfer(usd(100), dollars.id, card.id, DAY), alice)
    with pytest.raises(NoRate):
        await world.record(RecordExpense(usd(5), None, None, DAY), alice)

    await world.record(
        RecordTransfer(usd(100), dollars.id, card.id, DAY, received=uah(4150)), alice
    )
    await world.record(RecordTransfer(usd(10), dollars.id, card.id, DAY), alice)

    assert await world.balance(dollars.id) == -11000
    assert await world.balance(card.id) == 415000 + 41500
    [rate] = (await list_rates(alice, uow_factory=world.uow_factory)).rates
    assert (rate.currency, rate.rate, rate.valid_from, rate.source) == (
        "USD",
        Decimal("41.5"),
        DAY,
        "exchange",
    )
    await _ledger_is_sound(world)


async def test_official_rates_are_stored_and_a_line_is_converted_at_them(
    world: LedgerWorld,
) -> None:
    (alice, _) = await world.new_household()
    official = OfficialRates(DAY, {"USD": Decimal("41.4984"), "XAU": Decimal("170000")})
    accounts = await world.accounts(alice)

    await official_rates_storage(world.uow_factory)(official)
    await world.record(RecordExpense(usd(10), accounts["cafe"].id, None, DAY), alice)

    rates = (await list_rates(alice, uow_factory=world.uow_factory)).rates
    assert [(r.currency, r.rate, r.source) for r in rates] == [
        ("USD", Decimal("41.4984"), "official")
    ]
    assert await world.balance(accounts["card"].id) == -41498  # 414.984 rounded half to even
    await _ledger_is_sound(world)
