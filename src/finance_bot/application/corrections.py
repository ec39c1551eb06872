"""Corrections: nothing is edited in place. Undo posts a reversal; re-filing is a void
plus a new transaction, in one unit of work."""

from __future__ import annotations

from dataclasses import replace

from finance_bot.application.defaults import OTHER_CATEGORY_CODES
from finance_bot.application.household import require_member, vocabulary_for
from finance_bot.application.idempotency import once
from finance_bot.application.recording import post
from finance_bot.application.results import Recorded, Refiled, Voided
from finance_bot.domain.accounts import Account, AccountType, normalize_name
from finance_bot.domain.errors import (
    AlreadyVoided,
    NothingToUndo,
    NotTheAuthor,
    ReversalCannotBeVoided,
    TransactionNotFound,
    UnknownCategory,
    WrongCategoryKind,
)
from finance_bot.domain.transactions import Direction, Transaction, TransactionKind
from finance_bot.ports.clock import IdSource
from finance_bot.ports.records import Member
from finance_bot.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory


async def void(
    number: int,
    *,
    author_telegram_id: int,
    idempotency_key: str | None,
    uow_factory: UnitOfWorkFactory,
    ids: IdSource,
) -> Voided:
    """Void transaction #number of the author's household with a linked reversal."""

    async def work(uow: UnitOfWork, member: Member) -> Voided:
        return await _void(uow, member, number, ids)

    return await once(
        uow_factory, idempotency_key, author_telegram_id, work, decode=Voided.from_json
    )


async def undo_last(
    *,
    author_telegram_id: int,
    idempotency_key: str | None,
    uow_factory: UnitOfWorkFactory,
    ids: IdSource,
) -> Voided:
    """Void the author's latest transaction (`/undo`)."""

    async def work(uow: UnitOfWork, member: Member) -> Voided:
        number = await uow.ledger.last_number_by_author(member.telegram_id)
        if number is None:
            raise NothingToUndo("nothing recorded yet")
        return await _void(uow, member, number, ids)

    return await once(
        uow_factory, idempotency_key, author_telegram_id, work, decode=Voided.from_json
    )


async def refile(
    number: int,
    category_id: int,
    *,
    author_telegram_id: int,
    idempotency_key: str | None,
    uow_factory: UnitOfWorkFactory,
    ids: IdSource,
) -> Refiled:
    """Move a transaction to another category: void it and record it again there.

    A converted entry moves with its conversion: the same amounts, rate and accounts, only
    the category leg goes elsewhere.

    When the original sat in "other" because its first note word named no category, that
    word becomes an alias of the chosen category, so the next line with it is understood.
    """

    async def work(uow: UnitOfWork, member: Member) -> Refiled:
        original = await _voidable(uow, member, number)
        if original.kind not in (TransactionKind.EXPENSE, TransactionKind.INCOME):
            raise WrongCategoryKind(f"#{number}")
        old_category_id, new_category = await _categories(uow, member, original, category_id)
        if new_category.id == old_category_id:
            # Already there: nothing to move, and a word filed under "other" stays unknown.
            unchanged = Recorded(transaction_id=original.id, number=number)
            return Refiled(number, unchanged, None, original.kind.value, moved=False)
        learned = await _learn_alias(uow, member, original, old_category_id, new_category.id)
        note = original.note
        if learned is not None:
            note = " ".join(original.note.split()[1:])
        await _post_reversal(uow, member, original, ids)
        moved = replace(
            original,
            id=ids.new_id(),
            number=None,
            note=note,
            author_telegram_id=member.telegram_id,
            voided_by_transaction_id=None,
            postings=tuple(
                replace(p, account_id=new_category.id) if p.account_id == old_category_id else p
                for p in original.postings
            ),
        )
        recorded = await post(uow, moved)
        return Refiled(
            voided_number=number,
            recorded=recorded,
            learned_alias=learned,
            kind=original.kind.value,
        )

    return await once(
        uow_factory, idempotency_key, author_telegram_id, work, decode=Refiled.from_json
    )


async def _void(uow: UnitOfWork, member: Member, number: int, ids: IdSource) -> Voided:
    original = await _voidable(uow, member, number)
    reversal_number = await _post_reversal(uow, member, original, ids)
    return Voided(number=number, reversal_number=reversal_number)


async def _voidable(uow: UnitOfWork, member: Member, number: int) -> Transaction:
    # FOR UPDATE: a second void of the same transaction waits here, then sees it voided.
    original = await uow.ledger.by_number(member.household_id, number, for_update=True)
    if original is None:
        raise TransactionNotFound(number)
    if original.kind is TransactionKind.REVERSAL:
        raise ReversalCannotBeVoided(number)
    if original.author_telegram_id != member.telegram_id:
        raise NotTheAuthor(number)
    if original.is_voided:
        raise AlreadyVoided(number)
    return original


async def _post_reversal(
    uow: UnitOfWork, member: Member, original: Transaction, ids: IdSource
) -> int:
    reversal = original.reversal(
        reversal_id=ids.new_id(),
        author_telegram_id=member.telegram_id,
        booked_on=original.booked_on,
    )
    recorded = await post(uow, reversal)
    await uow.ledger.link_void(original.id, reversal.id)
    return recorded.number


async def _categories(
    uow: UnitOfWork, member: Member, original: Transaction, category_id: int
) -> tuple[int, Account]:
    kind = AccountType.EXPENSE if original.kind is TransactionKind.EXPENSE else AccountType.INCOME
    side = Direction.DEBIT if kind is AccountType.EXPENSE else Direction.CREDIT
    old_category_id = await _category_of(uow, original, side, kind)
    new_category = await uow.directory.account(category_id)
    if new_category is None or new_category.household_id != member.household_id:
        raise UnknownCategory("")
    if new_category.type is not kind:
        raise WrongCategoryKind(new_category.name)
    return old_category_id, new_category


async def _category_of(
    uow: UnitOfWork, original: Transaction, side: Direction, kind: AccountType
) -> int:
    """The category leg's account. A converted entry has a conversion account's leg on the
    same side, so with more than one candidate the accounts' types tell them apart."""
    candidates = [p.account_id for p in original.postings if p.direction is side]
    if len(candidates) > 1:
        for account_id in candidates:
            account = await uow.directory.account(account_id)
            if account is not None and account.type is kind:
                return account_id
    return candidates[0]


async def _learn_alias(
    uow: UnitOfWork,
    member: Member,
    original: Transaction,
    old_category_id: int,
    new_category_id: int,
) -> str | None:
    """Teach the word that named no category; only for transactions filed under "other".

    Only a word that names nothing yet is learned: "250 другое кафе" is filed under "other"
    by name with the note "кафе", and "кафе" must stay the cafe's word.
    """
    old_category = await uow.directory.account(old_category_id)
    words = original.note.split()
    if old_category is None or old_category.code not in OTHER_CATEGORY_CODES or not words:
        return None
    word = words[0]
    key = normalize_name(word)
    known = await vocabulary_for(uow, member)
    if key in known.expense_aliases or key in known.income_aliases or key in known.account_names:
        return None
    if not key or key[0] in "@#/+-" or key[0].isdigit():
        return None  # not a word a line could start its category with
    await uow.directory.add_alias(member.household_id, key, new_category_id)
    return word


async def refile_choices(
    number: int, *, author_telegram_id: int, uow_factory: UnitOfWorkFactory
) -> list[Account]:
    """The categories transaction #number could move to: live ones of its own kind."""
    async with uow_factory(transactional=False, person=author_telegram_id) as uow:
        member = await require_member(uow, author_telegram_id)
        original = await _voidable(uow, member, number)
        if original.kind not in (TransactionKind.EXPENSE, TransactionKind.INCOME):
            raise WrongCategoryKind(f"#{number}")
        kind = (
            AccountType.EXPENSE if original.kind is TransactionKind.EXPENSE else AccountType.INCOME
        )
        return [a for a in await uow.directory.accounts(member.household_id) if a.type is kind]
