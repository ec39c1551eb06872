"""One contract, two implementations: every test here runs against the in-memory fake and
against the PostgreSQL adapter, and asserts the same observable results on both."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from finance_bot.domain.accounts import AccountType
from finance_bot.domain.digests import DigestKind, DigestSchedule
from finance_bot.domain.money import Money
from finance_bot.domain.transactions import Conversion, Transaction, expense
from finance_bot.ports.records import Added, AmountByKey, Budget, DigestSubscription
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


async def test_daily_spending_adds_up_each_day_of_live_spending(home: Household) -> None:
    await home.add(home.expense(30, "coffee", on=date(2024, 5, 2)))
    await home.add(home.expense(50, "taxi", author=home.bob, on=date(2024, 5, 2)))
    voided = home.expense(500, "coffee", on=date(2024, 5, 3))
    await home.add(voided)
    await home.add(home.expense(12, "taxi", on=date(2024, 5, 9)))
    await home.add(home.expense(7, "taxi", on=date(2024, 6, 1)))  # next month
    await void_through_repository(home, voided)
    async with home.factory(transactional=False) as uow:
        days = await uow.reports.daily_spending(
            home.id, date(2024, 5, 1), date(2024, 6, 1), currency="UAH"
        )
        bobs = await uow.reports.daily_spending(
            home.id, date(2024, 5, 1), date(2024, 6, 1), currency="UAH", author_telegram_id=home.bob
        )
        other = await uow.reports.daily_spending(
            home.id, date(2024, 5, 1), date(2024, 6, 1), currency="USD"
        )
    # the voided day adds up to nothing, so it is left out
    assert days == {date(2024, 5, 2): uah(80), date(2024, 5, 9): uah(12)}
    assert list(days) == sorted(days)
    assert bobs == {date(2024, 5, 2): uah(50)}
    assert other == {}


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
        with pytest.raises(RuntimeError):  # bound to one household, it founds no other
            await uow.directory.create_household("USD")
    async with home.world.uow_factory() as uow:
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


# ---------------------------------------------------------------------------
# Several currencies (docs/product.md §8)
# ---------------------------------------------------------------------------


async def _dollar_account(home: Household) -> int:
    async with home.factory() as uow:
        account = await uow.directory.add_account(
            household_id=home.id,
            type=AccountType.ASSET,
            name="доллары",
            currency="USD",
            owner_telegram_id=home.alice,
        )
        await uow.commit()
        return account.id


async def _coffee_in_dollars(home: Household, *, from_dollars: bool, on: date = DAY) -> Transaction:
    """20 USD of coffee, worth 830 UAH at 41.50: from the dollar account or from the card."""
    conversion = Conversion.at_rate(Money(2_000, "USD"), Decimal("41.50"), "UAH")
    async with home.factory() as uow:
        through = await uow.directory.conversion_accounts(home.id, ["USD", "UAH"])
        await uow.commit()
    dollars = await _dollar_account(home) if from_dollars else None
    return expense(
        id=home.ids.new_id(),
        household_id=home.id,
        author_telegram_id=home.alice,
        booked_on=on,
        amount=conversion.target,
        account_id=dollars or home.accounts["card"].id,
        category_id=home.accounts["coffee"].id,
        conversion=conversion,
        paid=conversion.source if from_dollars else None,
        conversion_accounts=through,
    )


async def test_conversion_accounts_are_made_once_per_currency(home: Household) -> None:
    async with home.factory() as uow:
        first = await uow.directory.conversion_accounts(home.id, ["USD", "UAH"])
        again = await uow.directory.conversion_accounts(home.id, ["UAH", "USD", "EUR"])
        await uow.commit()
    assert set(first) == {"USD", "UAH"}
    assert {c: again[c] for c in first} == first
    async with home.factory() as uow:
        made = {a.id: a for a in await uow.directory.accounts(home.id)}
        balances = await uow.reports.balances(home.id)
    assert {made[i].currency for i in again.values()} == {"USD", "UAH", "EUR"}
    assert all(made[i].type is AccountType.EQUITY and made[i].is_shared for i in again.values())
    assert not {b.account.id for b in balances} & set(again.values())


@pytest.mark.parametrize("from_dollars", [True, False], ids=["from_dollars", "from_card"])
async def test_a_converted_entry_reads_back_with_its_conversion(
    home: Household, from_dollars: bool
) -> None:
    spent = await _coffee_in_dollars(home, from_dollars=from_dollars)
    assert await home.add(spent) == Added(1)
    async with home.factory() as uow:
        stored = await uow.ledger.get(spent.id)
        lines = await uow.reports.last_transactions(home.id, 5)
        totals = await uow.reports.period_totals(
            home.id, DAY, DAY + timedelta(days=1), currency="UAH"
        )
        parts = await uow.reports.foreign_parts(home.id, DAY, DAY + timedelta(days=1))
    assert stored is not None
    assert stored.conversion == spent.conversion
    assert stored.amount == Money(83_000, "UAH")
    [line] = lines
    assert (line.amount, line.converted_from) == (Money(83_000, "UAH"), Money(2_000, "USD"))
    assert line.debit_account_id == home.accounts["coffee"].id
    paid_from = line.credit_account_id
    assert (paid_from == home.accounts["card"].id) is not from_dollars
    assert totals.by_category == (AmountByKey(home.accounts["coffee"].id, Money(83_000, "UAH")),)
    assert parts == {home.accounts["coffee"].id: (Money(2_000, "USD"),)}


async def test_voided_conversions_leave_the_foreign_parts(home: Household) -> None:
    kept = await _coffee_in_dollars(home, from_dollars=True)
    undone = await _coffee_in_dollars(home, from_dollars=False)
    await home.add(kept)
    await home.add(undone)
    await void_through_repository(home, undone)
    async with home.factory() as uow:
        parts = await uow.reports.foreign_parts(home.id, DAY, DAY + timedelta(days=1))
        mine = await uow.reports.foreign_parts(
            home.id, DAY, DAY + timedelta(days=1), author_telegram_id=home.bob
        )
        balances = {b.account.name: b.balance for b in await uow.reports.balances(home.id)}
    assert parts == {home.accounts["coffee"].id: (Money(2_000, "USD"),)}
    assert mine == {}
    assert balances["доллары"] == Money(-2_000, "USD")


async def test_the_rate_in_force_on_a_day(home: Household) -> None:
    march = date(2026, 3, 1)
    async with home.factory() as uow:
        assert await uow.rates.on(home.id, "USD", march) is None
        await uow.rates.add(home.id, "USD", Decimal("41.0"), march, source="official")
        await uow.rates.add(
            home.id, "USD", Decimal("41.5"), march, source="manual", author_telegram_id=home.alice
        )
        await uow.rates.add(home.id, "USD", Decimal("41.2"), march, source="exchange")
        await uow.rates.add(home.id, "USD", Decimal("42"), date(2026, 4, 1), source="official")
        await uow.rates.add(home.id, "EUR", Decimal("45"), date(2026, 2, 1), source="manual")
        await uow.commit()
    async with home.factory() as uow:
        same_day = await uow.rates.on(home.id, "USD", march)
        later = await uow.rates.on(home.id, "USD", date(2026, 3, 31))
        april = await uow.rates.on(home.id, "USD", date(2026, 5, 1))
        before_any = await uow.rates.on(home.id, "USD", date(2026, 1, 15))
        latest = await uow.rates.latest(home.id)
    assert same_day is not None
    assert (same_day.rate, same_day.source) == (Decimal("41.5"), "manual")
    assert later == same_day
    assert april is not None
    assert april.rate == Decimal("42")
    # Before the first rate: the earliest there is, so a rate set today covers yesterday.
    assert before_any == same_day
    assert [(r.currency, r.rate) for r in latest] == [
        ("EUR", Decimal("45")),
        ("USD", Decimal("42")),
    ]


async def test_official_rates_reach_every_household_in_its_own_currency(
    world: LedgerWorld,
) -> None:
    hryvnia_home = await world.household(language="en")
    day = date(2026, 12, 1)
    official = {"USD": Decimal("41.5"), "EUR": Decimal("45.65"), "XAU": Decimal("1")}
    async with hryvnia_home.factory() as uow:
        first = await uow.rates.add_official(day, official)
        again = await uow.rates.add_official(day, official)
        await uow.commit()
    async with hryvnia_home.factory() as uow:
        usd = await uow.rates.on(hryvnia_home.id, "USD", day)
        eur = await uow.rates.on(hryvnia_home.id, "EUR", day)
        gold = await uow.rates.on(hryvnia_home.id, "XAU", day)
    assert first >= 2
    assert again == 0
    assert usd is not None
    assert (usd.rate, usd.source) == (Decimal("41.5"), "official")
    assert eur is not None
    assert eur.rate == Decimal("45.65")
    assert gold is None  # no money here: not in the currency table


async def test_digest_settings_and_the_sent_log(home: Household) -> None:
    daily = DigestSchedule.of(DigestKind.DAILY, time(7, 30))
    since = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)
    async with home.factory() as uow:
        await uow.digests.subscribe(DigestSubscription(home.alice, daily, since))
        await uow.digests.subscribe(
            DigestSubscription(home.alice, DigestSchedule.of(DigestKind.WEEKLY), since)
        )
        await uow.digests.subscribe(DigestSubscription(home.bob, daily, since))
        await uow.commit()
    async with home.factory() as uow:
        mine = [
            s for s in await uow.digests.subscriptions() if s.telegram_id in (home.alice, home.bob)
        ]
        assert mine == [
            DigestSubscription(home.alice, DigestSchedule.of(DigestKind.WEEKLY), since),
            DigestSubscription(home.bob, daily, since),
        ]
        assert await uow.digests.unsubscribe(home.bob)
        assert not await uow.digests.unsubscribe(home.bob)
        assert await uow.digests.subscription(home.bob) is None
        await uow.commit()

    day = date(2026, 12, 2)
    async with home.factory(transactional=False) as uow:
        assert not await uow.digests.logged(home.alice, DigestKind.DAILY, day)
        assert await uow.digests.claim(home.alice, DigestKind.DAILY, day)
        assert not await uow.digests.claim(home.alice, DigestKind.DAILY, day)
        assert await uow.digests.claim(home.alice, DigestKind.WEEKLY, day)  # another kind
        assert await uow.digests.logged(home.alice, DigestKind.DAILY, day)
        await uow.digests.release(home.alice, DigestKind.WEEKLY, day)
        assert not await uow.digests.logged(home.alice, DigestKind.WEEKLY, day)
        await uow.digests.finish(home.alice, DigestKind.DAILY, day, sent=True)
        await uow.digests.release(home.alice, DigestKind.DAILY, day)  # sent: not given back
        assert await uow.digests.logged(home.alice, DigestKind.DAILY, day)
        assert not await uow.digests.claim(home.alice, DigestKind.DAILY, day)
