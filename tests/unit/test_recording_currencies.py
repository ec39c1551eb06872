"""Recording in several currencies (docs/product.md §8), over the in-memory ledger: which
account pays, at which rate, what each leg holds, and what is refused with nothing written."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from finance_bot.application.budgets import set_budget
from finance_bot.application.directory import add_account
from finance_bot.application.rates import list_rates, set_rate, store_official_rates
from finance_bot.application.recording import record_all
from finance_bot.domain.accounts import Account, AccountType
from finance_bot.domain.commands import RecordCommand, RecordExpense, RecordIncome, RecordTransfer
from finance_bot.domain.errors import (
    CurrencyMismatch,
    NoRate,
    NotPayableFrom,
    ReceivedAmountNeeded,
    UnknownCurrency,
)
from finance_bot.domain.money import Money
from finance_bot.domain.transactions import Conversion, Transaction, TransactionKind
from tests.support.fakes import FakeUnitOfWork, FakeUnitOfWorkFactory
from tests.support.household import DAY, Household, fake_world, uah


def usd(major: int | str) -> Money:
    return Money.from_decimal(Decimal(str(major)), "USD")


def eur(major: int | str) -> Money:
    return Money.from_decimal(Decimal(str(major)), "EUR")


@pytest.fixture
async def home() -> Household:
    return await fake_world().household()


def _state(home: Household) -> Any:
    assert isinstance(home.world.uow_factory, FakeUnitOfWorkFactory)
    return home.world.uow_factory.state


def _transactions(home: Household) -> list[Transaction]:
    return sorted(_state(home).transactions.values(), key=lambda t: t.number)


async def _account(
    home: Household, name: str, currency: str, *, who: int = 0, shared: bool = False
) -> Account:
    return await add_account(
        who or home.alice, name, shared=shared, currency=currency, uow_factory=home.factory
    )


async def _rate(home: Household, currency: str, rate: str, *, on: date = DAY) -> None:
    await set_rate(
        home.alice,
        currency,
        Decimal(rate),
        today=on,
        idempotency_key=None,
        uow_factory=home.factory,
    )


async def _conversion_accounts(home: Household) -> dict[str, int]:
    return {
        a.currency: a.id
        for a in _state(home).accounts.values()
        if a.household_id == home.id and a.type is AccountType.EQUITY
    }


def _spend(
    home: Household,
    amount: Money,
    code: str = "cafe",
    *,
    account: int | None = None,
    on: date = DAY,
) -> RecordExpense:
    return RecordExpense(amount, home.accounts[code].id, account, on)


# Which account pays


async def test_foreign_expense_from_the_base_default_is_converted_at_the_rate(
    home: Household,
) -> None:
    await _rate(home, "USD", "41.50")

    recorded = await home.world.record(_spend(home, usd(20)), home.alice)

    [entry] = _transactions(home)
    assert entry.number == recorded.number == 1
    assert entry.conversion == Conversion(usd(20), uah(830), Decimal("41.50"))
    assert {p.amount for p in entry.postings} == {uah(830)}  # two legs, in the base
    assert await home.world.balance(home.accounts["card"].id) == -83000
    assert await home.world.balance(home.accounts["cafe"].id) == 83000
    assert entry.amount == uah(830)


async def test_foreign_expense_is_paid_from_the_authors_own_account_in_that_currency(
    home: Household,
) -> None:
    dollars = await _account(home, "доллары", "USD")
    await _account(home, "общие доллары", "USD", shared=True)
    await _rate(home, "USD", "41.50")

    await home.world.record(_spend(home, usd(20)), home.alice)

    [entry] = _transactions(home)
    trading = await _conversion_accounts(home)
    assert await home.world.balance(dollars.id) == -2000
    assert await home.world.balance(home.accounts["cafe"].id) == 83000
    assert await home.world.balance(trading["USD"]) == 2000
    assert await home.world.balance(trading["UAH"]) == -83000
    assert await home.world.balance(home.accounts["card"].id) == 0
    assert entry.conversion == Conversion(usd(20), uah(830), Decimal("41.50"))


async def test_a_shared_account_in_the_currency_pays_when_the_author_has_none(
    home: Household,
) -> None:
    await _account(home, "bobs dollars", "USD", who=home.bob)  # Alice cannot see it
    shared = await _account(home, "wise", "USD", shared=True)
    await _rate(home, "USD", "41.50")

    await home.world.record(_spend(home, usd(20)), home.alice)

    assert await home.world.balance(shared.id) == -2000


async def test_the_account_the_line_names_pays_converted(home: Household) -> None:
    await _account(home, "доллары", "USD")
    await _rate(home, "USD", "41.50")

    await home.world.record(_spend(home, usd(20), account=home.accounts["cash"].id), home.alice)

    assert await home.world.balance(home.accounts["cash"].id) == -83000


async def test_a_base_amount_from_a_foreign_account_charges_what_it_is_worth_there(
    home: Household,
) -> None:
    dollars = await _account(home, "доллары", "USD")
    await _rate(home, "USD", "41.50")

    await home.world.record(_spend(home, uah(830), account=dollars.id), home.alice)

    [entry] = _transactions(home)
    assert await home.world.balance(dollars.id) == -2000
    assert await home.world.balance(home.accounts["cafe"].id) == 83000
    assert entry.conversion is not None
    assert (entry.conversion.source, entry.conversion.target) == (usd(20), uah(830))


async def test_income_in_a_foreign_currency_lands_in_the_account_in_it(home: Household) -> None:
    dollars = await _account(home, "доллары", "USD")
    await _rate(home, "USD", "41.50")

    await home.world.record(
        RecordIncome(usd(100), home.accounts["salary"].id, None, DAY), home.alice
    )

    assert await home.world.balance(dollars.id) == 10000
    assert await home.world.balance(home.accounts["salary"].id) == -415000


# Refusals: nothing is written


async def test_an_amount_in_one_foreign_currency_from_an_account_in_another_is_refused(
    home: Household,
) -> None:
    dollars = await _account(home, "доллары", "USD")
    await _rate(home, "USD", "41.50")
    await _rate(home, "EUR", "45")

    with pytest.raises(NotPayableFrom) as refused:
        await home.world.record(_spend(home, eur(15), account=dollars.id), home.alice)

    assert (refused.value.currency, refused.value.account_currency, refused.value.base) == (
        "EUR",
        "USD",
        "UAH",
    )
    assert _transactions(home) == []


async def test_no_rate_for_the_currency_is_refused_and_nothing_is_written(
    home: Household,
) -> None:
    with pytest.raises(NoRate) as refused:
        await home.world.record(_spend(home, usd(20)), home.alice)

    assert refused.value.currency == "USD"
    assert _transactions(home) == []
    assert _state(home).households[home.id] == 0  # no number taken
    await _rate(home, "USD", "41.50")
    assert (await home.spend(10, "taxi")).number == 1


# Which rate


async def test_a_day_before_the_first_rate_uses_the_earliest_one_after_it(
    home: Household,
) -> None:
    await _rate(home, "USD", "41.50", on=DAY)
    await _rate(home, "USD", "42", on=DAY + timedelta(days=3))

    await home.world.record(_spend(home, usd(10), on=DAY - timedelta(days=1)), home.alice)

    [entry] = _transactions(home)
    assert entry.conversion is not None
    assert entry.conversion.rate == Decimal("41.50")


async def test_the_rate_in_force_on_the_booking_day_is_used(home: Household) -> None:
    await _rate(home, "USD", "40", on=DAY - timedelta(days=10))
    await _rate(home, "USD", "41.50", on=DAY)

    await home.world.record(_spend(home, usd(10), on=DAY - timedelta(days=5)), home.alice)
    await home.world.record(_spend(home, usd(10), on=DAY), home.alice)

    assert [t.amount for t in _transactions(home)] == [uah(400), uah("415.00")]


async def test_official_rates_are_stored_for_the_household_and_listed(home: Household) -> None:
    @dataclass
    class Official:
        day: date
        rates: dict[str, Decimal]

    official = Official(DAY, {"USD": Decimal("41.2"), "EUR": Decimal("44.9")})
    assert await store_official_rates(home.factory, official) == 2
    await _rate(home, "USD", "41.50")  # by hand, the same day: it wins

    view = await list_rates(home.alice, uow_factory=home.factory)

    assert view.base == "UAH"
    assert [(r.currency, r.rate, r.source) for r in view.rates] == [
        ("EUR", Decimal("44.9"), "official"),
        ("USD", Decimal("41.50"), "manual"),
    ]


async def test_a_rate_for_an_unknown_currency_is_refused(home: Household) -> None:
    with pytest.raises(UnknownCurrency):
        await _rate(home, "XAU", "100000")


# Exchanges


async def test_an_exchange_with_both_amounts_records_its_rate(home: Household) -> None:
    dollars = await _account(home, "доллары", "USD")
    card = home.accounts["card"]

    await home.world.record(
        RecordTransfer(usd(100), dollars.id, card.id, DAY, received=uah(4150)), home.alice
    )

    [entry] = _transactions(home)
    assert entry.kind is TransactionKind.TRANSFER
    assert entry.conversion == Conversion(usd(100), uah(4150), Decimal("41.5"))
    assert await home.world.balance(dollars.id) == -10000
    assert await home.world.balance(card.id) == 415000
    rates = (await list_rates(home.alice, uow_factory=home.factory)).rates
    assert [(r.currency, r.rate, r.valid_from, r.source) for r in rates] == [
        ("USD", Decimal("41.5"), DAY, "exchange")
    ]


async def test_an_exchange_into_the_foreign_currency_records_base_per_foreign_unit(
    home: Household,
) -> None:
    dollars = await _account(home, "доллары", "USD")

    await home.world.record(
        RecordTransfer(uah(4200), home.accounts["card"].id, dollars.id, DAY, received=usd(100)),
        home.alice,
    )

    [rate] = (await list_rates(home.alice, uow_factory=home.factory)).rates
    assert (rate.currency, rate.rate) == ("USD", Decimal("42"))
    assert await home.world.balance(dollars.id) == 10000


async def test_an_exchange_without_the_received_amount_uses_the_known_rate(
    home: Household,
) -> None:
    dollars = await _account(home, "доллары", "USD")
    await _rate(home, "USD", "41.50")

    await home.world.record(
        RecordTransfer(usd(100), dollars.id, home.accounts["card"].id, DAY), home.alice
    )

    assert await home.world.balance(home.accounts["card"].id) == 415000
    rates = (await list_rates(home.alice, uow_factory=home.factory)).rates
    assert [r.source for r in rates] == ["manual"]  # the rate used is not stored again


async def test_an_exchange_between_two_foreign_currencies_crosses_through_the_base(
    home: Household,
) -> None:
    dollars = await _account(home, "доллары", "USD")
    euros = await _account(home, "евро", "EUR")
    await _rate(home, "USD", "41.50")
    await _rate(home, "EUR", "45")

    await home.world.record(RecordTransfer(usd(100), dollars.id, euros.id, DAY), home.alice)

    assert await home.world.balance(euros.id) == 9222  # 4150 / 45 = 92.22
    [entry] = _transactions(home)
    assert entry.conversion is not None
    assert entry.conversion.target == eur("92.22")


async def test_an_exchange_with_no_rate_asks_for_the_received_amount(home: Household) -> None:
    dollars = await _account(home, "доллары", "USD")

    with pytest.raises(ReceivedAmountNeeded) as asked:
        await home.world.record(
            RecordTransfer(usd(100), dollars.id, home.accounts["card"].id, DAY), home.alice
        )

    assert (asked.value.amount, asked.value.source, asked.value.target) == (
        usd(100),
        "доллары",
        home.accounts["card"].name,
    )
    assert _transactions(home) == []


async def test_a_received_amount_in_another_currency_than_the_target_is_refused(
    home: Household,
) -> None:
    dollars = await _account(home, "доллары", "USD")
    with pytest.raises(CurrencyMismatch):
        await home.world.record(
            RecordTransfer(usd(100), dollars.id, home.accounts["card"].id, DAY, received=eur(90)),
            home.alice,
        )
    assert _transactions(home) == []


async def test_a_transfer_within_one_foreign_currency_needs_no_rate(home: Household) -> None:
    dollars = await _account(home, "доллары", "USD")
    wise = await _account(home, "wise", "USD", shared=True)

    await home.world.record(RecordTransfer(usd(50), dollars.id, wise.id, DAY), home.alice)

    [entry] = _transactions(home)
    assert entry.conversion is None
    assert await home.world.balance(wise.id) == 5000


# Corrections, replays, budgets, lists


async def test_undo_of_a_converted_entry_mirrors_every_leg_and_keeps_the_conversion(
    home: Household,
) -> None:
    dollars = await _account(home, "доллары", "USD")
    await _rate(home, "USD", "41.50")
    await home.world.record(_spend(home, usd(20)), home.alice)

    voided = await home.world.undo(home.alice)

    original, reversal = _transactions(home)
    assert voided.reversal_number == reversal.number == 2
    assert reversal.conversion == original.conversion
    assert original.voided_by_transaction_id == reversal.id
    for account_id in (
        dollars.id,
        home.accounts["cafe"].id,
        *(await _conversion_accounts(home)).values(),
    ):
        assert await home.world.balance(account_id) == 0


async def test_refile_of_a_converted_entry_moves_it_with_the_same_conversion(
    home: Household,
) -> None:
    dollars = await _account(home, "доллары", "USD")
    await _rate(home, "USD", "41.50")
    await home.world.record(_spend(home, usd(20)), home.alice)
    groceries = home.accounts["products"]

    refiled = await home.world.refile(1, groceries.id, home.alice)

    original, _reversal, moved = _transactions(home)
    assert refiled.recorded.number == moved.number == 3
    assert moved.conversion == original.conversion
    assert await home.world.balance(groceries.id) == 83000
    assert await home.world.balance(home.accounts["cafe"].id) == 0
    assert await home.world.balance(dollars.id) == -2000


async def test_a_replayed_update_records_a_converted_entry_once(home: Household) -> None:
    await _account(home, "доллары", "USD")
    await _rate(home, "USD", "41.50")

    first = await home.world.record(_spend(home, usd(20)), home.alice, key="update-1")
    again = await home.world.record(_spend(home, usd(20)), home.alice, key="update-1")

    assert (again.number, again.replayed, again.transaction_id) == (1, True, first.transaction_id)
    assert len(_transactions(home)) == 1


async def test_a_replayed_exchange_records_its_rate_once(home: Household) -> None:
    dollars = await _account(home, "доллары", "USD")
    line = RecordTransfer(usd(100), dollars.id, home.accounts["card"].id, DAY, received=uah(4150))

    await home.world.record(line, home.alice, key="update-2")
    await home.world.record(line, home.alice, key="update-2")

    assert len(_transactions(home)) == 1
    assert len(_state(home).rates) == 1


async def test_budgets_count_the_base_amount_of_a_converted_expense(home: Household) -> None:
    await _rate(home, "USD", "41.50")
    await set_budget(home.alice, home.accounts["cafe"].id, uah(1000), uow_factory=home.factory)

    recorded = await home.world.record(_spend(home, usd(20)), home.alice)

    [alert] = recorded.alerts
    assert (alert.threshold_pct, alert.spent) == (80, uah(830))


async def test_lines_of_one_message_may_be_in_several_currencies(home: Household) -> None:
    dollars = await _account(home, "доллары", "USD")
    await _rate(home, "USD", "41.50")
    lines: list[RecordCommand] = [
        _spend(home, uah(100), "taxi"),
        _spend(home, usd(20)),
        RecordTransfer(usd(10), dollars.id, home.accounts["cash"].id, DAY, received=uah(420)),
    ]

    recorded = await record_all(
        lines,
        author_telegram_id=home.alice,
        idempotency_key="many",
        uow_factory=home.factory,
        ids=home.ids,
    )

    assert [e.number for e in recorded.entries] == [1, 2, 3]
    assert await home.world.balance(dollars.id) == -3000
    kept = [(rate.rate, rate.source) for _, rate in _state(home).rates]
    assert kept == [(Decimal("41.50"), "manual"), (Decimal("42"), "exchange")]


async def test_no_rate_in_one_line_of_a_message_records_none_of_them(home: Household) -> None:
    lines: list[RecordCommand] = [_spend(home, uah(100), "taxi"), _spend(home, usd(20))]
    with pytest.raises(NoRate):
        await record_all(
            lines,
            author_telegram_id=home.alice,
            idempotency_key=None,
            uow_factory=home.factory,
            ids=home.ids,
        )
    assert _transactions(home) == []


# The hot path stays as it was


class _CountingFactory(FakeUnitOfWorkFactory):
    """Which units of work a use case opens, and whether it reads any rate."""

    def __init__(self, inner: FakeUnitOfWorkFactory) -> None:
        super().__init__(inner.state)
        self.opened: list[bool] = []
        self.rate_reads = 0

    def __call__(
        self,
        *,
        transactional: bool = True,
        person: int | None = None,
        household: int | None = None,
    ) -> FakeUnitOfWork:
        self.opened.append(transactional)
        unit = super().__call__(transactional=transactional, person=person, household=household)
        counter = self

        class _Counted(FakeUnitOfWork):
            async def __aenter__(self) -> _Counted:
                await super().__aenter__()
                original = self.rates.on

                async def on(*args: Any, **kwargs: Any) -> Any:
                    counter.rate_reads += 1
                    return await original(*args, **kwargs)

                self.rates.on = on  # type: ignore[method-assign]
                return self

        unit.__class__ = _Counted
        return unit


async def test_a_line_in_the_base_currency_reads_once_and_writes_once_with_no_rate(
    home: Household,
) -> None:
    await _rate(home, "USD", "41.50")
    assert isinstance(home.world.uow_factory, FakeUnitOfWorkFactory)
    counting = _CountingFactory(home.world.uow_factory)
    home.world.uow_factory = counting

    await home.world.record(_spend(home, uah(250)), home.alice, key="plain")

    # One unit of work and no BEGIN: the binding, one read, one statement.
    assert counting.opened == [False]
    assert counting.rate_reads == 0


@pytest.mark.parametrize("from_dollars", [False, True], ids=["from_card", "from_dollars"])
async def test_a_foreign_line_whose_rate_and_accounts_exist_is_stored_in_one_statement(
    home: Household, from_dollars: bool
) -> None:
    await _rate(home, "USD", "41.50")
    if from_dollars:
        await _account(home, "доллары", "USD")
    assert isinstance(home.world.uow_factory, FakeUnitOfWorkFactory)
    counting = _CountingFactory(home.world.uow_factory)
    home.world.uow_factory = counting

    await home.world.record(_spend(home, usd(20)), home.alice, key="dollars")

    # The first read brought the rate and the accounts: no transaction, no rate read.
    assert counting.opened == [False]
    assert counting.rate_reads == 0
    [spent] = [t for t in _transactions(home) if t.conversion is not None]
    assert spent.amount == uah("830")
    assert len(spent.postings) == (4 if from_dollars else 2)


async def test_a_foreign_line_that_must_make_a_conversion_account_takes_a_unit_of_work(
    home: Household,
) -> None:
    await _rate(home, "USD", "41.50")
    dollars = await _account(home, "доллары", "USD")
    for account in list(_state(home).accounts.values()):  # as before any conversion
        if (account.code or "").startswith("conversion:"):
            del _state(home).accounts[account.id]
    assert isinstance(home.world.uow_factory, FakeUnitOfWorkFactory)
    counting = _CountingFactory(home.world.uow_factory)
    home.world.uow_factory = counting

    await home.world.record(_spend(home, usd(20)), home.alice, key="first")

    assert True in counting.opened  # a unit of work made the conversion accounts
    [spent] = [t for t in _transactions(home) if t.conversion is not None]
    assert dollars.id in {p.account_id for p in spent.postings}
