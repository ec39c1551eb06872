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
from finance_bot.ports.records import Member, Membership, Words
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
    """Make a whitelisted person a member, creating the household on the first join."""
    joined = await join_whitelisted(
        telegram_id,
        language=language,
        currency=currency,
        uow_factory=uow_factory,
        display_name=display_name,
        telegram_language=telegram_language,
    )
    return joined.member


async def join_whitelisted(
    telegram_id: int,
    *,
    language: str,
    currency: str,
    uow_factory: UnitOfWorkFactory,
    display_name: str | None = None,
    telegram_language: str | None = None,
    whitelist: frozenset[int] | None = None,
    with_words: bool = False,
) -> Membership:
    """The whitelisted person's membership and their household's settings.

    Everyone on the whitelist shares one household: with SIGNUP=whitelist the first one,
    as ever; with `whitelist` given (the other modes, where anyone may have founded the
    first), the one a whitelisted person is in. Called on every message: an existing
    member is returned as is, their Telegram name and language refreshed if they changed.
    `currency` is used only when this founds the household.
    """
    existing = await current_membership(
        telegram_id,
        uow_factory=uow_factory,
        display_name=display_name,
        telegram_language=telegram_language,
        with_words=with_words,
    )
    if existing is not None:
        return existing
    profile = (display_name, telegram_language)
    # Not a member yet: the person's unit of work is bound to no household until it
    # knows which one they join.
    async with uow_factory(person=telegram_id) as uow:
        await uow.directory.lock_households()
        existing = await joined_meanwhile(uow, telegram_id)
        if existing is not None:
            return existing
        # Left once, and now on the operator's list: with SIGNUP=whitelist back where they
        # left last, as ever; in the other modes the whitelist's household comes first, so
        # the whitelist shares one household (docs/adr/0025).
        former = await uow.membership.former_household(telegram_id)
        if whitelist is None:
            household_id = former or await uow.directory.first_household()
        else:
            household_id = await uow.membership.household_of_any(whitelist) or former
        if household_id is None:
            # create_household binds the unit of work to the new household.
            household_id = await found_household(uow, language=language, currency=currency)
        await uow.bind(household_id)
        if not await uow.membership.rejoin(telegram_id, household_id):
            # The household's own currency, not the configured one: the configuration only
            # seeds a household when it is founded.
            own = await uow.directory.household_currency(household_id)
            await enroll(uow, telegram_id, household_id, language=language, currency=own)
        await uow.directory.set_profile(telegram_id, *profile)
        joined = await uow.membership.membership(telegram_id)
        if joined is None:
            raise NotAMember(telegram_id)
        await uow.commit()
        return joined


async def joined_meanwhile(uow: UnitOfWork, telegram_id: int) -> Membership | None:
    """In a unit of work opened for a person who was no member then (bound to nothing):
    their membership if they have become one since, the unit of work then bound to it."""
    household_id = await uow.membership.household_of(telegram_id)
    if household_id is None:
        return None
    await uow.bind(household_id)
    return await uow.membership.membership(telegram_id)


async def current_membership(
    telegram_id: int,
    *,
    uow_factory: UnitOfWorkFactory,
    display_name: str | None = None,
    telegram_language: str | None = None,
    with_words: bool = False,
) -> Membership | None:
    """A member's membership now, their Telegram name and language refreshed if they
    changed; None for anyone in no household. Called on every message; `with_words` when
    it brings a line, whose words come in the same read (docs/adr/0027)."""
    profile = (display_name, telegram_language)
    async with uow_factory(
        transactional=False, person=telegram_id
    ) as reading:  # the common case: one round trip
        existing = await reading.membership.membership(telegram_id, with_words=with_words)
    if existing is None or profile == (
        existing.member.display_name,
        existing.member.telegram_language,
    ):
        return existing
    async with uow_factory(person=telegram_id) as uow:
        existing = await uow.membership.membership(telegram_id)
        if existing is None:
            return None  # left meanwhile
        await uow.directory.set_profile(telegram_id, *profile)
        await uow.commit()
    member = replace(
        existing.member, display_name=display_name, telegram_language=telegram_language
    )
    return replace(existing, member=member, words=None)  # read again when needed


async def found_household(
    uow: UnitOfWork, *, language: str, currency: str, household_id: int | None = None
) -> int:
    """A new household with the default categories and their aliases in both languages;
    `household_id`: its row is made already (membership.found_household)."""
    if household_id is None:
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
    aliases = await uow.directory.aliases(member.household_id)
    return _vocabulary(member, accounts, aliases)


def _vocabulary(
    member: Member, accounts: list[Account], aliases: dict[str, list[int]]
) -> Vocabulary:
    by_id = {a.id: a for a in accounts}
    expense: dict[str, int] = {}
    income: dict[str, int] = {}
    # A category's own name first: an alias the first version let another category take
    # ("кафе" -> groceries) cannot hide the category that bears the name.
    for category in accounts:
        if category.type.is_category and not category.archived:
            target = expense if category.type is AccountType.EXPENSE else income
            target[normalize_name(category.name)] = category.id
    for alias, category_ids in aliases.items():
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
    return vocabulary_of(await words(telegram_id, uow_factory=uow_factory))


async def words(telegram_id: int, *, uow_factory: UnitOfWorkFactory) -> Words:
    """What a person's lines are read against, and what recording one of them needs."""
    async with uow_factory(
        transactional=False, person=telegram_id
    ) as uow:  # one round trip: every text line
        found = await uow.directory.words(telegram_id)
    if found is None:
        raise NotAMember(telegram_id)
    return found


def vocabulary_of(words: Words) -> Vocabulary:
    """A person's vocabulary depends on them and their household's words alone: worked out
    once for words the storage keeps between lines (never mutated afterwards)."""
    telegram_id = words.member.telegram_id
    found = words.derived.get(telegram_id)
    if found is None:
        found = words.derived[telegram_id] = _vocabulary(
            words.member, words.accounts, words.aliases
        )
    return found


async def household_members(telegram_id: int, *, uow_factory: UnitOfWorkFactory) -> list[Member]:
    async with uow_factory(transactional=False, person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        return await uow.directory.members(member.household_id)
