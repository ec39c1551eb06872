"""Recording expenses, income and transfers."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from finance_bot.application.budgets import crossed_thresholds, watched
from finance_bot.application.defaults import OTHER_EXPENSE, OTHER_INCOME
from finance_bot.application.household import visible_to
from finance_bot.application.idempotency import once
from finance_bot.application.results import Recorded, RecordedAll
from finance_bot.domain import transactions
from finance_bot.domain.accounts import Account, AccountType
from finance_bot.domain.commands import RecordCommand, RecordExpense, RecordIncome
from finance_bot.domain.errors import (
    AccountArchived,
    NotAMember,
    SameAccountTransfer,
    UnknownAccount,
    UnknownCategory,
    WrongCategoryKind,
)
from finance_bot.domain.transactions import Transaction
from finance_bot.ports.clock import IdSource
from finance_bot.ports.records import Budget, Member, WriteContext
from finance_bot.ports.unit_of_work import IdempotencyKeyTaken, UnitOfWork, UnitOfWorkFactory


async def record(
    command: RecordCommand,
    *,
    author_telegram_id: int,
    idempotency_key: str | None,
    uow_factory: UnitOfWorkFactory,
    ids: IdSource,
) -> Recorded:
    """Record an expense, income or transfer; a replayed key returns the first result.

    The bot's hot path, so it is two round trips: one read of everything it needs, then
    one statement that numbers the transaction, claims the key and stores it all — that
    statement is its own database transaction. Spending that a budget watches takes a real
    unit of work instead, so that its alerts are decided together with the entry.
    """
    try:
        async with uow_factory(transactional=False) as uow:
            context = await uow.directory.write_context(
                author_telegram_id, _named_accounts(command)
            )
            if context is None:
                raise NotAMember(author_telegram_id)
            transaction = build_transaction(context, command, ids)
            if not watched(transaction, context.budgets):
                added = await uow.ledger.add(
                    transaction, idempotency_key=idempotency_key, result=_first_result(transaction)
                )
                return await _recorded(uow, transaction, added.number, ())
        async with uow_factory() as uow:
            added = await uow.ledger.add(
                transaction, idempotency_key=idempotency_key, result=_first_result(transaction)
            )
            recorded = await _recorded(uow, transaction, added.number, context.budgets)
            if recorded.alerts and idempotency_key is not None:
                await uow.idempotency.store(idempotency_key, recorded.to_json())
            await uow.commit()
            return recorded
    except IdempotencyKeyTaken:
        assert idempotency_key is not None
        async with uow_factory(transactional=False) as reading:
            stored = await reading.idempotency.stored(idempotency_key)
        assert stored is not None  # a taken key was committed with its result
        return Recorded.from_json(stored)


async def record_all(
    commands: list[RecordCommand],
    *,
    author_telegram_id: int,
    idempotency_key: str | None,
    uow_factory: UnitOfWorkFactory,
    ids: IdSource,
) -> RecordedAll:
    """Record the lines of one message together: every one of them, or none."""

    async def work(uow: UnitOfWork, member: Member) -> RecordedAll:
        entries = []
        for command in commands:
            context = await uow.directory.write_context(
                member.telegram_id, _named_accounts(command)
            )
            assert context is not None  # the member exists: `once` checked it
            entries.append(await post(uow, build_transaction(context, command, ids)))
        return RecordedAll(tuple(entries))

    return await once(
        uow_factory, idempotency_key, author_telegram_id, work, decode=RecordedAll.from_json
    )


def build_transaction(context: WriteContext, command: RecordCommand, ids: IdSource) -> Transaction:
    member, known = context.member, context.accounts
    transaction_id = ids.new_id()
    household_id, author = member.household_id, member.telegram_id
    booked_on, note, tags, amount = command.booked_on, command.note, command.tags, command.amount
    if isinstance(command, RecordExpense | RecordIncome):
        kind = AccountType.EXPENSE if isinstance(command, RecordExpense) else AccountType.INCOME
        account_id = _chosen(command.account_id, member)
        account = _usable_account(known.get(account_id), account_id, member)
        category = _category(known, member, command.category_id, kind)
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
    added = await uow.ledger.add(transaction)
    return await _recorded(uow, transaction, added.number, None)


async def _recorded(
    uow: UnitOfWork, transaction: Transaction, number: int | None,
    budgets: tuple[Budget, ...] | None,
) -> Recorded:  # fmt: skip
    if number is None:
        # The client-made id is known: "exists" is as good as "created", nothing is written.
        existing = await uow.ledger.get(transaction.id)
        assert existing is not None
        assert existing.number is not None
        return Recorded(transaction_id=existing.id, number=existing.number, replayed=True)
    numbered = replace(transaction, number=number)
    alerts = await crossed_thresholds(uow, numbered, budgets)
    return Recorded(transaction_id=numbered.id, number=number, alerts=alerts)


def _first_result(transaction: Transaction) -> dict[str, Any]:
    """The result kept under the idempotency key; the ledger fills in the number."""
    result = Recorded(transaction_id=transaction.id, number=0).to_json()
    del result["number"]
    return result


def _named_accounts(command: RecordCommand) -> list[int]:
    if isinstance(command, RecordExpense | RecordIncome):
        named = [command.account_id, command.category_id]
    else:
        named = [command.from_account_id, command.to_account_id]
    return [account_id for account_id in named if account_id is not None]


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
        raise UnknownAccount("")  # an id means nothing to a person; the reply lists accounts
    if account.archived:
        raise AccountArchived(account.name)
    return account


def _category(
    known: dict[int, Account], member: Member, category_id: int | None, kind: AccountType
) -> Account:
    if category_id is None:
        code = OTHER_EXPENSE if kind is AccountType.EXPENSE else OTHER_INCOME
        for account in known.values():
            if account.type is kind and account.code == code and account.is_shared:
                return account
        raise UnknownCategory("")
    category = known.get(category_id)
    if category is None or category.household_id != member.household_id:
        raise UnknownCategory("")
    if category.type is not kind:
        raise WrongCategoryKind(category.name)
    return category
