"""One contract, two implementations: every test here runs against the in-memory fake and
against the PostgreSQL adapter, and asserts the same observable results on both."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from finance_bot.domain.accounts import AccountType
from finance_bot.domain.transactions import Transaction
from finance_bot.ports.records import Added, AmountByKey, Budget
from finance_bot.ports.unit_of_work import IdempotencyKeyTaken
from tests.support.household import (
    DAY,
    Household,
    LedgerWorld,
    fake_world,
    ledger_world,
    new_telegram_id,
    uah,
)

pytestmark = pytest.mark.postgres


async def void_through_repository(home: Household, transaction: Transaction) -> None:
    """What the void use case does, one repository call at a time."""
    async with home.factory() as uow:
        original = await uow.ledger.get(transaction.id)
        assert original is not None
        reversal = original.reversal(
            reversal_id=uuid.uuid4(), author_telegram_id=home.alice, booked_on=DAY
        )
        await uow.ledger.add(reversal)
        await uow.ledger.link_void(original.id, reversal.id)
        await uow.commit()


@pytest.fixture(params=["fake", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None for the fake; the async database fixtures are resolved here, outside a loop."""
    if request.param == "fake":
        return None
    url: str = request.getfixturevalue("shared_database_url")
    return url


@pytest.fixture
async def world(database_url: str | None) -> AsyncIterator[LedgerWorld]:
    if database_url is None:
        yield fake_world()
        return
    async with ledger_world(database_url, max_size=2) as postgres:
        yield postgres


@pytest.fixture
async def home(world: LedgerWorld) -> Household:
    return await world.household(language="en")


async def test_numbers_are_gapless_per_household_and_read_back(home: Household) -> None:
    first, second = home.expense(10, "coffee"), home.expense(20, "taxi")
    assert await home.add(first) == Added(1)
    async with home.factory(transactional=False) as uow:  # one statement, committed at once
        assert await uow.ledger.add(second) == Added(2)
    async with home.factory() as uow:
        stored = await uow.ledger.by_number(home.id, 2)
        assert stored is not None
        assert stored.number == 2
        ordered = tuple(sorted(second.postings, key=lambda p: p.account_id))
        assert stored == replace(second, number=2, postings=ordered)
        assert await uow.ledger.get(first.id) == await uow.ledger.by_number(home.id, 1)
        assert await uow.ledger.by_number(home.id, 3) is None
        assert await uow.ledger.last_number_by_author(home.alice) == 2
        assert await uow.ledger.last_number_by_author(home.bob) is None


async def test_a_taken_key_raises_and_writes_nothing(home: Household) -> None:
    key = f"contract-{uuid.uuid4()}"
    assert await home.add(home.expense(10, "coffee"), idempotency_key=key, result={"a": 1}) == (
        Added(1)
    )
    replay = home.expense(99, "taxi")
    for transactional in (True, False):
        async with home.factory(transactional=transactional) as uow:
            with pytest.raises(IdempotencyKeyTaken):
                await uow.ledger.add(replay, idempotency_key=key, result={"a": 2})
    async with home.factory() as uow:
        assert await uow.idempotency.stored(key) == {"a": 1, "number": 1}
        assert await uow.ledger.get(replay.id) is None
        assert await uow.ledger.add(home.expense(5, "coffee")) == Added(2)  # no number lost
        assert await uow.idempotency.claim(key) == {"a": 1, "number": 1}
        fresh = f"contract-{uuid.uuid4()}"
        assert await uow.idempotency.claim(fresh) is None
        assert await uow.idempotency.stored(fresh) is None
        await uow.idempotency.store(fresh, {"kind": "done"})
        assert await uow.idempotency.stored(fresh) == {"kind": "done"}


async def test_a_known_transaction_id_adds_nothing(home: Household) -> None:
    transaction = home.expense(10, "coffee")
    assert await home.add(transaction) == Added(1)
    key = f"contract-{uuid.uuid4()}"
    assert await home.add(transaction, idempotency_key=key) == Added(None)
    assert await home.add(home.expense(3, "coffee")) == Added(2)
    async with home.factory() as uow:
        assert await uow.idempotency.stored(key) is None  # the key was not claimed either
        card = {b.account.id: b.balance for b in await uow.reports.balances(home.id)}
        assert card[home.accounts["card"].id] == uah(-13)


async def test_balances_in_natural_sign_after_expense_and_void(home: Household) -> None:
    spent = home.expense(120, "coffee")
    await home.add(spent)
    async with home.factory() as uow:
        lines = await uow.reports.balances(home.id)
    assert [(b.account.owner_telegram_id, b.account.code) for b in lines] == [
        (home.alice, "card"),
        (home.alice, "cash"),
        (home.bob, "card"),
        (home.bob, "cash"),
    ]
    assert lines[0].balance == uah(-120)
    assert lines[1].balance == uah(0)
    await void_through_repository(home, spent)
    async with home.factory() as uow:
        assert {b.balance for b in await uow.reports.balances(home.id)} == {uah(0)}
        voided = await uow.ledger.get(spent.id)
        assert voided is not None
        assert voided.is_voided
        reversal = await uow.ledger.by_number(home.id, 2)
        assert reversal is not None
        assert reversal.voids_transaction_id == spent.id
        assert await uow.ledger.last_number_by_author(home.alice) == 1  # reversals skipped
        with pytest.raises(Exception, match="already voided"):
            await uow.ledger.link_void(spent.id, reversal.id)
    async with home.factory() as uow:
        with pytest.raises(Exception, match="reversal"):
            await uow.ledger.link_void(reversal.id, spent.id)


async def test_period_totals_leave_out_voided_transactions_and_reversals(home: Household) -> None:
    coffee, taxi = home.accounts["coffee"].id, home.accounts["taxi"].id
    await home.add(home.expense(30, "coffee"))
    voided = home.expense(500, "coffee")
    await home.add(voided)
    await home.add(home.expense(50, "taxi", author=home.bob))
    await home.add(home.expense(7, "taxi", on=date(2024, 6, 1)))  # next month
    await void_through_repository(home, voided)
    async with home.factory(transactional=False) as uow:
        totals = await uow.reports.period_totals(
            home.id, date(2024, 5, 1), date(2024, 6, 1), currency="UAH"
        )
        mine = await uow.reports.period_totals(
            home.id,
            date(2024, 5, 1),
            date(2024, 6, 1),
            currency="UAH",
            author_telegram_id=home.alice,
        )
        spent = await uow.reports.category_spending(
            home.id, date(2024, 5, 1), date(2024, 6, 1), currency="UAH"
        )
        lines = await uow.reports.last_transactions(home.id, 10)
        bobs = await uow.reports.last_transactions(home.id, 10, author_telegram_id=home.bob)
    assert totals.spending == uah(80)
    assert totals.income == uah(0)
    assert totals.by_category == (AmountByKey(taxi, uah(50)), AmountByKey(coffee, uah(30)))
    assert totals.by_person == (AmountByKey(home.bob, uah(50)), AmountByKey(home.alice, uah(30)))
    assert mine.spending == uah(30)
    assert mine.by_category == (AmountByKey(coffee, uah(30)),)
    assert spent[None] == uah(80)
    assert spent[taxi] == uah(50)
    assert spent[coffee] == uah(30)
    assert [(line.number, line.amount, line.voided) for line in lines] == [
        (4, uah(7), False),
        (3, uah(50), False),
        (1, uah(30), False),
    ]
    assert lines[0].debit_account_id == taxi
    assert lines[0].credit_account_id == home.accounts["card"].id
    assert [line.number for line in bobs] == [3]


async def test_nothing_without_commit(home: Household) -> None:
    key = f"contract-{uuid.uuid4()}"
    async with home.factory() as uow:
        assert await uow.ledger.add(home.expense(10, "coffee"), idempotency_key=key) == Added(1)
        await uow.budgets.set(home.id, None, uah(100))
        await uow.directory.add_alias(home.id, "espresso", home.accounts["coffee"].id)
        await uow.directory.set_language(home.alice, "ru")
    async with home.factory() as uow:
        assert await uow.ledger.by_number(home.id, 1) is None
        assert await uow.idempotency.stored(key) is None
        assert await uow.budgets.all(home.id) == []
        assert "espresso" not in await uow.directory.aliases(home.id)
        member = await uow.directory.member(home.alice)
        assert member is not None
        assert member.language is None
        assert await uow.ledger.add(home.expense(10, "coffee"), idempotency_key=key) == Added(1)
        await uow.commit()


async def test_an_alias_moves_between_categories_of_one_type(home: Household) -> None:
    coffee, taxi = home.accounts["coffee"].id, home.accounts["taxi"].id
    salary = home.accounts["salary"].id
    async with home.factory() as uow:
        await uow.directory.add_alias(home.id, "bolt", coffee)
        await uow.directory.add_alias(home.id, "bolt", taxi)
        await uow.directory.add_alias(home.id, "bolt", salary)  # income: kept beside
        await uow.directory.add_alias(home.id, "bolt", taxi)  # again: no change
        await uow.commit()
    async with home.factory() as uow:
        assert (await uow.directory.aliases(home.id))["bolt"] == sorted([taxi, salary])
        assert await uow.directory.remove_alias(home.id, "bolt") == 2
        assert await uow.directory.remove_alias(home.id, "bolt") == 0
        await uow.commit()


async def test_budgets_and_alerts_once(home: Household) -> None:
    taxi = home.accounts["taxi"].id
    async with home.factory() as uow:
        await uow.budgets.set(home.id, taxi, uah(100))
        await uow.budgets.set(home.id, None, uah(900))
        await uow.budgets.set(home.id, taxi, uah(150))  # replaces
        assert await uow.budgets.all(home.id) == [Budget(None, uah(900)), Budget(taxi, uah(150))]
        month = date(2024, 5, 1)
        assert await uow.budgets.record_alert(home.id, taxi, month, 80)
        assert not await uow.budgets.record_alert(home.id, taxi, month, 80)
        assert await uow.budgets.record_alert(home.id, None, month, 80)
        assert await uow.budgets.record_alert(home.id, taxi, month, 100)
        assert await uow.budgets.record_alert(home.id, taxi, date(2024, 6, 1), 80)
        assert await uow.budgets.remove(home.id, None)
        assert not await uow.budgets.remove(home.id, None)
        await uow.commit()
    async with home.factory() as uow:
        assert await uow.budgets.all(home.id) == [Budget(taxi, uah(150))]


async def test_write_context(home: Household) -> None:
    taxi, card = home.accounts["taxi"], home.accounts["card"]
    async with home.factory() as uow:
        await uow.budgets.set(home.id, taxi.id, uah(100))
        context = await uow.directory.write_context(home.alice, [taxi.id])
        assert await uow.directory.write_context(new_telegram_id(), []) is None
        members = await uow.directory.members(home.id)
    assert context is not None
    assert context.member.telegram_id == home.alice
    assert context.member.default_account_id == card.id
    assert set(context.accounts) == {
        taxi.id,
        card.id,
        home.accounts["other"].id,
        home.accounts["other_income"].id,
    }
    assert context.accounts[taxi.id] == taxi
    assert context.budgets == (Budget(taxi.id, uah(100)),)
    assert [m.telegram_id for m in members] == [home.alice, home.bob]
    assert {a.type for a in context.accounts.values()} == {
        AccountType.EXPENSE,
        AccountType.INCOME,
        AccountType.ASSET,
    }


async def test_a_household_keeps_the_currency_it_was_founded_with(home: Household) -> None:
    async with home.factory() as uow:
        assert await uow.directory.household_currency(home.id) == "UAH"
        other = await uow.directory.create_household("USD")
        assert await uow.directory.household_currency(other) == "USD"


async def test_keys_claimed_since_are_found_by_their_prefix(home: Household) -> None:
    prefix = f"contract-{uuid.uuid4()}:"
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    async with home.factory() as uow:
        assert await uow.idempotency.claimed_since(prefix, long_ago) == set()
        await uow.idempotency.claim(f"{prefix}1")
        await uow.idempotency.claim(f"other-{prefix}2")
        assert await uow.idempotency.claimed_since(prefix, long_ago) == {f"{prefix}1"}
