"""The use cases against the in-memory fake: no database, the whole file runs in well under
a second. The contract test (tests/integration/test_repository_contract.py) keeps the fake
honest against PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from finance_bot.application.budgets import budget_progress, remove_budget, set_budget
from finance_bot.application.corrections import refile, undo_last
from finance_bot.application.directory import archive_account
from finance_bot.application.household import (
    join_household,
    vocabulary,
)
from finance_bot.application.recording import record
from finance_bot.application.reports import (
    balances,
    last_transactions,
    period_report,
    spending_chart,
)
from finance_bot.domain.commands import RecordExpense, RecordIncome, RecordTransfer
from finance_bot.domain.errors import (
    AlreadyVoided,
    DefaultAccountKept,
    NothingToUndo,
    NotTheAuthor,
    ReversalCannotBeVoided,
    TransactionNotFound,
    WrongCategoryKind,
)
from finance_bot.domain.periods import PeriodKind
from tests.support.fakes import FakeUnitOfWorkFactory
from tests.support.household import Household, fake_world, uah

DAY = date(2024, 5, 10)


@pytest.fixture
async def home() -> Household:
    return await fake_world().household()


async def test_expense_income_and_transfer_are_numbered_and_move_balances(home: Household) -> None:
    accounts = await home.world.accounts(home.alice)
    spent = await home.spend(120, "coffee")
    earned = await record(
        RecordIncome(uah(1000), accounts["salary"].id, None, DAY),
        author_telegram_id=home.alice,
        idempotency_key=None,
        uow_factory=home.factory,
        ids=home.ids,
    )
    moved = await record(
        RecordTransfer(uah(300), accounts["card"].id, accounts["cash"].id, DAY),
        author_telegram_id=home.alice,
        idempotency_key=None,
        uow_factory=home.factory,
        ids=home.ids,
    )
    assert (spent.number, earned.number, moved.number) == (1, 2, 3)
    view = await balances(home.alice, currency="UAH", uow_factory=home.factory)
    mine = {line.account.code: line.balance for line in view.accounts}
    assert mine == {"card": uah(1000 - 120 - 300), "cash": uah(300)}
    assert view.total == uah(880)
    bobs = await balances(home.bob, currency="UAH", uow_factory=home.factory)
    assert {line.balance for line in bobs.accounts} == {uah(0)}
    assert bobs.total == uah(0)  # the total counts only the accounts Bob is shown


async def test_replayed_key_returns_the_first_result_and_writes_nothing(home: Household) -> None:
    first = await home.spend(50, "taxi", key="k1")
    again = await home.spend(70, "coffee", key="k1")
    assert (again.transaction_id, again.number, again.replayed) == (first.transaction_id, 1, True)
    lines, _ = await last_transactions(home.alice, 10, only_me=False, uow_factory=home.factory)
    assert [(line.number, line.amount) for line in lines] == [(1, uah(50))]


async def test_void_rules(home: Household) -> None:
    await home.spend(40, "cafe")
    voided = await home.void(1, key="v1")
    assert (voided.number, voided.reversal_number) == (1, 2)
    assert (await home.void(1, key="v1")).replayed  # same key: the first answer
    with pytest.raises(AlreadyVoided):
        await home.void(1)
    with pytest.raises(ReversalCannotBeVoided):
        await home.void(2)
    await home.spend(10, "taxi", who=home.bob)
    with pytest.raises(NotTheAuthor):
        await home.void(3)
    with pytest.raises(TransactionNotFound):
        await home.void(99)
    view = await balances(home.alice, currency="UAH", uow_factory=home.factory)
    assert view.total == uah(0)
    bobs = await balances(home.bob, currency="UAH", uow_factory=home.factory)
    assert bobs.total == uah(-10)


async def test_undo_last_voids_the_authors_latest(home: Household) -> None:
    with pytest.raises(NothingToUndo):
        await undo_last(
            author_telegram_id=home.alice,
            idempotency_key=None,
            uow_factory=home.factory,
            ids=home.ids,
        )
    await home.spend(10, "coffee")
    await home.spend(20, "taxi")
    await home.spend(30, "taxi", who=home.bob)
    undone = await undo_last(
        author_telegram_id=home.alice,
        idempotency_key=None,
        uow_factory=home.factory,
        ids=home.ids,
    )
    assert (undone.number, undone.reversal_number) == (2, 4)
    lines, _ = await last_transactions(home.alice, 10, only_me=False, uow_factory=home.factory)
    assert [line.number for line in lines] == [3, 1]


async def test_refile_moves_the_entry_and_learns_the_alias(home: Household) -> None:
    accounts = await home.world.accounts(home.alice)
    await home.spend(99, None, note="шаурма у метро")  # no alias: "other"
    moved = await refile(
        1,
        accounts["cafe"].id,
        author_telegram_id=home.alice,
        idempotency_key=None,
        uow_factory=home.factory,
        ids=home.ids,
    )
    assert (moved.voided_number, moved.recorded.number, moved.learned_alias) == (1, 3, "шаурма")
    words = await vocabulary(home.alice, uow_factory=home.factory)
    assert words.expense_aliases["шаурма"] == accounts["cafe"].id
    report = await period_report(
        home.alice,
        PeriodKind.MONTH,
        DAY,
        only_me=False,
        today=DAY,
        currency="UAH",
        uow_factory=home.factory,
    )
    assert [(x.key, x.amount) for x in report.totals.by_category] == [
        (accounts["cafe"].id, uah(99))
    ]
    lines, _ = await last_transactions(home.alice, 5, only_me=True, uow_factory=home.factory)
    assert [(line.number, line.note) for line in lines] == [(3, "у метро")]


async def test_budget_alerts_fire_once_at_80_and_100_percent(home: Household) -> None:
    taxi = (await home.world.accounts(home.alice))["taxi"].id
    await set_budget(home.alice, taxi, uah(100), uow_factory=home.factory)
    await set_budget(home.alice, None, uah(1000), uow_factory=home.factory)
    assert not (await home.spend(50, "taxi")).alerts
    crossed = (await home.spend(35, "taxi")).alerts
    assert [(a.category_id, a.threshold_pct, a.spent) for a in crossed] == [(taxi, 80, uah(85))]
    assert [a.threshold_pct for a in (await home.spend(20, "taxi")).alerts] == [100]
    await home.void(3)
    assert not (await home.spend(20, "taxi")).alerts  # crossed 100 % again: once a month
    assert [a.threshold_pct for a in (await home.spend(700, "coffee")).alerts] == [80]
    june = await home.spend(90, "taxi", on=date(2024, 6, 1))
    assert [a.threshold_pct for a in june.alerts] == [80]  # a new month
    progress = await budget_progress(home.alice, DAY, today=DAY, uow_factory=home.factory)
    assert [(line.category_id, line.spent) for line in progress] == [
        (None, uah(805)),
        (taxi, uah(105)),
    ]
    assert await remove_budget(home.alice, taxi, uow_factory=home.factory)
    assert not await remove_budget(home.alice, taxi, uow_factory=home.factory)


async def test_reports_per_category_and_person_with_the_previous_month(home: Household) -> None:
    accounts = await home.world.accounts(home.alice)
    await home.spend(100, "taxi", on=date(2024, 4, 30))
    await home.spend(30, "coffee")
    await home.spend(50, "taxi", who=home.bob)
    await home.spend(500, "cafe")
    await home.void(4)  # voided: left out of every total
    report = await period_report(
        home.alice,
        PeriodKind.MONTH,
        DAY,
        only_me=False,
        today=DAY,
        currency="UAH",
        uow_factory=home.factory,
    )
    totals = report.totals
    assert totals.spending == uah(80)
    assert [(x.key, x.amount) for x in totals.by_category] == [
        (accounts["taxi"].id, uah(50)),
        (accounts["coffee"].id, uah(30)),
    ]
    assert [(x.key, x.amount) for x in totals.by_person] == [
        (home.bob, uah(50)),
        (home.alice, uah(30)),
    ]
    assert report.previous is not None
    assert report.previous.spending == uah(100)
    mine = await period_report(
        home.alice,
        PeriodKind.MONTH,
        DAY,
        only_me=True,
        today=DAY,
        currency="UAH",
        uow_factory=home.factory,
    )
    assert mine.totals.spending == uah(30)
    assert mine.budgets == ()


async def test_a_chart_adds_up_each_day_against_the_month_before(home: Household) -> None:
    await home.spend(100, "taxi", on=date(2024, 4, 2))
    await home.spend(30, "coffee", on=date(2024, 5, 1))
    await home.spend(50, "taxi", who=home.bob, on=date(2024, 5, 3))
    await home.spend(500, "cafe", on=date(2024, 5, 3))
    await home.void(4)  # voided: not on the chart either
    await set_budget(home.alice, None, uah(2000), uow_factory=home.factory)
    chart = await spending_chart(
        home.alice,
        PeriodKind.MONTH,
        DAY,
        only_me=False,
        today=DAY,
        currency="UAH",
        uow_factory=home.factory,
    )
    assert chart.report.totals.spending == uah(80)
    # May under way: its line stops at today, the 10th; April's runs its 30 days
    assert chart.cumulative == (uah(30), uah(30), *[uah(80)] * 8)
    assert len(chart.previous_cumulative) == 30
    assert chart.previous_cumulative[0] == uah(0)
    assert set(chart.previous_cumulative[1:]) == {uah(100)}
    assert chart.budget == uah(2000)
    assert not chart.empty

    mine = await spending_chart(
        home.alice,
        PeriodKind.WEEK,
        date(2024, 5, 1),
        only_me=True,
        today=DAY,
        currency="UAH",
        uow_factory=home.factory,
    )
    # the week of 29 April to 5 May is over; no budget on a week, nor on "me"
    assert mine.cumulative == (uah(0), uah(0), uah(30), uah(30), uah(30), uah(30), uah(30))
    assert len(mine.previous_cumulative) == 7
    assert mine.budget is None
    empty = await spending_chart(
        home.alice,
        PeriodKind.YEAR,
        date(2023, 1, 1),
        only_me=False,
        today=DAY,
        currency="UAH",
        uow_factory=home.factory,
    )
    assert empty.empty
    assert len(empty.cumulative) == 365


async def test_join_household_makes_one_household_for_everyone() -> None:
    factory = FakeUnitOfWorkFactory()
    first = await join_household(10, language="en", currency="EUR", uow_factory=factory)
    second = await join_household(
        11, language="en", currency="EUR", uow_factory=factory, display_name="Bob"
    )
    again = await join_household(
        11, language="en", currency="EUR", uow_factory=factory, display_name="Bob"
    )
    assert first.household_id == second.household_id
    assert again == second
    assert again.display_name == "Bob"


async def test_the_default_account_cannot_be_archived(home: Household) -> None:
    card = home.accounts["card"]
    with pytest.raises(DefaultAccountKept) as refused:
        await archive_account(home.alice, card.name, uow_factory=home.factory)
    assert refused.value.name == card.name
    assert card.id in {a.id for a in (await home.world.accounts(home.alice)).values()}


async def test_a_category_of_the_other_kind_is_refused_by_name(home: Household) -> None:
    salary, cafe = home.accounts["salary"], home.accounts["cafe"]
    with pytest.raises(WrongCategoryKind):
        await home.world.record(RecordExpense(uah(5), salary.id, None, DAY), home.alice)
    with pytest.raises(WrongCategoryKind):
        await home.world.record(RecordIncome(uah(5), cafe.id, None, DAY), home.alice)
    with pytest.raises(WrongCategoryKind):
        await set_budget(home.alice, salary.id, uah(100), uow_factory=home.factory)
    await home.spend(40, "cafe")
    with pytest.raises(WrongCategoryKind):
        await home.world.refile(1, salary.id, home.alice)
    await home.world.record(
        RecordTransfer(uah(5), home.accounts["card"].id, home.accounts["cash"].id, DAY),
        home.alice,
    )
    with pytest.raises(WrongCategoryKind):
        await home.world.refile(2, cafe.id, home.alice)
    lines, _ = await last_transactions(home.alice, 10, only_me=False, uow_factory=home.factory)
    assert [line.number for line in lines] == [2, 1]
