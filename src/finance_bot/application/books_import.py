"""Loading a CSV export into the books (docs/product.md §13, docs/adr/0019).

The file's transactions keep their ids, numbers, dates, authors, notes, tags, conversions
and void links. They go into the household their people already belong to (an import of a
file loaded before adds nothing), or into a new household when none of them is known: the
database's first, or with `new_household` a further one. Everything happens in one database
transaction, which the ledger's own checks close: a file that does not fit is refused with
the line it concerns, and nothing is written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from uuid import UUID

from finance_bot.application.defaults import (
    DEFAULT_ACCOUNT_CODE,
    DEFAULT_ACCOUNTS,
    DEFAULT_CATEGORIES,
    DefaultAccount,
)
from finance_bot.domain.accounts import AccountType, normalize_name
from finance_bot.domain.money import Money
from finance_bot.domain.transactions import Conversion, TransactionKind
from finance_bot.ports.books_import import (
    AccountKey,
    BookedTransaction,
    BooksRefused,
    BooksStore,
    BooksStoreFactory,
    Leg,
    Stored,
    StoreRefused,
)
from finance_bot.ports.export import ExportedPosting

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True, slots=True)
class Imported:
    household_id: int | None  # None: the file held no transaction
    added: int  # transactions written
    skipped: int  # transactions already there, identical
    new_household: bool


async def import_books(
    postings: Sequence[ExportedPosting],
    lines: Mapping[UUID, int],
    *,
    store_factory: BooksStoreFactory,
    language: str,
    new_household: bool = False,
) -> Imported:
    """Load checked postings (the CSV reader's) in one database transaction.

    Raises BooksRefused (with the line it concerns) when the file does not fit the
    database; nothing is written then.
    """
    transactions = booked_transactions(postings)
    if not transactions:
        return Imported(None, 0, 0, new_household=False)
    base_currency = postings[0].base_currency
    names = _member_names(postings)
    async with store_factory() as store:
        await store.lock()
        household_id, founding = await _household(store, names, new_household, base_currency)
        stored = await store.stored([t.id for t in transactions])
        fresh = _fresh(transactions, stored, household_id, lines)
        if not fresh:
            return Imported(household_id, 0, len(transactions), new_household=False)
        if founding:
            household_id = await store.create_household(base_currency)
        assert household_id is not None
        await _numbers_free(store, household_id, fresh, lines)
        known = await store.households_of(names)
        await store.add_members(household_id, {k: v for k, v in names.items() if k not in known})
        try:
            accounts = await _accounts(
                store,
                household_id,
                fresh,
                currency=base_currency,
                language=language,
                founding=founding,
            )
            await _write(store, household_id, transactions, fresh, accounts)
        except StoreRefused as refused:
            raise _refusal(refused, lines) from None
    return Imported(household_id, len(fresh), len(transactions) - len(fresh), founding)


async def _write(
    store: BooksStore,
    household_id: int,
    transactions: Sequence[BookedTransaction],
    fresh: Sequence[BookedTransaction],
    accounts: Mapping[AccountKey, int],
) -> None:
    await store.add_transactions(household_id, fresh, accounts)
    fresh_ids = {t.id for t in fresh}
    await store.link_voids(
        [(t.id, t.voided_by) for t in transactions if t.voided_by and t.voided_by in fresh_ids]
    )
    await store.raise_last_number(household_id, max(t.number for t in fresh))
    await store.commit()  # the ledger's checks at COMMIT judge the whole file


def booked_transactions(postings: Sequence[ExportedPosting]) -> list[BookedTransaction]:
    """The postings (contiguous per transaction, as the reader checked) as transactions."""
    groups: list[list[ExportedPosting]] = []
    for posting in postings:
        if groups and groups[-1][0].transaction_id == posting.transaction_id:
            groups[-1].append(posting)
        else:
            groups.append([posting])
    return [_transaction(group) for group in groups]


def _transaction(postings: Sequence[ExportedPosting]) -> BookedTransaction:
    first = postings[0]
    exported = first.conversion
    conversion = (
        Conversion(
            Money.from_decimal(exported.from_amount, exported.from_currency),
            Money.from_decimal(exported.to_amount, exported.to_currency),
            exported.rate,
        )
        if exported is not None
        else None
    )
    return BookedTransaction(
        id=first.transaction_id,
        number=first.number,
        booked_on=first.booked_on,
        kind=TransactionKind(first.kind),
        author_telegram_id=first.author_telegram_id,
        note=first.note,
        tags=first.tags,
        voids=first.voids,
        voided_by=first.voided_by,
        conversion=conversion,
        legs=tuple(
            Leg(
                AccountKey(
                    p.account_name,
                    AccountType(p.account_type),
                    p.account_code,
                    p.account_owner_telegram_id,
                    p.currency,
                ),
                Money.from_decimal(p.amount, p.currency).amount_minor,
            )
            for p in postings
        ),
    )


def _member_names(postings: Sequence[ExportedPosting]) -> dict[int, str]:
    names: dict[int, str] = {}
    for posting in postings:
        names[posting.author_telegram_id] = posting.author_name
        if posting.account_owner_telegram_id is not None:
            names.setdefault(posting.account_owner_telegram_id, "")
    return names


async def _household(
    store: BooksStore, names: Mapping[int, str], new_household: bool, base_currency: str
) -> tuple[int | None, bool]:
    """The household the file goes into, and whether it is still to be founded."""
    known = await store.households_of(names)
    households = set(known.values())
    if len(households) > 1:
        raise BooksRefused(None, "the file's people belong to different households here")
    if households:
        (household_id,) = households
        currency = await store.household_currency(household_id)
        if currency != base_currency:
            raise BooksRefused(
                2,
                f"the file's base currency is {base_currency}, its people's household "
                f"keeps its books in {currency}",
            )
        return household_id, False
    if await store.has_households() and not new_household:
        raise BooksRefused(
            None,
            "this database already keeps a household, and none of the file's people belong "
            "to it; pass --new-household to load the file as a household of its own",
        )
    return None, True


def _fresh(
    transactions: Sequence[BookedTransaction],
    stored: Mapping[UUID, Stored],
    household_id: int | None,
    lines: Mapping[UUID, int],
) -> list[BookedTransaction]:
    """The file's transactions not in the database yet; those that are must be the same."""
    fresh = []
    new_ids = {t.id for t in transactions if t.id not in stored}
    for transaction in transactions:
        there = stored.get(transaction.id)
        if there is None:
            fresh.append(transaction)
            continue
        line = lines[transaction.id]
        if there.household_id != household_id:
            raise BooksRefused(
                line, f"transaction {transaction.id} is already kept by another household"
            )
        expected = transaction
        if transaction.voided_by in new_ids and there.transaction.voided_by is None:
            # Voided since it was loaded: the reversal is in this file, the link comes with it.
            expected = _unvoided(transaction)
        if there.transaction != expected:
            raise BooksRefused(
                line,
                f"transaction {transaction.id} (number {transaction.number}) is already here "
                f"and differs: {_difference(there.transaction, expected)}",
            )
    return fresh


def _unvoided(transaction: BookedTransaction) -> BookedTransaction:
    return replace(transaction, voided_by=None)


def _difference(there: BookedTransaction, file: BookedTransaction) -> str:
    for name in BookedTransaction.__dataclass_fields__:
        if getattr(there, name) != getattr(file, name):
            return f"its {name.replace('_', ' ')} is not the same"
    return "it is not the same"


async def _numbers_free(
    store: BooksStore,
    household_id: int,
    fresh: Sequence[BookedTransaction],
    lines: Mapping[UUID, int],
) -> None:
    taken = await store.taken_numbers(household_id, [t.number for t in fresh])
    for transaction in fresh:
        if transaction.number in taken:
            raise BooksRefused(
                lines[transaction.id],
                f"number {transaction.number} is taken by another transaction here",
            )


async def _accounts(
    store: BooksStore,
    household_id: int,
    fresh: Sequence[BookedTransaction],
    *,
    currency: str,
    language: str,
    founding: bool,
) -> dict[AccountKey, int]:
    """Every account the file's legs name, found or made. First what a household made by
    chatting has and the file cannot carry (accounts without postings are in no export):
    the default categories with their words, and each person's own card and cash, in the
    order chatting makes them, taking the file's own name where it has one."""
    accounts = await store.accounts(household_id)
    by_code: dict[tuple[AccountType, str | None, int | None], int] = {
        (a.type, a.code, a.owner_telegram_id): i for a, i in accounts.items() if a.code
    }
    named = dict.fromkeys(leg.account for t in fresh for leg in t.legs)
    in_file = {(a.type, a.code, a.owner_telegram_id): a for a in named if a.code}

    async def ensure(default: DefaultAccount, owner: int | None) -> int | None:
        found = by_code.get((default.type, default.code, owner))
        if found is not None:
            return found
        key = in_file.get((default.type, default.code, owner)) or AccountKey(
            default.name(language), default.type, default.code, owner, currency
        )
        made = await store.add_account(household_id, key)
        if made is not None:
            accounts[key] = by_code[(key.type, key.code, owner)] = made
        return made

    for category in DEFAULT_CATEGORIES:
        category_id = await ensure(category, None)
        if founding and category_id is not None:
            words = {normalize_name(w) for w in (*category.aliases, *category.names.values())}
            for word in sorted(words):
                await store.add_alias(household_id, word, category_id)
    for telegram_id, default_account in (await store.default_accounts(household_id)).items():
        made = {d.code: await ensure(d, telegram_id) for d in DEFAULT_ACCOUNTS}
        card = made[DEFAULT_ACCOUNT_CODE]
        if default_account is None and card is not None:
            await store.set_default_account(telegram_id, card)
    for key in named:
        if key not in accounts:
            account_id = await store.add_account(household_id, key)
            if account_id is None:
                raise BooksRefused(
                    None,
                    f"an account named {key.name!r} already exists here, with another type, "
                    "code or currency",
                )
            accounts[key] = account_id
    return accounts


def _refusal(refused: StoreRefused, lines: Mapping[UUID, int]) -> BooksRefused:
    line = None
    named = refused.transaction_id
    if named is None:
        found = _UUID.search(str(refused))
        named = UUID(found.group()) if found else None
    if named is not None:
        line = lines.get(named)
    return BooksRefused(line, f"the ledger refuses it: {refused}")
