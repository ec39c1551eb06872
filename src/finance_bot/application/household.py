"""The household: who belongs, what they start with, and the words their lines may use."""

from __future__ import annotations

from dataclasses import replace

from finance_bot.application.defaults import (
    DEFAULT_ACCOUNT_CODE,
    DEFAULT_ACCOUNTS,
    DEFAULT_CATEGORIES,
)
from finance_bot.domain.accounts import Account, AccountType, normalize_name
from finance_bot.domain.commands import Vocabulary
from finance_bot.domain.errors import NotAMember
from finance_bot.ports.records import Member
from finance_bot.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory


async def join_household(
    telegram_id: int,
    *,
    language: str,
    currency: str,
    uow_factory: UnitOfWorkFactory,
    display_name: str | None = None,
    telegram_language: str | None = None,
) -> Member:
    """Make a whitelisted person a member, creating the household on the first join.

    Everyone on the whitelist shares one household. Called on every message: an existing
    member is returned as is, their Telegram name and language refreshed if they changed.
    `currency` is used only when this founds the household.
    """
    profile = (display_name, telegram_language)
    async with uow_factory(
        transactional=False, person=telegram_id
    ) as reading:  # the common case: one round trip
        existing = await reading.directory.member(telegram_id)
    if existing is not None and profile == (existing.display_name, existing.telegram_language):
        return existing
    async with uow_factory(person=telegram_id) as uow:
        existing = await uow.directory.member(telegram_id)
        if existing is not None:
            await uow.directory.set_profile(telegram_id, *profile)
            await uow.commit()
            return replace(existing, display_name=display_name, telegram_language=telegram_language)
        await uow.directory.lock_households()
        existing = await uow.directory.member(telegram_id)  # joined while we waited
        if existing is not None:
            return existing
        household_id = await uow.directory.first_household()
        if household_id is None:
            household_id = await found_household(uow, language=language, currency=currency)
        # Not a member yet, the person's unit of work was bound to no household.
        await uow.bind(household_id)
        # The household's own currency, not the configured one: the configuration only
        # seeds a household when it is founded.
        own = await uow.directory.household_currency(household_id)
        await enroll(uow, telegram_id, household_id, language=language, currency=own)
        await uow.directory.set_profile(telegram_id, *profile)
        member = await require_member(uow, telegram_id)
        await uow.commit()
        return member


async def found_household(uow: UnitOfWork, *, language: str, currency: str) -> int:
    """A new household with the default categories and their aliases in both languages."""
    household_id = await uow.directory.create_household(currency)
    for default in DEFAULT_CATEGORIES:
        category = await uow.directory.add_account(
            household_id=household_id,
            type=default.type,
            name=default.name(language),
            currency=currency,
            owner_telegram_id=None,
            code=default.code,
        )
        for alias in {normalize_name(a) for a in (*default.aliases, *default.names.values())}:
            await uow.directory.add_alias(household_id, alias, category.id)
    return household_id


async def enroll(
    uow: UnitOfWork, telegram_id: int, household_id: int, *, language: str, currency: str
) -> Member:
    """Add a person to a household with their own default accounts."""
    await uow.directory.add_member(telegram_id, household_id, None)
    default_account_id = None
    for default in DEFAULT_ACCOUNTS:
        account = await uow.directory.add_account(
            household_id=household_id,
            type=default.type,
            name=default.name(language),
            currency=currency,
            owner_telegram_id=telegram_id,
            code=default.code,
        )
        if default.code == DEFAULT_ACCOUNT_CODE:
            default_account_id = account.id
    assert default_account_id is not None
    await uow.directory.set_default_account(telegram_id, default_account_id)
    member = await uow.directory.member(telegram_id)
    assert member is not None
    return member


async def require_member(uow: UnitOfWork, telegram_id: int) -> Member:
    member = await uow.directory.member(telegram_id)
    if member is None:
        raise NotAMember(telegram_id)
    return member


def visible_to(account: Account, telegram_id: int) -> bool:
    """A person sees their own accounts and the shared ones, and every category."""
    return account.owner_telegram_id in (None, telegram_id)


async def vocabulary_for(uow: UnitOfWork, member: Member) -> Vocabulary:
    accounts = await uow.directory.accounts(member.household_id)
    by_id = {a.id: a for a in accounts}
    expense: dict[str, int] = {}
    income: dict[str, int] = {}
    # A category's own name first: an alias the first version let another category take
    # ("кафе" -> groceries) cannot hide the category that bears the name.
    for category in accounts:
        if category.type.is_category and not category.archived:
            target = expense if category.type is AccountType.EXPENSE else income
            target[normalize_name(category.name)] = category.id
    for alias, category_ids in (await uow.directory.aliases(member.household_id)).items():
        for category_id in category_ids:
            aliased = by_id.get(category_id)
            if aliased is None or aliased.archived:
                continue
            target = expense if aliased.type is AccountType.EXPENSE else income
            target.setdefault(alias, category_id)
    return Vocabulary(
        expense_aliases=expense,
        income_aliases=income,
        account_names=_account_names(accounts, member.telegram_id),
        # An amount written without a currency is in its account's.
        account_currencies={a.id: a.currency for a in accounts if a.type.holds_money},
    )


def _account_names(accounts: list[Account], telegram_id: int) -> dict[str, int]:
    default_aliases = {d.code: d.aliases for d in DEFAULT_ACCOUNTS}
    names: dict[str, int] = {}
    # Shared first, own last: a person's own "карта" wins over a shared one of that name.
    ordered = sorted(
        (a for a in accounts if a.type.holds_money and not a.archived),
        key=lambda a: a.owner_telegram_id is not None,
    )
    for account in ordered:
        if not visible_to(account, telegram_id):
            continue
        names[normalize_name(account.name)] = account.id
        for alias in default_aliases.get(account.code or "", ()):
            names.setdefault(normalize_name(alias), account.id)
    return names


async def vocabulary(telegram_id: int, *, uow_factory: UnitOfWorkFactory) -> Vocabulary:
    """The words a person's lines are matched against (their accounts, shared ones, categories)."""
    async with uow_factory(transactional=False, person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        return await vocabulary_for(uow, member)


async def household_members(telegram_id: int, *, uow_factory: UnitOfWorkFactory) -> list[Member]:
    async with uow_factory(transactional=False, person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        return await uow.directory.members(member.household_id)
