"""Managing accounts, categories, aliases and a person's settings."""

from __future__ import annotations

from dataclasses import dataclass

from finance_bot.application.household import require_member, visible_to, vocabulary_for
from finance_bot.domain.accounts import Account, AccountType, normalize_name, visible
from finance_bot.domain.currencies import is_known
from finance_bot.domain.errors import (
    DefaultAccountKept,
    InvalidName,
    NameAlreadyTaken,
    UnknownAccount,
    UnknownCategory,
    UnknownCurrency,
)
from finance_bot.domain.languages import LANGUAGES
from finance_bot.ports.records import Member
from finance_bot.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

MAX_NAME_LENGTH = 40


@dataclass(frozen=True, slots=True)
class AccountsView:
    default_account_id: int | None
    accounts: tuple[Account, ...]  # own first, then shared


@dataclass(frozen=True, slots=True)
class CategoryView:
    category: Account
    aliases: tuple[str, ...]


def _clean_name(name: str) -> str:
    # Without invisible marks: a line drops them, so a name holding one could never be typed.
    cleaned = " ".join(visible(name).split())
    if (
        not cleaned
        or len(cleaned) > MAX_NAME_LENGTH
        or cleaned[0] in "@#/+-"
        or cleaned[0].isdigit()
    ):
        raise InvalidName(name)
    return cleaned


async def list_accounts(telegram_id: int, *, uow_factory: UnitOfWorkFactory) -> AccountsView:
    async with uow_factory(transactional=False, person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        return AccountsView(member.default_account_id, tuple(await _visible_accounts(uow, member)))


async def add_account(
    telegram_id: int,
    name: str,
    *,
    shared: bool,
    currency: str | None = None,
    uow_factory: UnitOfWorkFactory,
) -> Account:
    """A personal or shared account, in `currency` (any ISO 4217 one) or the base one.

    An account in another currency gets the household's conversion accounts for it and
    the base at once, so its first converted entry finds them made.
    """
    cleaned = _clean_name(name)
    if currency is not None and not is_known(currency):
        raise UnknownCurrency(currency)
    async with uow_factory(person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        await _refuse_taken(uow, member, [cleaned], kind=None)
        base = await uow.directory.household_currency(member.household_id)
        chosen = currency or base
        account = await uow.directory.add_account(
            household_id=member.household_id,
            type=AccountType.ASSET,
            name=cleaned,
            currency=chosen,
            owner_telegram_id=None if shared else telegram_id,
        )
        if chosen != base:
            await uow.directory.conversion_accounts(member.household_id, [chosen, base])
        await uow.commit()
        return account


async def set_default_account(
    telegram_id: int, name: str, *, uow_factory: UnitOfWorkFactory
) -> Account:
    async with uow_factory(person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        account = await _find_account(uow, member, name)
        await uow.directory.set_default_account(telegram_id, account.id)
        await uow.commit()
        return account


async def archive_account(
    telegram_id: int, name: str, *, uow_factory: UnitOfWorkFactory
) -> Account:
    """Hide an account from lines and lists; its history and balance stay in the ledger."""
    async with uow_factory(person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        account = await _find_account(uow, member, name)
        if account.id == member.default_account_id:
            raise DefaultAccountKept(account.name)
        await uow.directory.archive_account(account.id)
        await uow.commit()
        return account


async def rename_account(
    telegram_id: int, name: str, new_name: str, *, uow_factory: UnitOfWorkFactory
) -> Account:
    cleaned = _clean_name(new_name)
    async with uow_factory(person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        account = await _find_account(uow, member, name)
        await _refuse_taken(uow, member, [cleaned], kind=None, owner=account.id)
        await uow.directory.rename_account(account.id, cleaned)
        await uow.commit()
        return account


async def list_categories(
    telegram_id: int, *, uow_factory: UnitOfWorkFactory
) -> list[CategoryView]:
    async with uow_factory(transactional=False, person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        aliases = await uow.directory.aliases(member.household_id)
        by_category: dict[int, list[str]] = {}
        for alias, category_ids in sorted(aliases.items()):
            for category_id in category_ids:
                by_category.setdefault(category_id, []).append(alias)
        return [
            CategoryView(
                c, tuple(a for a in by_category.get(c.id, []) if a != normalize_name(c.name))
            )
            for c in await uow.directory.accounts(member.household_id)
            if c.type.is_category
        ]


async def add_category(
    telegram_id: int,
    name: str,
    aliases: list[str],
    *,
    kind: AccountType,
    currency: str,
    uow_factory: UnitOfWorkFactory,
) -> Account:
    cleaned = _clean_name(name)
    words = [cleaned, *(_clean_name(a) for a in aliases)]
    async with uow_factory(person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        # The name is taken by any alias; an alias only by one of a category of its kind.
        await _refuse_taken(uow, member, [cleaned], kind=None)
        await _refuse_taken(uow, member, words[1:], kind=kind)
        category = await uow.directory.add_account(
            household_id=member.household_id,
            type=kind,
            name=cleaned,
            currency=currency,
            owner_telegram_id=None,
        )
        for alias in {normalize_name(word) for word in words}:
            await uow.directory.add_alias(member.household_id, alias, category.id)
        await uow.commit()
        return category


async def add_aliases(
    telegram_id: int, category_name: str, aliases: list[str], *, uow_factory: UnitOfWorkFactory
) -> Account:
    words = [_clean_name(alias) for alias in aliases]
    if not words:
        raise InvalidName(category_name)
    async with uow_factory(person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        key = normalize_name(category_name)
        category = await _category_named(uow, member, key, AccountType.EXPENSE)
        category = category or await _category_named(uow, member, key, AccountType.INCOME)
        if category is None:
            raise UnknownCategory(category_name)
        await _refuse_taken(uow, member, words, kind=category.type, owner=category.id)
        for word in words:
            await uow.directory.add_alias(member.household_id, normalize_name(word), category.id)
        await uow.commit()
        return category


async def remove_alias(telegram_id: int, alias: str, *, uow_factory: UnitOfWorkFactory) -> bool:
    async with uow_factory(person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        key = normalize_name(alias)
        categories = await uow.directory.accounts(member.household_id)
        # A category's own name is not an alias to remove; every other link of the word is.
        owners = {c.id for c in categories if c.type.is_category and normalize_name(c.name) == key}
        linked = (await uow.directory.aliases(member.household_id)).get(key, [])
        removable = [category_id for category_id in linked if category_id not in owners]
        if owners and not removable:
            raise InvalidName(alias)
        await uow.directory.remove_alias(member.household_id, key)
        for owner in owners:
            await uow.directory.add_alias(member.household_id, key, owner)
        await uow.commit()
        return bool(removable)


async def set_language(telegram_id: int, language: str, *, uow_factory: UnitOfWorkFactory) -> None:
    if language not in LANGUAGES:
        raise InvalidName(language)
    async with uow_factory(person=telegram_id) as uow:
        await require_member(uow, telegram_id)
        await uow.directory.set_language(telegram_id, language)
        await uow.commit()


async def _visible_accounts(uow: UnitOfWork, member: Member) -> list[Account]:
    accounts = [
        a
        for a in await uow.directory.accounts(member.household_id)
        # the conversion accounts (equity) only carry money across currencies
        if a.type.holds_money and visible_to(a, member.telegram_id)
    ]
    accounts.sort(key=lambda a: (a.owner_telegram_id is None, a.id))
    return accounts


async def _refuse_taken(
    uow: UnitOfWork,
    member: Member,
    words: list[str],
    *,
    kind: AccountType | None,
    owner: int | None = None,
) -> None:
    """Refuse a word that already names or aliases something else: nothing moves silently.

    A word is taken by any category's or visible account's name (and an account's built-in
    words, like "нал"); an alias is taken by categories of the same kind, since an expense
    and an income category may share one ("подарок"). `kind` None: the word is a name (of
    an account or a category), which no alias of either kind may share. `owner`: the account
    or category the words are for.
    """
    vocabulary = await vocabulary_for(uow, member)
    accounts = await uow.directory.accounts(member.household_id)
    names = {a.id: a.name for a in accounts}
    taken: dict[str, int] = {}
    for account in accounts:
        if account.type.is_category or visible_to(account, member.telegram_id):
            taken[normalize_name(account.name)] = account.id
    for key, account_id in vocabulary.account_names.items():
        taken.setdefault(key, account_id)
    for table_kind, table in (
        (AccountType.EXPENSE, vocabulary.expense_aliases),
        (AccountType.INCOME, vocabulary.income_aliases),
    ):
        if kind is None or kind is table_kind:
            for key, category_id in table.items():
                taken.setdefault(key, category_id)
    for word in words:
        holder = taken.get(normalize_name(word))
        if holder is not None and holder != owner:
            raise NameAlreadyTaken(word, holder=names.get(holder, word))


async def _find_account(uow: UnitOfWork, member: Member, name: str) -> Account:
    key = normalize_name(name.lstrip("@"))
    for account in await _visible_accounts(uow, member):
        if normalize_name(account.name) == key:
            return account
    raise UnknownAccount(name)


async def _category_named(
    uow: UnitOfWork, member: Member, key: str, kind: AccountType
) -> Account | None:
    aliases = await uow.directory.aliases(member.household_id)
    for category in await uow.directory.accounts(member.household_id):
        if category.type is not kind:
            continue
        if normalize_name(category.name) == key or category.id in aliases.get(key, []):
            return category
    return None


async def find_category(
    telegram_id: int, name: str, kind: AccountType, *, uow_factory: UnitOfWorkFactory
) -> Account:
    async with uow_factory(transactional=False, person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        category = await _category_named(uow, member, normalize_name(name), kind)
        if category is None:
            raise UnknownCategory(name)
        return category
