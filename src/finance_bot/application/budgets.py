"""Monthly budgets: limits, progress, safe-to-spend per day, and the 80 % / 100 % alerts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from finance_bot.application.household import require_member
from finance_bot.application.results import BudgetAlert, Done
from finance_bot.domain.accounts import AccountType
from finance_bot.domain.errors import UnknownCategory, WrongCategoryKind
from finance_bot.domain.money import Money
from finance_bot.domain.periods import Period, PeriodKind, month_start
from finance_bot.domain.transactions import Transaction, TransactionKind
from finance_bot.ports.records import Budget
from finance_bot.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

ALERT_THRESHOLDS_PCT = (80, 100)


@dataclass(frozen=True, slots=True)
class BudgetLine:
    category_id: int | None  # None: the household's total
    limit: Money
    spent: Money
    remaining: Money  # negative when over the limit
    safe_per_day: Money | None  # what may still be spent each remaining day; None outside the month

    @property
    def used_pct(self) -> int:
        return self.spent.amount_minor * 100 // self.limit.amount_minor


async def set_budget(
    telegram_id: int, category_id: int | None, limit: Money, *, uow_factory: UnitOfWorkFactory
) -> Done:
    async with uow_factory(person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        if category_id is not None:
            await _expense_category(uow, member.household_id, category_id)
        await uow.budgets.set(member.household_id, category_id, limit)
        await uow.commit()
        return Done()


async def remove_budget(
    telegram_id: int, category_id: int | None, *, uow_factory: UnitOfWorkFactory
) -> bool:
    async with uow_factory(person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        removed = await uow.budgets.remove(member.household_id, category_id)
        await uow.commit()
        return removed


async def budget_progress(
    telegram_id: int, month: date, *, today: date, uow_factory: UnitOfWorkFactory
) -> list[BudgetLine]:
    async with uow_factory(transactional=False, person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        return await budget_lines(uow, member.household_id, month, today=today)


async def budget_lines(
    uow: UnitOfWork, household_id: int, month: date, *, today: date
) -> list[BudgetLine]:
    budgets = await uow.budgets.all(household_id)
    if not budgets:
        return []
    period = Period.containing(PeriodKind.MONTH, month)
    currency = budgets[0].limit.currency
    spent = await uow.reports.category_spending(
        household_id, period.start, period.end, currency=currency
    )
    lines = []
    for budget in budgets:
        used = spent.get(budget.category_id, Money.zero(budget.limit.currency))
        remaining = budget.limit - used
        safe_per_day = None
        if period.contains(today):
            days_left = (period.end - today).days
            positive = max(remaining.amount_minor, 0)
            safe_per_day = Money(positive // days_left, remaining.currency)
        lines.append(BudgetLine(budget.category_id, budget.limit, used, remaining, safe_per_day))
    # the total first, then the most used
    lines.sort(key=lambda line: (line.category_id is not None, -line.used_pct))
    return lines


def watched(transaction: Transaction, budgets: Sequence[Budget]) -> bool:
    """Whether this transaction is spending that some budget keeps an eye on."""
    return bool(_watching(transaction, budgets))


def _watching(transaction: Transaction, budgets: Sequence[Budget]) -> list[Budget]:
    if transaction.kind is not TransactionKind.EXPENSE:
        return []
    category_ids = {p.account_id for p in transaction.postings}
    return [
        b
        for b in budgets
        if (b.category_id is None or b.category_id in category_ids)
        and b.limit.currency == transaction.amount.currency
    ]


async def crossed_thresholds(
    uow: UnitOfWork, transaction: Transaction, budgets: Sequence[Budget] | None = None
) -> tuple[BudgetAlert, ...]:
    """The alerts this expense triggers, each recorded so it is sent once per month.

    `budgets`, when the caller has read them already, saves a round trip.
    """
    if transaction.kind is not TransactionKind.EXPENSE:
        return ()
    if budgets is None:
        budgets = await uow.budgets.all(transaction.household_id)
    budgets = _watching(transaction, budgets)
    if not budgets:
        return ()
    month = month_start(transaction.booked_on)
    period = Period.containing(PeriodKind.MONTH, month)
    spent = await uow.reports.category_spending(
        transaction.household_id, period.start, period.end, currency=transaction.amount.currency
    )
    alerts = []
    for budget in budgets:
        after = spent.get(budget.category_id, Money.zero(budget.limit.currency))
        before = after - transaction.amount
        crossed = [
            pct
            for pct in ALERT_THRESHOLDS_PCT
            if before.amount_minor * 100
            < budget.limit.amount_minor * pct
            <= after.amount_minor * 100
        ]
        # Every threshold crossed is remembered, but one expense that passes 80 % and
        # 100 % at once is announced once, naming the highest that was news.
        news = [
            pct
            for pct in crossed
            if await uow.budgets.record_alert(
                transaction.household_id, budget.category_id, month, pct
            )
        ]
        if news:
            alerts.append(BudgetAlert(budget.category_id, max(news), after, budget.limit, month))
    return tuple(alerts)


async def _expense_category(uow: UnitOfWork, household_id: int, category_id: int) -> None:
    category = await uow.directory.account(category_id)
    if category is None or category.household_id != household_id:
        raise UnknownCategory("")
    if category.type is not AccountType.EXPENSE:
        raise WrongCategoryKind(category.name)


# Who heard an update's alerts: a key of its own per member, under the update's key,
# claimed once their alert was delivered. A redelivered update replays its alerts from the
# stored answer; these keys spare the members who had them. Claimed after the send, never
# before it: a crash in between repeats an alert, it cannot lose one.
_EVER = datetime(2000, 1, 1, tzinfo=UTC)  # every such key: they are pruned with the update's


def _alerted_prefix(key: str) -> str:
    return f"{key}/alerted:"


async def members_alerted(key: str, *, uow_factory: UnitOfWorkFactory) -> set[int]:
    """The members an earlier delivery of the update `key` told of its budget alerts."""
    prefix = _alerted_prefix(key)
    async with uow_factory(transactional=False) as uow:
        keys = await uow.idempotency.claimed_since(prefix, _EVER)
    return {int(found.removeprefix(prefix)) for found in keys}


async def remember_alerted(key: str, telegram_id: int, *, uow_factory: UnitOfWorkFactory) -> None:
    """The member's alert of the update `key` was delivered."""
    async with uow_factory(transactional=False) as uow:
        await uow.idempotency.claim(f"{_alerted_prefix(key)}{telegram_id}")
