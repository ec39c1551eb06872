"""The read side: period reports, balances, the last transactions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from finance_bot.application.budgets import BudgetLine, budget_lines
from finance_bot.application.household import require_member, visible_to
from finance_bot.domain.accounts import Account, AccountType
from finance_bot.domain.errors import TransactionNotFound
from finance_bot.domain.money import Money
from finance_bot.domain.periods import Period, PeriodKind
from finance_bot.domain.transactions import Transaction
from finance_bot.ports.records import AccountBalance, PeriodTotals, TransactionLine
from finance_bot.ports.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class PeriodReport:
    period: Period
    only_telegram_id: int | None  # the report is limited to this person ("… me")
    totals: PeriodTotals
    previous: PeriodTotals | None  # months and years compare with the period before
    budgets: tuple[BudgetLine, ...]
    accounts: dict[int, Account]  # every category and account of the household, by id


@dataclass(frozen=True, slots=True)
class BalanceView:
    """The asker's own accounts and the shared ones, and what they add up to.

    The total is exactly the sum of the accounts listed (ADR 0010): another member's
    personal accounts are theirs to see, so they are neither listed nor counted.
    """

    accounts: tuple[AccountBalance, ...]  # what the asker can see
    total: Money  # assets less liabilities of those accounts, in the household's currency


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
    period = Period.containing(kind, day)
    author = telegram_id if only_me else None
    async with uow_factory(transactional=False) as uow:
        member = await require_member(uow, telegram_id)
        household_id = member.household_id
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
        budgets: list[BudgetLine] = []
        if kind is PeriodKind.MONTH and not only_me:
            budgets = await budget_lines(uow, household_id, period.start, today=today)
        accounts = await uow.directory.accounts(household_id, include_archived=True)
        return PeriodReport(
            period=period,
            only_telegram_id=author,
            totals=totals,
            previous=previous,
            budgets=tuple(budgets),
            accounts={a.id: a for a in accounts},
        )


async def balances(
    telegram_id: int, *, currency: str, uow_factory: UnitOfWorkFactory
) -> BalanceView:
    async with uow_factory(transactional=False) as uow:
        member = await require_member(uow, telegram_id)
        everything = await uow.reports.balances(member.household_id)
    visible = tuple(
        line
        for line in everything
        if visible_to(line.account, telegram_id)
        and (not line.account.archived or line.balance.amount_minor != 0)
    )
    total = Money.zero(currency)
    for line in visible:
        if line.balance.currency == currency:
            sign = 1 if line.account.type is AccountType.ASSET else -1
            total = total + Money(sign * line.balance.amount_minor, currency)
    return BalanceView(accounts=visible, total=total)


async def last_transactions(
    telegram_id: int, limit: int, *, only_me: bool, uow_factory: UnitOfWorkFactory
) -> tuple[list[TransactionLine], dict[int, Account]]:
    async with uow_factory(transactional=False) as uow:
        member = await require_member(uow, telegram_id)
        lines = await uow.reports.last_transactions(
            member.household_id, limit, author_telegram_id=telegram_id if only_me else None
        )
        accounts = await uow.directory.accounts(member.household_id, include_archived=True)
        return lines, {a.id: a for a in accounts}


@dataclass(frozen=True, slots=True)
class TransactionView:
    transaction: Transaction
    accounts: dict[int, Account]  # the accounts and categories it touches


async def transaction_view(
    telegram_id: int, transaction_id: UUID, *, uow_factory: UnitOfWorkFactory
) -> TransactionView:
    async with uow_factory(transactional=False) as uow:
        member = await require_member(uow, telegram_id)
        transaction = await uow.ledger.get(transaction_id)
        if transaction is None or transaction.household_id != member.household_id:
            raise TransactionNotFound()
        touched = {p.account_id for p in transaction.postings}
        accounts = await uow.directory.accounts(member.household_id, include_archived=True)
        return TransactionView(transaction, {a.id: a for a in accounts if a.id in touched})
