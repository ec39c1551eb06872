"""Recording expenses, income and transfers (docs/product.md §2, §8).

A line in one currency is the hot path: four round trips (ADR-0001: a read and one
statement that numbers and stores; ADR-0021: the BEGIN with the household binding before
them, the COMMIT after), and in a chat update two — the store and its COMMIT — since the
words the line was read against bring what the read would (docs/adr/0027). Money that
changes currency reads a rate, may make the household's conversion accounts, and an
exchange remembers its own rate, so it is written in a unit of work of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from finance_bot.application.budgets import crossed_thresholds, watched
from finance_bot.application.defaults import OTHER_EXPENSE, OTHER_INCOME
from finance_bot.application.household import visible_to
from finance_bot.application.idempotency import once
from finance_bot.application.results import Recorded, RecordedAll, TransactionView
from finance_bot.domain import transactions
from finance_bot.domain.accounts import Account, AccountType
from finance_bot.domain.commands import (
    RecordCommand,
    RecordExpense,
    RecordIncome,
    RecordTransfer,
)
from finance_bot.domain.errors import (
    AccountArchived,
    AmountMustBePositive,
    CurrencyMismatch,
    LedgerRuleViolation,
    NoRate,
    NotAMember,
    NotPayableFrom,
    ReceivedAmountNeeded,
    SameAccountTransfer,
    UnknownAccount,
    UnknownCategory,
    WrongCategoryKind,
)
from finance_bot.domain.money import Money
from finance_bot.domain.transactions import (
    EXACT,
    Conversion,
    Transaction,
    converted_amount,
    rounded,
)
from finance_bot.ports.clock import IdSource
from finance_bot.ports.records import Budget, Member, Words, WriteContext
from finance_bot.ports.unit_of_work import IdempotencyKeyTaken, UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class Entry:
    """A transaction ready to store, and the household rate it sets, if any: an exchange
    with both amounts said is the market's word on that day (base per foreign unit)."""

    transaction: Transaction
    sets_rate: tuple[str, Decimal] | None = None  # (foreign currency, rate)


async def record(
    command: RecordCommand,
    *,
    author_telegram_id: int,
    idempotency_key: str | None,
    uow_factory: UnitOfWorkFactory,
    ids: IdSource,
    words: Words | None = None,
) -> Recorded:
    """Record an expense, income or transfer; a replayed key returns the first result.

    1. Read what the line needs, in one round trip (`_context`) — unless the `words` the
       line was read against hold it all (`_from_words`).
    2. Build the entry. A line in one currency needs nothing more (`single_currency_entry`).
    3. Store it. Alone, in one statement that is its own database transaction — the hot
       path (`_store_alone`), which a price in another currency takes too when the read
       brought its rate and accounts (`_converted_from_context`); or in a unit of work
       (`_store_with_checks`) when a budget watches the spending (its alerts are decided
       with the entry), an exchange sets a rate, or a conversion account is to be made.
    """
    # Two mechanisms keep a line from being written twice. The update's key is claimed by
    # the same statement that stores the entry: an update delivered again finds it taken
    # (IdempotencyKeyTaken) and gets the first answer back. The transaction's id is made
    # here, before any write: storing an id that exists writes nothing (`number` None), so
    # a statement retried after its first try did commit is answered as that first try.
    try:
        # The read and the lone statement share one non-transactional unit of work: its
        # BEGIN with the binding costs one round trip for both, the store's COMMIT one
        # more (docs/adr/0021), four in all. With the line's words in hand there is no
        # read, and in a chat update the BEGIN was the words' own (docs/adr/0027).
        async with uow_factory(transactional=False, person=author_telegram_id) as uow:
            in_hand = _from_words(words, command, ids)
            entry: Transaction | None
            if in_hand is not None:
                context, entry = in_hand
            else:
                context = await _context(uow, author_telegram_id, command)
                entry = single_currency_entry(context, command, ids)
                if entry is None and isinstance(command, RecordExpense | RecordIncome):
                    entry = await _converted_from_context(context, command, ids)
            if entry is not None and not watched(entry, context.budgets):
                return await _store_alone(uow, entry, idempotency_key, context.accounts)
        return await _store_with_checks(
            uow_factory, context, command, entry, idempotency_key=idempotency_key, ids=ids
        )
    except IdempotencyKeyTaken:
        if idempotency_key is None:
            raise
        return await _first_answer(uow_factory, idempotency_key)
    except LedgerRuleViolation:
        # Built anew, a line delivered again may no longer be possible (an account archived,
        # a rate changed since): if its key holds a first answer, that answer stands.
        replayed = await _answer_if_taken(uow_factory, idempotency_key)
        if replayed is None:
            raise
        return replayed


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
        # Every entry is built before the first is stored: building may make conversion
        # accounts, and nothing is created once the household's counter is locked (the
        # first lock of every ledger write, ADR-0001), so writers never wait in a circle.
        entries = []
        for command in commands:
            context = await _context(uow, member.telegram_id, command)
            entries.append(await build_entry(uow, context, command, ids))
        return RecordedAll(tuple([await _post_entry(uow, entry) for entry in entries]))

    return await once(
        uow_factory, idempotency_key, author_telegram_id, work, decode=RecordedAll.from_json
    )


async def post(uow: UnitOfWork, transaction: Transaction) -> Recorded:
    """Number and store a transaction; check budgets if it is spending."""
    added = await uow.ledger.add(transaction)
    return await _recorded(uow, transaction, added.number, None)


# Step 1: read.


async def write_context(
    uow: UnitOfWork, author_telegram_id: int, command: RecordCommand
) -> WriteContext:
    """What building `command`'s entry for its author needs (a repeating entry's too)."""
    return await _context(uow, author_telegram_id, command)


async def _context(
    uow: UnitOfWork, author_telegram_id: int, command: RecordCommand
) -> WriteContext:
    context = await uow.directory.write_context(
        author_telegram_id,
        _named_accounts(command),
        currency=command.amount.currency,
        day=command.booked_on,
    )
    if context is None:
        raise NotAMember(author_telegram_id)
    return context


def _from_words(
    words: Words | None, command: RecordCommand, ids: IdSource
) -> tuple[WriteContext, Transaction] | None:
    """The context and the entry from the words the line was read against, a moment ago
    in the same update: they hold the member, every live account and the budgets. None
    when they do not suffice — money changing currency, an account not live, anything
    refused — and the books are read as without them, which also says why."""
    if words is None:
        return None
    context = WriteContext(
        member=words.member,
        accounts={account.id: account for account in words.accounts},
        budgets=words.budgets,
    )
    try:
        entry = single_currency_entry(context, command, ids)
    except LedgerRuleViolation:
        return None
    return (context, entry) if entry is not None else None


# Step 2: build.


def single_currency_entry(
    context: WriteContext, command: RecordCommand, ids: IdSource
) -> Transaction | None:
    """The entry, when it is all in one currency and needs nothing beyond `context`;
    None when money changes currency, or another account must be looked for."""
    member, known = context.member, context.accounts
    if isinstance(command, RecordExpense | RecordIncome):
        kind = _kind(command)
        category = _category(known, member, command.category_id, kind)
        account = _usable_account(
            known.get(_chosen(command.account_id, member)), command.account_id, member
        )
        if not command.amount.currency == account.currency == category.currency:
            return None
        return _flow(command, ids.new_id(), member, account, category)
    source, target = _transfer_sides(known, member, command)
    if not command.amount.currency == source.currency == target.currency:
        return None
    return _transfer(command, ids.new_id(), member, source, target)


async def build_entry(
    uow: UnitOfWork, context: WriteContext, command: RecordCommand, ids: IdSource
) -> Entry:
    """The entry a line makes, whatever its currencies (docs/product.md §8)."""
    single = single_currency_entry(context, command, ids)
    if single is not None:
        return Entry(single)
    if isinstance(command, RecordExpense | RecordIncome):
        return Entry(await _converted_flow(uow, context, command, ids))
    return await _exchange(uow, context, command, ids)


class _NeedsUnitOfWork(Exception):
    """What the line needs was not in the one read: a unit of work must look or make it."""


async def _converted_from_context(
    context: WriteContext, command: RecordExpense | RecordIncome, ids: IdSource
) -> Transaction | None:
    """The converted entry from what the first read brought; None when it needs more."""
    try:
        return await _converted_flow(None, context, command, ids)
    except _NeedsUnitOfWork:
        return None


async def _converted_flow(
    uow: UnitOfWork | None,
    context: WriteContext,
    command: RecordExpense | RecordIncome,
    ids: IdSource,
) -> Transaction:
    """An expense or income whose amount, account and category are not all in the base.

    Paid from (or into) the account the line names; else the author's own account in the
    amount's currency, else a shared one; else the default account, converted. The
    category always takes the base amount, at the household's rate on the booking day.
    """
    member = context.member
    category = _category(context.accounts, member, command.category_id, _kind(command))
    base, amount = category.currency, command.amount
    account = await _paying_account(uow, context, command)
    if amount.currency == account.currency == base:  # an account in the base was found
        return _flow(command, ids.new_id(), member, account, category)
    if amount.currency != base and account.currency not in (base, amount.currency):
        raise NotPayableFrom(amount.currency, account.name, account.currency, base)
    foreign = amount.currency if amount.currency != base else account.currency
    rate = await _rate(uow, context, foreign, command.booked_on)
    if amount.currency == base:
        # A base amount from a foreign account: the account gives what it is worth there,
        # and the conversion keeps the exact rate those two amounts make.
        charged = converted_amount(amount, rate, account.currency, divide=True)
        if not charged.is_positive:
            raise AmountMustBePositive("the amount comes to nothing in the account's currency")
        conversion = Conversion.between(charged, amount)
    else:
        conversion = Conversion.at_rate(amount, rate, base)
        charged = amount if account.currency == amount.currency else conversion.target
    accounts = None
    if charged.currency != base:
        accounts = await _conversion_accounts(uow, context, [foreign, base])
    return _flow(
        command,
        ids.new_id(),
        member,
        account,
        category,
        worth=conversion.target,
        charged=charged,
        conversion=conversion,
        conversion_accounts=accounts,
    )


async def _exchange(
    uow: UnitOfWork, context: WriteContext, command: RecordTransfer, ids: IdSource
) -> Entry:
    """Money between own accounts of two currencies: what left and what arrived.

    Both said: their ratio is the rate, and when one side is the base currency the
    household remembers it for that day. Only what left: what arrives follows from the
    household's rates (through the base currency when neither side is in it); no rate,
    and the person is asked to say what arrived.
    """
    member = context.member
    source, target = _transfer_sides(context.accounts, member, command)
    amount, received = command.amount, command.received
    if amount.currency != source.currency:
        raise CurrencyMismatch(amount.currency, source.currency)
    if received is not None and received.currency != target.currency:
        raise CurrencyMismatch(received.currency, target.currency)
    base = await uow.directory.household_currency(member.household_id)
    sets_rate = None
    if received is None:
        received = await _at_known_rates(
            uow, member.household_id, amount, target, base=base, day=command.booked_on
        )
        if received is None:
            raise ReceivedAmountNeeded(amount, source.name, target.name)
    elif base in (amount.currency, received.currency):
        foreign, worth = (amount, received) if received.currency == base else (received, amount)
        sets_rate = (foreign.currency, Conversion.between(foreign, worth).rate)
    conversion = Conversion.between(amount, received)
    accounts = await uow.directory.conversion_accounts(
        member.household_id, [amount.currency, received.currency]
    )
    transaction = _transfer(
        command,
        ids.new_id(),
        member,
        source,
        target,
        received=received,
        conversion=conversion,
        conversion_accounts=accounts,
    )
    return Entry(transaction, sets_rate)


async def _at_known_rates(
    uow: UnitOfWork, household_id: int, amount: Money, target: Account, *, base: str, day: date
) -> Money | None:
    """What `amount` buys in the target's currency at the household's rates of `day`."""
    worth = amount.to_decimal()
    if amount.currency != base:
        known = await uow.rates.on(household_id, amount.currency, day)
        if known is None:
            return None
        worth = EXACT.multiply(worth, known.rate)
    if target.currency != base:
        known = await uow.rates.on(household_id, target.currency, day)
        if known is None:
            return None
        worth = EXACT.divide(worth, known.rate)
    return rounded(worth, target.currency)


async def _paying_account(
    uow: UnitOfWork | None, context: WriteContext, command: RecordExpense | RecordIncome
) -> Account:
    member, known = context.member, context.accounts
    if command.account_id is not None:
        return _usable_account(known.get(command.account_id), command.account_id, member)
    currency = command.amount.currency
    default = known.get(member.default_account_id or 0)
    if default is None or default.currency != currency:
        in_currency = await _account_in(uow, context, currency)
        if in_currency is not None:
            return in_currency
    return _usable_account(default, _chosen(None, member), member)


async def _account_in(
    uow: UnitOfWork | None, context: WriteContext, currency: str
) -> Account | None:
    """The author's own live account in `currency`, else a shared one; the oldest first."""
    member = context.member
    if context.foreign == currency:  # the first read brought them
        everything = list(context.accounts.values())
    elif uow is None:
        raise _NeedsUnitOfWork
    else:
        everything = await uow.directory.accounts(member.household_id)
    candidates = [
        a
        for a in everything
        if a.type.holds_money
        and not a.archived
        and a.currency == currency
        and visible_to(a, member.telegram_id)
    ]
    candidates.sort(key=lambda a: (a.owner_telegram_id is None, a.id))
    return candidates[0] if candidates else None


async def _rate(uow: UnitOfWork | None, context: WriteContext, currency: str, day: date) -> Decimal:
    if context.foreign == currency:  # the first read brought it, for the line's day
        known = context.rate
    elif uow is None:
        raise _NeedsUnitOfWork
    else:
        known = await uow.rates.on(context.member.household_id, currency, day)
    if known is None:
        raise NoRate(currency)
    return known.rate


async def _conversion_accounts(
    uow: UnitOfWork | None, context: WriteContext, currencies: list[str]
) -> dict[str, int]:
    codes = {f"conversion:{currency}": currency for currency in currencies}
    found = {
        codes[a.code]: a.id
        for a in context.accounts.values()
        if a.type is AccountType.EQUITY and a.code in codes
    }
    if len(found) == len(codes):
        return found
    if uow is None:  # made on first need, in a unit of work
        raise _NeedsUnitOfWork
    return await uow.directory.conversion_accounts(context.member.household_id, currencies)


def _flow(
    command: RecordExpense | RecordIncome,
    transaction_id: UUID,
    member: Member,
    account: Account,
    category: Account,
    *,
    worth: Money | None = None,
    charged: Money | None = None,
    conversion: Conversion | None = None,
    conversion_accounts: dict[str, int] | None = None,
) -> Transaction:
    """`worth`: what the category takes; `charged`: what the account gives or gets."""
    amount = worth if worth is not None else command.amount
    other_side = charged if charged is not None and charged != amount else None
    common: dict[str, Any] = {
        "id": transaction_id,
        "household_id": member.household_id,
        "author_telegram_id": member.telegram_id,
        "booked_on": command.booked_on,
        "amount": amount,
        "account_id": account.id,
        "category_id": category.id,
        "note": command.note,
        "tags": command.tags,
        "conversion": conversion,
        "conversion_accounts": conversion_accounts,
    }
    if isinstance(command, RecordExpense):
        return transactions.expense(paid=other_side, **common)
    return transactions.income(received=other_side, **common)


def _transfer(
    command: RecordTransfer,
    transaction_id: UUID,
    member: Member,
    source: Account,
    target: Account,
    *,
    received: Money | None = None,
    conversion: Conversion | None = None,
    conversion_accounts: dict[str, int] | None = None,
) -> Transaction:
    return transactions.transfer(
        id=transaction_id,
        household_id=member.household_id,
        author_telegram_id=member.telegram_id,
        booked_on=command.booked_on,
        amount=command.amount,
        from_account_id=source.id,
        to_account_id=target.id,
        note=command.note,
        tags=command.tags,
        received=received,
        conversion=conversion,
        conversion_accounts=conversion_accounts,
    )


# Step 3: store.


async def _store_alone(
    uow: UnitOfWork,
    transaction: Transaction,
    idempotency_key: str | None,
    accounts: dict[int, Account],
) -> Recorded:
    """In a non-transactional unit of work: one statement, its own database transaction."""
    added = await uow.ledger.add(
        transaction, idempotency_key=idempotency_key, result=_first_result(transaction)
    )
    return await _recorded(uow, transaction, added.number, (), accounts)


async def _store_with_checks(
    uow_factory: UnitOfWorkFactory,
    context: WriteContext,
    command: RecordCommand,
    built: Transaction | None,
    *,
    idempotency_key: str | None,
    ids: IdSource,
) -> Recorded:
    async with uow_factory(household=context.member.household_id) as uow:
        entry = Entry(built) if built is not None else await build_entry(uow, context, command, ids)
        transaction = entry.transaction
        added = await uow.ledger.add(
            transaction, idempotency_key=idempotency_key, result=_first_result(transaction)
        )
        recorded = await _recorded(
            uow, transaction, added.number, context.budgets, context.accounts
        )
        if added.number is not None:
            await _remember_rate(uow, entry)
        if recorded.alerts and idempotency_key is not None:
            await uow.idempotency.store(idempotency_key, recorded.to_json())
        await uow.commit()
        return recorded


async def post_entry(uow: UnitOfWork, entry: Entry) -> Recorded:
    """Number and store a built entry in `uow`, with the rate it sets."""
    return await _post_entry(uow, entry)


async def _post_entry(uow: UnitOfWork, entry: Entry) -> Recorded:
    recorded = await post(uow, entry.transaction)
    if not recorded.replayed:
        await _remember_rate(uow, entry)
    return recorded


async def _remember_rate(uow: UnitOfWork, entry: Entry) -> None:
    if entry.sets_rate is None:
        return
    currency, rate = entry.sets_rate
    transaction = entry.transaction
    await uow.rates.add(
        transaction.household_id,
        currency,
        rate,
        transaction.booked_on,
        source="exchange",
        author_telegram_id=transaction.author_telegram_id,
    )


async def _answer_if_taken(
    uow_factory: UnitOfWorkFactory, idempotency_key: str | None
) -> Recorded | None:
    if idempotency_key is None:
        return None
    async with uow_factory(transactional=False) as reading:
        stored = await reading.idempotency.stored(idempotency_key)
    return None if stored is None else Recorded.from_json(stored)


async def _first_answer(uow_factory: UnitOfWorkFactory, idempotency_key: str) -> Recorded:
    """The answer kept under a key an earlier delivery of the update claimed."""
    async with uow_factory(transactional=False) as reading:
        stored = await reading.idempotency.stored(idempotency_key)
    if stored is None:
        # The key and its result are written by one statement: a key without one is damage.
        raise LookupError("an idempotency key is claimed but holds no result")
    return Recorded.from_json(stored)


async def _recorded(
    uow: UnitOfWork,
    transaction: Transaction,
    number: int | None,
    budgets: tuple[Budget, ...] | None,
    accounts: dict[int, Account] | None = None,
) -> Recorded:
    if number is None:
        # The client-made id is known: "exists" is as good as "created", nothing is written.
        existing = await uow.ledger.get(transaction.id)
        if existing is None or existing.number is None:
            raise LookupError("the ledger said the transaction exists, but it has none")
        return Recorded(transaction_id=existing.id, number=existing.number, replayed=True)
    numbered = replace(transaction, number=number)
    alerts = await crossed_thresholds(uow, numbered, budgets)
    return Recorded(
        transaction_id=numbered.id, number=number, alerts=alerts, view=_view(numbered, accounts)
    )


def _view(transaction: Transaction, known: dict[int, Account] | None) -> TransactionView | None:
    """The stored entry as its confirmation shows it, when the read before it brought
    every account it touches (a conversion account made just now was not)."""
    touched = {posting.account_id for posting in transaction.postings}
    if known is None or not touched <= known.keys():
        return None
    stored = replace(transaction, postings=transaction.postings_in_lock_order)
    return TransactionView(stored, {id_: known[id_] for id_ in sorted(touched)})


def _first_result(transaction: Transaction) -> dict[str, Any]:
    """The result kept under the idempotency key; the ledger fills in the number."""
    result = Recorded(transaction_id=transaction.id, number=0).to_json()
    del result["number"]
    return result


# The rules every line follows, whatever its currency.


def _kind(command: RecordExpense | RecordIncome) -> AccountType:
    return AccountType.EXPENSE if isinstance(command, RecordExpense) else AccountType.INCOME


def _named_accounts(command: RecordCommand) -> list[int]:
    if isinstance(command, RecordExpense | RecordIncome):
        named = [command.account_id, command.category_id]
    else:
        named = [command.from_account_id, command.to_account_id]
    return [account_id for account_id in named if account_id is not None]


def _transfer_sides(
    known: dict[int, Account], member: Member, command: RecordTransfer
) -> tuple[Account, Account]:
    source = _usable_account(known.get(command.from_account_id), command.from_account_id, member)
    target = _usable_account(known.get(command.to_account_id), command.to_account_id, member)
    if source.id == target.id:
        raise SameAccountTransfer("a transfer needs two different accounts")
    return source, target


def _chosen(account_id: int | None, member: Member) -> int:
    chosen = account_id if account_id is not None else member.default_account_id
    if chosen is None:
        raise UnknownAccount("")
    return chosen


def _usable_account(account: Account | None, account_id: int | None, member: Member) -> Account:
    if (
        account is None
        or account.household_id != member.household_id
        or not account.type.holds_money
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
