"""Accounts, categories, aliases and settings, on real PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from finance_bot.application import directory, household
from finance_bot.application.household import join_household, vocabulary_for
from finance_bot.domain.accounts import AccountType, visible
from finance_bot.domain.commands import RecordExpense, Vocabulary
from finance_bot.domain.errors import (
    AccountArchived,
    InvalidName,
    NameAlreadyTaken,
    NotAMember,
    UnknownAccount,
    UnknownCategory,
)
from finance_bot.ports.unit_of_work import UnitOfWorkFactory
from tests.support.household import LedgerWorld, ledger_world, new_telegram_id, uah

pytestmark = pytest.mark.postgres
DAY = date(2026, 11, 20)


async def test_first_members_found_one_household_with_defaults(fresh_database_url: str) -> None:
    async with ledger_world(fresh_database_url) as world:
        alice, bob = new_telegram_id(), new_telegram_id()
        # both first messages at once: still one household
        joined = await asyncio.gather(
            join_household(alice, language="ru", currency="UAH", uow_factory=world.uow_factory),
            join_household(bob, language="en", currency="UAH", uow_factory=world.uow_factory),
        )
        assert joined[0].household_id == joined[1].household_id
        again = await join_household(
            alice, language="ru", currency="UAH", uow_factory=world.uow_factory
        )
        assert again == joined[0]
        view = await directory.list_accounts(alice, uow_factory=world.uow_factory)
        assert [a.code for a in view.accounts] == ["card", "cash"]
        assert view.default_account_id == view.accounts[0].id
        categories = await directory.list_categories(alice, uow_factory=world.uow_factory)
        codes = {c.category.code for c in categories}
        assert {"products", "cafe", "coffee", "lunch", "taxi", "other", "salary"} <= codes
        cafe = next(c for c in categories if c.category.code == "cafe")
        # whoever came first named the categories in their language; both words work
        assert {"cafe", "кафе"} <= {*cafe.aliases, cafe.category.name}


async def test_strangers_are_not_served(world: LedgerWorld) -> None:
    with pytest.raises(NotAMember):
        await directory.list_accounts(new_telegram_id(), uow_factory=world.uow_factory)


async def test_add_account_shared_default_and_archive(world: LedgerWorld) -> None:
    (alice, bob) = await world.new_household()
    uow = world.uow_factory
    savings = await directory.add_account(
        alice, "Копилка", shared=True, currency="UAH", uow_factory=uow
    )
    with pytest.raises(NameAlreadyTaken):
        await directory.add_account(alice, "копилка", shared=False, currency="UAH", uow_factory=uow)
    with pytest.raises(InvalidName):
        await directory.add_account(alice, "   ", shared=False, currency="UAH", uow_factory=uow)
    bobs_view = await directory.list_accounts(bob, uow_factory=uow)
    assert savings.id in {a.id for a in bobs_view.accounts}
    chosen = await directory.set_default_account(bob, "копилка", uow_factory=uow)
    assert chosen.id == savings.id
    cafe = (await world.accounts(bob))["cafe"].id
    await world.record(RecordExpense(uah(5), cafe, None, DAY), bob)
    assert await world.balance(savings.id) == -500
    with pytest.raises(InvalidName):  # the default account cannot be archived
        await directory.archive_account(bob, "копилка", uow_factory=uow)
    cash = await directory.archive_account(alice, "наличные", uow_factory=uow)
    with pytest.raises(AccountArchived):
        await world.record(RecordExpense(uah(5), cafe, cash.id, DAY), alice)
    with pytest.raises(UnknownAccount):
        await directory.set_default_account(alice, "наличные", uow_factory=uow)


async def test_new_category_and_aliases_reach_the_vocabulary(world: LedgerWorld) -> None:
    (alice, bob) = await world.new_household()
    uow = world.uow_factory
    pets = await directory.add_category(
        alice,
        "Питомцы",
        ["кот", "vet"],
        kind=AccountType.EXPENSE,
        currency="UAH",
        uow_factory=uow,
    )
    with pytest.raises(NameAlreadyTaken):
        await directory.add_category(
            bob, "питомцы", [], kind=AccountType.EXPENSE, currency="UAH", uow_factory=uow
        )
    await directory.add_aliases(bob, "питомцы", ["корм"], uow_factory=uow)
    # a word that names another category never moves silently (issue 9)
    with pytest.raises(NameAlreadyTaken):
        await directory.add_aliases(bob, "питомцы", ["такси"], uow_factory=uow)
    with pytest.raises(UnknownCategory):
        await directory.add_aliases(bob, "нет такой", ["x"], uow_factory=uow)
    async with uow() as unit:
        member = await unit.directory.member(alice)
        assert member is not None
        vocabulary = await vocabulary_for(unit, member)
    for word in ("питомцы", "кот", "vet", "корм"):
        assert vocabulary.expense_aliases[word] == pets.id
    assert vocabulary.expense_aliases["такси"] != pets.id
    assert await directory.remove_alias(alice, "корм", uow_factory=uow)
    assert not await directory.remove_alias(alice, "корм", uow_factory=uow)
    with pytest.raises(InvalidName):
        await directory.remove_alias(alice, "питомцы", uow_factory=uow)


async def test_names_made_of_invisible_marks_are_refused_and_marks_never_hide_a_taken_name(
    world: LedgerWorld,
) -> None:
    """A line drops marks no one sees (a zero-width space, a bidi mark), so a name that
    holds them could never be typed: "нал\u200e" beside "нал" would be an account no line
    reaches, and "\u200b" one whose name no one can read."""
    (alice, _) = await world.new_household()
    uow = world.uow_factory
    before = {a.id for a in (await directory.list_accounts(alice, uow_factory=uow)).accounts}
    with pytest.raises(InvalidName):
        await directory.add_account(alice, "\u200b", shared=False, currency="UAH", uow_factory=uow)
    with pytest.raises(InvalidName):
        await directory.add_category(
            alice, "\u200e", [], kind=AccountType.EXPENSE, currency="UAH", uow_factory=uow
        )
    with pytest.raises(InvalidName):
        await directory.add_aliases(alice, "кафе", ["\u2060"], uow_factory=uow)
    with pytest.raises(NameAlreadyTaken):
        await directory.add_account(
            alice, "наличные\u200e", shared=False, currency="UAH", uow_factory=uow
        )
    kept = await directory.add_account(
        alice, "\u2068Копилка\u2069", shared=False, currency="UAH", uow_factory=uow
    )
    assert kept.name == "Копилка"
    await directory.add_aliases(alice, "кафе", ["ка\u200bфешка"], uow_factory=uow)
    after = {a.id for a in (await directory.list_accounts(alice, uow_factory=uow)).accounts}
    assert after == before | {kept.id}
    async with uow() as unit:
        member = await unit.directory.member(alice)
        assert member is not None
        vocabulary = await vocabulary_for(unit, member)
    cafe = (await world.accounts(alice))["cafe"].id
    assert vocabulary.expense_aliases["кафешка"] == cafe
    assert vocabulary.account_names["копилка"] == kept.id
    words = [*vocabulary.expense_aliases, *vocabulary.income_aliases, *vocabulary.account_names]
    assert [word for word in words if visible(word) != word] == []


async def test_language_is_remembered(world: LedgerWorld) -> None:
    (alice, _) = await world.new_household()
    await directory.set_language(alice, "en", uow_factory=world.uow_factory)
    async with world.uow_factory() as uow:
        member = await uow.directory.member(alice)
    assert member is not None
    assert member.language == "en"
    with pytest.raises(InvalidName):
        await directory.set_language(alice, "de", uow_factory=world.uow_factory)


async def test_a_name_taken_over_by_the_first_version_is_the_categorys_again(
    world: LedgerWorld,
) -> None:
    """The first version let "кафе" become an alias of groceries (issue 9): the category
    named "кафе" wins in lines, and /unalias removes the stolen link."""
    (alice, _) = await world.new_household()
    accounts = await world.accounts(alice)
    async with world.uow_factory() as unit:
        member = await unit.directory.member(alice)
        assert member is not None
        await unit.directory.add_alias(member.household_id, "кафе", accounts["products"].id)
        await unit.commit()
    async with world.uow_factory() as unit:
        assert (await vocabulary_for(unit, member)).expense_aliases["кафе"] == accounts["cafe"].id
    assert await directory.remove_alias(alice, "кафе", uow_factory=world.uow_factory)
    async with world.uow_factory() as unit:
        links = (await unit.directory.aliases(member.household_id))["кафе"]
    assert links == [accounts["cafe"].id]
    with pytest.raises(InvalidName):
        await directory.remove_alias(alice, "кафе", uow_factory=world.uow_factory)


async def test_words_in_one_round_trip_are_what_the_separate_reads_give(
    world: LedgerWorld,
) -> None:
    (alice, _bob) = await world.new_household()
    uow = world.uow_factory
    await directory.add_category(
        alice, "Питомцы", ["кот"], kind=AccountType.EXPENSE, currency="UAH", uow_factory=uow
    )
    cash = await directory.archive_account(alice, "наличные", uow_factory=uow)
    async with uow(transactional=False) as unit:
        words = await unit.directory.words(alice)
        member = await unit.directory.member(alice)
        assert member is not None
        accounts = await unit.directory.accounts(member.household_id)
        aliases = await unit.directory.aliases(member.household_id)
        stranger = await unit.directory.words(new_telegram_id())
    assert words is not None
    assert words.member == member
    assert words.accounts == accounts
    assert cash.id not in {a.id for a in words.accounts}  # archived: not a word
    assert words.aliases == aliases
    assert "кот" in words.aliases
    assert stranger is None
    assert await household.vocabulary(alice, uow_factory=uow) == await _vocabulary_for(uow, alice)


async def _vocabulary_for(uow: UnitOfWorkFactory, telegram_id: int) -> Vocabulary:
    async with uow(transactional=False) as unit:
        member = await unit.directory.member(telegram_id)
        assert member is not None
        return await vocabulary_for(unit, member)
