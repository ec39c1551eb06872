"""Reports, balances, budgets and their alerts, on real PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from finance_bot.application.budgets import budget_progress, remove_budget, set_budget
from finance_bot.application.reports import balances, last_transactions, period_report
from finance_bot.domain.commands import RecordIncome, RecordTransfer
from finance_bot.domain.money import Money
from finance_bot.domain.periods import PeriodKind
from tests.support.household import LedgerWorld, expense_command, uah

pytestmark = pytest.mark.postgres
TODAY = date(2026, 11, 20)


async def test_month_report_sums_by_category_and_person_without_voided(
    world: LedgerWorld,
) -> None:
    (alice, bob) = await world.new_household()
    accounts = await world.accounts(alice)
    cafe, taxi, salary = accounts["cafe"].id, accounts["taxi"].id, accounts["salary"].id
    await world.record(expense_command(uah(100), cafe, on=date(2026, 11, 1)), alice)
    await world.record(expense_command(uah(50), taxi, on=date(2026, 11, 30)), bob)
    voided = await world.record(expense_command(uah(999), cafe, on=date(2026, 11, 3)), alice)
    await world.void(voided.number, alice)
    await world.record(expense_command(uah(70), cafe, on=date(2026, 10, 31)), alice)  # October
    await world.record(expense_command(uah(5), cafe, on=date(2026, 12, 1)), alice)  # December
    await world.record(RecordIncome(uah(1000), salary, None, date(2026, 11, 5)), bob)
    card, cash = accounts["card"].id, accounts["cash"].id
    await world.record(RecordTransfer(uah(300), card, cash, date(2026, 11, 6)), alice)

    report = await period_report(
        alice,
        PeriodKind.MONTH,
        date(2026, 11, 15),
        only_me=False,
        today=TODAY,
        currency="UAH",
        uow_factory=world.uow_factory,
    )

    totals = report.totals
    assert totals.spending == uah(150)
    assert totals.income == uah(1000)
    assert [(line.key, line.amount) for line in totals.by_category] == [
        (cafe, uah(100)),
        (taxi, uah(50)),
    ]
    assert {line.key: line.amount for line in totals.by_person} == {
        alice: uah(100),
        bob: uah(50),
    }
    assert report.previous is not None
    assert report.previous.spending == uah(70)
    assert report.accounts[cafe].code == "cafe"


async def test_me_limits_the_report_to_the_asker(world: LedgerWorld) -> None:
    (alice, bob) = await world.new_household()
    cafe = (await world.accounts(alice))["cafe"].id
    await world.record(expense_command(uah(10), cafe, on=TODAY), alice)
    await world.record(expense_command(uah(20), cafe, on=TODAY), bob)
    mine = await period_report(
        bob,
        PeriodKind.DAY,
        TODAY,
        only_me=True,
        today=TODAY,
        currency="UAH",
        uow_factory=world.uow_factory,
    )
    everyone = await period_report(
        bob,
        PeriodKind.WEEK,
        TODAY,
        only_me=False,
        today=TODAY,
        currency="UAH",
        uow_factory=world.uow_factory,
    )
    assert mine.totals.spending == uah(20)
    assert mine.previous is None
    assert everyone.totals.spending == uah(30)


async def test_balance_shows_own_and_shared_accounts_and_their_total(
    world: LedgerWorld,
) -> None:
    (alice, bob) = await world.new_household()
    alices, bobs = await world.accounts(alice), await world.accounts(bob)
    await world.record(RecordIncome(uah(500), alices["salary"].id, None, TODAY), alice)
    await world.record(expense_command(uah(20), bobs["cafe"].id, on=TODAY), bob)
    view = await balances(alice, currency="UAH", uow_factory=world.uow_factory)
    shown = {line.account.id: line.balance for line in view.accounts}
    assert shown == {alices["card"].id: uah(500), alices["cash"].id: Money.zero("UAH")}
    assert view.total == uah(500)  # Bob's card (−20) is neither listed nor counted
    bobs_view = await balances(bob, currency="UAH", uow_factory=world.uow_factory)
    assert bobs_view.total == uah(-20)


async def test_last_lists_live_transactions_newest_first(world: LedgerWorld) -> None:
    (alice, _) = await world.new_household()
    cafe = (await world.accounts(alice))["cafe"].id
    for amount in (1, 2, 3, 4):
        await world.record(expense_command(uah(amount), cafe, on=TODAY, note=f"n{amount}"), alice)
    await world.void(4, alice)
    lines, accounts = await last_transactions(
        alice, 2, only_me=False, uow_factory=world.uow_factory
    )
    assert [(line.number, line.amount, line.note) for line in lines] == [
        (3, uah(3), "n3"),
        (2, uah(2), "n2"),
    ]
    assert accounts[lines[0].debit_account_id].code == "cafe"


async def test_budget_progress_and_safe_to_spend_per_day(world: LedgerWorld) -> None:
    (alice, _) = await world.new_household()
    cafe = (await world.accounts(alice))["cafe"].id
    await set_budget(alice, cafe, uah(1100), uow_factory=world.uow_factory)
    await set_budget(alice, None, uah(5000), uow_factory=world.uow_factory)
    await world.record(expense_command(uah(100), cafe, on=date(2026, 11, 2)), alice)
    lines = await budget_progress(alice, TODAY, today=TODAY, uow_factory=world.uow_factory)
    total, cafe_line = lines
    assert total.category_id is None
    assert total.remaining == uah(4900)
    # 20 Nov .. 30 Nov is 11 days, today included
    assert total.safe_per_day == Money(4900_00 // 11, "UAH")
    assert (cafe_line.spent, cafe_line.remaining, cafe_line.safe_per_day) == (
        uah(100),
        uah(1000),
        Money(1000_00 // 11, "UAH"),
    )
    assert await remove_budget(alice, cafe, uow_factory=world.uow_factory)
    assert not await remove_budget(alice, cafe, uow_factory=world.uow_factory)


async def test_budget_alerts_fire_once_per_threshold_per_month(world: LedgerWorld) -> None:
    (alice, bob) = await world.new_household()
    cafe = (await world.accounts(alice))["cafe"].id
    await set_budget(alice, cafe, uah(100), uow_factory=world.uow_factory)
    first = await world.record(expense_command(uah(79), cafe, on=TODAY), alice)
    crossing_80 = await world.record(expense_command(uah(1), cafe, on=TODAY), bob)
    again_80 = await world.record(expense_command(uah(1), cafe, on=TODAY), alice)
    crossing_100 = await world.record(expense_command(uah(30), cafe, on=TODAY), alice)
    after = await world.record(expense_command(uah(30), cafe, on=TODAY), alice)
    next_month = await world.record(expense_command(uah(200), cafe, on=date(2026, 12, 1)), alice)
    assert first.alerts == ()
    assert [(a.category_id, a.threshold_pct) for a in crossing_80.alerts] == [(cafe, 80)]
    assert again_80.alerts == ()
    assert [a.threshold_pct for a in crossing_100.alerts] == [100]
    assert crossing_100.alerts[0].spent == uah(111)
    assert after.alerts == ()
    # 80 % and 100 % passed at once: one alert, naming the highest (issue 9)
    assert [a.threshold_pct for a in next_month.alerts] == [100]


async def test_an_alert_once_though_a_voided_expense_is_entered_again(
    world: LedgerWorld,
) -> None:
    (alice, bob) = await world.new_household()
    cafe = (await world.accounts(alice))["cafe"].id
    await set_budget(alice, cafe, uah(100), uow_factory=world.uow_factory)
    crossing = await world.record(expense_command(uah(80), cafe, on=TODAY), alice)
    assert [a.threshold_pct for a in crossing.alerts] == [80]  # exactly 80 % is past it
    await world.void(crossing.number, alice)  # back to nothing spent
    lines = await budget_progress(alice, TODAY, today=TODAY, uow_factory=world.uow_factory)
    assert [line.spent for line in lines] == [uah(0)]
    again = await world.record(expense_command(uah(80), cafe, on=TODAY), bob, key=f"{bob}:1")
    assert again.alerts == ()  # 80 % was announced this month already
    # exactly the limit, in an update Telegram then delivers again
    full = await world.record(expense_command(uah(20), cafe, on=TODAY), bob, key=f"{bob}:2")
    replayed = await world.record(expense_command(uah(20), cafe, on=TODAY), bob, key=f"{bob}:2")
    assert [(a.threshold_pct, a.spent, a.limit) for a in full.alerts] == [(100, uah(100), uah(100))]
    assert replayed.replayed
    assert (replayed.number, replayed.alerts) == (full.number, full.alerts)
    lines = await budget_progress(alice, TODAY, today=TODAY, uow_factory=world.uow_factory)
    assert [(line.spent, line.remaining, line.used_pct) for line in lines] == [
        (uah(100), uah(0), 100)
    ]
    assert lines[0].safe_per_day == uah(0)
