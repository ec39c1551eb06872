"""Recording expenses, income and transfers."""

from __future__ import annotations

from dataclasses import replace

from finance_bot.application.budgets import crossed_thresholds
from finance_bot.application.defaults import OTHER_EXPENSE, OTHER_INCOME
from finance_bot.application.household import require_member, visible_to
from finance_bot.application.results import Recorded
from finance_bot.domain import transactions
from finance_bot.domain.accounts import Account, AccountType
from finance_bot.domain.commands import RecordCommand, RecordExpense, RecordIncome
from finance_bot.domain.errors import (
    AccountArchived,
    SameAccountTransfer,
    UnknownAccount,
    UnknownCategory,
    WrongCategoryKind,
)
from finance_bot.domain.transactions import Transaction
from finance_bot.ports.clock import IdSource
from finance_bot.ports.records import Member
from finance_bot.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory


async def record(
    command: RecordCommand,
    *,
    author_telegram_id: int,
    idempotency_key: str | None,
    uow_factory: UnitOfWorkFactory,
    ids: IdSource,
) -> Recorded:
    """Record an expense, income or transfer; a replayed key returns the first result."""
    async with uow_factory() as uow:
        if idempotency_key is not None:
            stored = await uow.idempotency.claim(idempotency_key)
            if stored is not None:
                return Recorded.from_json(stored)
        member = await require_member(uow, author_telegram_id)
        transaction = await build_transaction(uow, member, command, ids)
        recorded = await post(uow, transaction)
        if idempotency_key is not None:
            await uow.idempotency.store(idempotency_key, recorded.to_json())
        await uow.commit()
        return recorded


async def build_transaction(
    uow: UnitOfWork, member: Member, command: RecordCommand, ids: IdSource
) -> Transaction:
    transaction_id = ids.new_id()
    household_id, author = member.household_id, member.telegram_id
    booked_on, note, tags, amount = command.booked_on, command.note, command.tags, command.amount
    if isinstance(command, RecordExpense | RecordIncome):
        kind = AccountType.EXPENSE if isinstance(command, RecordExpense) else AccountType.INCOME
        account_id = _chosen(command.account_id, member)
        known = await uow.directory.accounts_by_id(
            [account_id] + ([command.category_id] if command.category_id is not None else [])
        )
        account = _usable_account(known.get(account_id), account_id, member)
        category = await _category(uow, member, command.category_id, kind, known)
        make = transactions.expense if kind is AccountType.EXPENSE else transactions.income
        return make(
            id=transaction_id,
            household_id=household_id,
            author_telegram_id=author,
            booked_on=booked_on,
            amount=amount,
            account_id=account.id,
            category_id=category.id,
            note=note,
            tags=tags,
        )
    known = await uow.directory.accounts_by_id([command.from_account_id, command.to_account_id])
    source = _usable_account(known.get(command.from_account_id), command.from_account_id, member)
    target = _usable_account(known.get(command.to_account_id), command.to_account_id, member)
    if source.id == target.id:
        raise SameAccountTransfer("a transfer needs two different accounts")
    return transactions.transfer(
        id=transaction_id,
        household_id=household_id,
        author_telegram_id=author,
        booked_on=booked_on,
        amount=amount,
        from_account_id=source.id,
        to_account_id=target.id,
        note=note,
        tags=tags,
    )


async def post(uow: UnitOfWork, transaction: Transaction) -> Recorded:
    """Number and store a transaction; check budgets if it is spending."""
    number = await uow.ledger.add(transaction)
    if number is None:
        # The client-made id is known: "exists" is as good as "created", nothing is written.
        existing = await uow.ledger.get(transaction.id)
        assert existing is not None
        assert existing.number is not None
        return Recorded(transaction_id=existing.id, number=existing.number, replayed=True)
    numbered = replace(transaction, number=number)
    alerts = await crossed_thresholds(uow, numbered)
    return Recorded(transaction_id=numbered.id, number=number, alerts=alerts)


def _chosen(account_id: int | None, member: Member) -> int:
    chosen = account_id if account_id is not None else member.default_account_id
    if chosen is None:
        raise UnknownAccount("")
    return chosen


def _usable_account(account: Account | None, account_id: int, member: Member) -> Account:
    if (
        account is None
        or account.household_id != member.household_id
        or account.type.is_category
        or not visible_to(account, member.telegram_id)
    ):
        raise UnknownAccount(str(account_id))
    if account.archived:
        raise AccountArchived(account.name)
    return account


async def _category(
    uow: UnitOfWork, member: Member, category_id: int | None, kind: AccountType,
    known: dict[int, Account],
) -> Account:  # fmt: skip
    if category_id is None:
        code = OTHER_EXPENSE if kind is AccountType.EXPENSE else OTHER_INCOME
        for account in await uow.directory.accounts(member.household_id):
            if account.type is kind and account.code == code:
                return account
        raise UnknownCategory(code)
    category = known.get(category_id)
    if category is None or category.household_id != member.household_id:
        raise UnknownCategory(str(category_id))
    if category.type is not kind:
        raise WrongCategoryKind(category.name)
    return category
