"""The read side: period reports and their charts, balances, the last transactions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

from finance_bot.application.budgets import BudgetLine, budget_lines
from finance_bot.application.household import require_member, visible_to
from finance_bot.application.results import TransactionView
from finance_bot.domain.accounts import Account, AccountType
from finance_bot.domain.errors import NotAMember, TransactionNotFound
from finance_bot.domain.money import Money
from finance_bot.domain.periods import Period, PeriodKind
from finance_bot.domain.transactions import EXACT, rounded
from finance_bot.ports.records import AccountBalance, PeriodTotals, Rate, TransactionLine
from finance_bot.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class PeriodReport:
    period: Period
    only_telegram_id: int | None  # the report is limited to this person ("… me")
    totals: PeriodTotals
    previous: PeriodTotals | None  # months and years compare with the period before
    budgets: tuple[BudgetLine, ...]
    accounts: dict[int, Account]  # every category and account of the household, by id
    # What entries typed in other currencies brought to each category, as typed: the
    # category's total already counts them in the base currency, at their recorded rates.
    foreign: dict[int, tuple[Money, ...]] = field(default_factory=dict)

    @property
    def foreign_spending(self) -> tuple[Money, ...]:
        return _sum_parts(self.foreign.get(line.key, ()) for line in self.totals.by_category)

    @property
    def foreign_income(self) -> tuple[Money, ...]:
        return _sum_parts(self.foreign.get(line.key, ()) for line in self.totals.income_by_category)


def _sum_parts(parts: Iterable[tuple[Money, ...]]) -> tuple[Money, ...]:
    """Amounts per currency, added up, by currency code."""
    sums: dict[str, Money] = {}
    for amounts in parts:
        for amount in amounts:
            sums[amount.currency] = sums.get(amount.currency, Money.zero(amount.currency)) + amount
    return tuple(sums[code] for code in sorted(sums))


@dataclass(frozen=True, slots=True)
class BalanceView:
    """The asker's own accounts and the shared ones, and what they add up to.

    The total is exactly the sum of the accounts listed (ADR 0010): another member's
    personal accounts are theirs to see, so they are neither listed nor counted.
    """

    accounts: tuple[AccountBalance, ...]  # what the asker can see, each in its own currency
    # Assets less liabilities of those accounts in the household's currency; the accounts
    # in other currencies counted at the latest rates, so the total is only approximate.
    total: Money
    rates: tuple[Rate, ...] = ()  # the rates the total used, by currency code
    left_out: tuple[Account, ...] = ()  # accounts with money in a currency that has no rate

    @property
    def approximate(self) -> bool:
        return bool(self.rates)


async def period_report(
    telegram_id: int,
    kind: PeriodKind,
    day: date,
    *,
    only_me: bool,
    today: date,
    currency: str,
    uow_factory: UnitOfWorkFactory,
) -> PeriodReport:
    async with uow_factory(transactional=False, person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        author = telegram_id if only_me else None
        return await _period_report(
            uow, member.household_id, kind, day, author=author, today=today, currency=currency
        )


async def _period_report(
    uow: UnitOfWork,
    household_id: int,
    kind: PeriodKind,
    day: date,
    *,
    author: int | None,
    today: date,
    currency: str,
) -> PeriodReport:
    period = Period.containing(kind, day)
    totals = await uow.reports.period_totals(
        household_id, period.start, period.end, currency=currency, author_telegram_id=author
    )
    previous = None
    if kind in (PeriodKind.MONTH, PeriodKind.YEAR):
        before = period.previous()
        previous = await uow.reports.period_totals(
            household_id,
            before.start,
            before.end,
            currency=currency,
            author_telegram_id=author,
        )
    foreign = await uow.reports.foreign_parts(
        household_id, period.start, period.end, author_telegram_id=author
    )
    budgets: list[BudgetLine] = []
    if kind is PeriodKind.MONTH and author is None:
        budgets = await budget_lines(uow, household_id, period.start, today=today)
    accounts = await uow.directory.accounts(household_id, include_archived=True)
    return PeriodReport(
        period=period,
        only_telegram_id=author,
        totals=totals,
        previous=previous,
        budgets=tuple(budgets),
        accounts={a.id: a for a in accounts},
        foreign=foreign,
    )


@dataclass(frozen=True, slots=True)
class SpendingChart:
    """A period's report and its spending day by day, added up, beside the period before."""

    report: PeriodReport
    # Spent by the end of each day of the period, from its first day; a period still
    # under way stops at today, so the line does not run flat into the future.
    cumulative: tuple[Money, ...]
    previous_cumulative: tuple[Money, ...]  # every day of the period before
    budget: Money | None  # the household's total monthly budget, on a month's chart

    @property
    def empty(self) -> bool:
        return not self.report.totals.by_category


async def spending_chart(
    telegram_id: int,
    kind: PeriodKind,
    day: date,
    *,
    only_me: bool,
    today: date,
    currency: str,
    uow_factory: UnitOfWorkFactory,
) -> SpendingChart:
    async with uow_factory(transactional=False, person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        household_id = member.household_id
        author = telegram_id if only_me else None
        report = await _period_report(
            uow, household_id, kind, day, author=author, today=today, currency=currency
        )
        period, before = report.period, report.period.previous()
        current = await uow.reports.daily_spending(
            household_id, period.start, period.end, currency=currency, author_telegram_id=author
        )
        earlier = await uow.reports.daily_spending(
            household_id, before.start, before.end, currency=currency, author_telegram_id=author
        )
    last = today + timedelta(days=1) if period.contains(today) else period.end
    total = next((line.limit for line in report.budgets if line.category_id is None), None)
    return SpendingChart(
        report=report,
        cumulative=_running_totals(current, period.start, last, currency),
        previous_cumulative=_running_totals(earlier, before.start, before.end, currency),
        budget=total,
    )


def _running_totals(
    days: Mapping[date, Money], start: date, end: date, currency: str
) -> tuple[Money, ...]:
    running, totals = Money.zero(currency), []
    for offset in range((end - start).days):
        running = running + days.get(start + timedelta(days=offset), Money.zero(currency))
        totals.append(running)
    return tuple(totals)


async def balances(
    telegram_id: int, *, currency: str, uow_factory: UnitOfWorkFactory
) -> BalanceView:
    async with uow_factory(transactional=False, person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        everything = await uow.reports.balances(member.household_id)
        latest = {rate.currency: rate for rate in await uow.rates.latest(member.household_id)}
    visible = tuple(
        line
        for line in everything
        if visible_to(line.account, telegram_id)
        and (not line.account.archived or line.balance.amount_minor != 0)
    )
    return _balance_view(visible, currency, latest)


def _balance_view(
    visible: tuple[AccountBalance, ...], currency: str, latest: Mapping[str, Rate]
) -> BalanceView:
    exact = Money.zero(currency)
    converted = Decimal(0)  # summed unrounded, then rounded once
    used: dict[str, Rate] = {}
    left_out: list[Account] = []
    for line in visible:
        sign = 1 if line.account.type is AccountType.ASSET else -1
        if line.balance.currency == currency:
            exact = exact + Money(sign * line.balance.amount_minor, currency)
        elif line.balance.amount_minor == 0:
            continue  # nothing to count, whatever the rate
        elif (rate := latest.get(line.balance.currency)) is not None:
            worth = EXACT.multiply(sign * line.balance.to_decimal(), rate.rate)
            converted = EXACT.add(converted, worth)
            used[rate.currency] = rate
        else:
            left_out.append(line.account)
    total = exact + rounded(converted, currency)
    return BalanceView(
        accounts=visible,
        total=total,
        rates=tuple(used[code] for code in sorted(used)),
        left_out=tuple(left_out),
    )


async def last_transactions(
    telegram_id: int, limit: int, *, only_me: bool, uow_factory: UnitOfWorkFactory
) -> tuple[list[TransactionLine], dict[int, Account]]:
    async with uow_factory(transactional=False, person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        lines = await uow.reports.last_transactions(
            member.household_id, limit, author_telegram_id=telegram_id if only_me else None
        )
        accounts = await uow.directory.accounts(member.household_id, include_archived=True)
        return lines, {a.id: a for a in accounts}


async def transaction_view(
    telegram_id: int, transaction_id: UUID, *, uow_factory: UnitOfWorkFactory
) -> TransactionView:
    async with uow_factory(
        transactional=False, person=telegram_id
    ) as uow:  # one round trip: every confirmation
        seen = await uow.reports.transaction_seen_by(telegram_id, transaction_id)
    if seen is None:
        raise NotAMember(telegram_id)
    if seen.transaction is None:
        raise TransactionNotFound()
    return TransactionView(seen.transaction, {a.id: a for a in seen.accounts})
