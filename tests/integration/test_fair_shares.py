"""Fair shares between partners (docs/product.md §12), worked by hand, through the use
cases, on the in-memory fake and on PostgreSQL alike: the same contract for both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg
import pytest

from finance_bot.application import directory, membership, rates, shares
from finance_bot.application.household import enroll
from finance_bot.domain.accounts import Account
from finance_bot.domain.commands import RecordExpense, RecordTransfer
from finance_bot.domain.errors import (
    NotTheDebtor,
    SettlementChanged,
    SplitNeedsTwo,
    UnknownCategory,
)
from finance_bot.domain.money import Money
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


@pytest.fixture(params=["fake", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str | None:
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


async def spend(
    home: Household,
    who: int,
    amount: Money,
    code: str,
    *,
    account: Account | None = None,
    tags: tuple[str, ...] = (),
) -> int:
    category = (await home.world.accounts(who))[code].id
    recorded = await home.world.record(
        RecordExpense(amount, category, account.id if account else None, DAY, tags=tags), who
    )
    return recorded.number


async def owed(home: Household, asker: int = 0) -> list[tuple[int, int, Money]]:
    view = await shares.shares_view(asker or home.alice, uow_factory=home.factory)
    return [(d.debtor.telegram_id, d.creditor.telegram_id, d.amount) for d in view.debts]


async def settle(home: Household, who: int, debt: tuple[int, int, Money]) -> shares.Settled:
    view = await shares.shares_view(who, uow_factory=home.factory)
    return await shares.settle(
        who,
        last_number=view.last_number,
        debtor=debt[0],
        creditor=debt[1],
        amount_minor=debt[2].amount_minor,
        today=DAY,
        uow_factory=home.factory,
        ids=home.ids,
    )


async def test_nothing_spent_is_even(home: Household) -> None:
    assert await owed(home) == []


async def test_what_one_paid_for_both_the_other_owes_half_of(home: Household) -> None:
    await spend(home, home.alice, uah(600), "cafe")
    await spend(home, home.bob, uah(200), "products")
    # 800 in all, 400 each: Alice paid 200 more than her half.
    assert await owed(home) == [(home.bob, home.alice, uah(200))]
    assert await owed(home, home.bob) == [(home.bob, home.alice, uah(200))]


async def test_converted_entries_count_at_their_base_amount(home: Household) -> None:
    wise = await directory.add_account(
        home.alice, "wise", shared=False, currency="USD", uow_factory=home.factory
    )
    await rates.set_rate(
        home.alice,
        "USD",
        Decimal("41.50"),
        today=DAY,
        idempotency_key=None,
        uow_factory=home.factory,
    )
    await spend(home, home.alice, Money(2_000, "USD"), "coffee", account=wise)  # 830.00
    await spend(home, home.bob, uah(100), "products")  # 100.00
    await spend(home, home.bob, Money(1_000, "USD"), "taxi")  # from his card: 415.00
    # 1345.00 in all, 672.50 each: Alice paid 830.00, 157.50 more than her half.
    assert await owed(home) == [(home.bob, home.alice, Money(15_750, "UAH"))]


async def test_voided_entries_and_their_reversals_are_left_out(home: Household) -> None:
    number = await spend(home, home.alice, uah(1000), "cafe")
    await spend(home, home.bob, uah(300), "products")
    await home.void(number)
    assert await owed(home) == [(home.alice, home.bob, uah(150))]


async def test_personal_tags_and_personal_categories_are_nobodys_common_spending(
    home: Household,
) -> None:
    await spend(home, home.alice, uah(500), "cafe", tags=("personal",))
    await spend(home, home.alice, uah(50), "coffee", tags=("лично",))
    await spend(home, home.alice, uah(300), "clothes")
    await spend(home, home.alice, uah(400), "products")
    clothes = (await home.world.accounts(home.alice))["clothes"]
    await shares.mark_personal(home.bob, clothes, True, uow_factory=home.factory)
    assert await owed(home) == [(home.bob, home.alice, uah(200))]  # 400 / 2
    await shares.mark_personal(home.alice, clothes, False, uow_factory=home.factory)
    assert await owed(home) == [(home.bob, home.alice, uah(350))]  # (300 + 400) / 2


async def test_only_expense_categories_can_be_personal(home: Household) -> None:
    salary = (await home.world.accounts(home.alice))["salary"]
    with pytest.raises(UnknownCategory):
        await shares.mark_personal(home.alice, salary, True, uow_factory=home.factory)


async def test_spending_from_a_shared_account_moves_nothing(home: Household) -> None:
    common = await directory.add_account(
        home.alice, "common", shared=True, uow_factory=home.factory
    )
    await spend(home, home.alice, uah(1000), "products", account=common)
    await spend(home, home.bob, uah(100), "cafe")
    assert await owed(home) == [(home.alice, home.bob, uah(50))]


async def test_an_uneven_split(home: Household) -> None:
    assert await shares.set_split(home.alice, 60, uow_factory=home.factory) == home.bob
    await spend(home, home.alice, uah(1000), "products")
    assert await owed(home) == [(home.bob, home.alice, uah(400))]  # Bob's 40 %
    await spend(home, home.bob, uah(500), "cafe")
    # 1500: Alice's 900, she paid 1000; Bob's 600, he paid 500.
    assert await owed(home) == [(home.bob, home.alice, uah(100))]
    view = await shares.shares_view(home.bob, uow_factory=home.factory)
    assert view.shares == {home.alice: 60, home.bob: 40}
    # Bob says 70 for himself: Alice's share becomes 30.
    await shares.set_split(home.bob, 70, uow_factory=home.factory)
    # 1500: Alice's 450, she paid 1000; Bob's 1050, he paid 500.
    assert await owed(home) == [(home.bob, home.alice, uah(550))]


async def test_three_share_equally_and_a_split_needs_two(world: LedgerWorld) -> None:
    anna, boris, vera = await world.new_household(3, language="en")
    home = Household(world, await world.household_of(anna), anna, boris, {})
    await spend(home, anna, uah(900), "products")
    await spend(home, vera, uah(300), "cafe")
    # 1200, 400 each: Anna +500, Boris -400, Vera -100.
    assert await owed(home) == [(boris, anna, uah(400)), (vera, anna, uah(100))]
    with pytest.raises(SplitNeedsTwo):
        await shares.set_split(anna, 50, uow_factory=world.uow_factory)


async def test_a_split_set_for_two_is_equal_again_once_a_third_joins(world: LedgerWorld) -> None:
    anna, boris = await world.new_household(2, language="en")
    home = Household(world, await world.household_of(anna), anna, boris, {})
    await shares.set_split(anna, 90, uow_factory=world.uow_factory)
    await spend(home, anna, uah(900), "products")
    assert await owed(home) == [(boris, anna, uah(90))]
    vera = new_telegram_id()
    async with world.uow_factory() as uow:
        await enroll(uow, vera, home.id, language="en", currency="UAH")
        await uow.commit()
    assert await owed(home) == [(boris, anna, uah(300)), (vera, anna, uah(300))]


async def test_who_left_shares_nothing_and_a_split_of_the_two_left_counts(
    world: LedgerWorld,
) -> None:
    anna, boris, vera = await world.new_household(3, language="en")
    home = Household(world, await world.household_of(anna), anna, boris, {})
    await spend(home, vera, uah(300), "cafe")  # paid for everyone, then she left
    await membership.leave(vera, whitelist=frozenset(), uow_factory=world.uow_factory)
    await spend(home, anna, uah(900), "products")
    # 1200 in common, shared by the two members now: 600 each. Anna paid 900, so Boris
    # owes her 300; Vera is no member to owe or be owed (she cannot press Settle up).
    assert await owed(home) == [(boris, anna, uah(300))]
    await shares.set_split(anna, 25, uow_factory=world.uow_factory)
    # Anna's 300 and Boris's 900: the split the two of them set is the one in force.
    assert await owed(home) == [(boris, anna, uah(300 + 300))]


async def test_settling_up_evens_the_balance_once_however_often_it_is_pressed(
    home: Household,
) -> None:
    await spend(home, home.alice, uah(600), "cafe")
    await spend(home, home.bob, uah(200), "products")
    debt = (home.bob, home.alice, uah(200))
    first = await settle(home, home.bob, debt)
    assert (first.recorded.number, first.recorded.replayed) == (3, False)
    assert await owed(home) == []
    # The same button pressed again: same state of the books it was shown for.
    again = await shares.settle(
        home.bob,
        last_number=2,
        debtor=home.bob,
        creditor=home.alice,
        amount_minor=20_000,
        today=DAY,
        uow_factory=home.factory,
        ids=home.ids,
    )
    assert (again.recorded.number, again.recorded.replayed) == (3, True)
    async with home.factory() as uow:
        assert await uow.ledger.by_number(home.id, 4) is None
        transfer = await uow.ledger.by_number(home.id, 3)
    assert transfer is not None
    alice_card = (await home.world.accounts(home.alice))["card"]
    bob_card = (await home.world.accounts(home.bob))["card"]
    legs = {(p.account_id, p.direction.value, p.amount) for p in transfer.postings}
    assert legs == {(bob_card.id, "credit", uah(200)), (alice_card.id, "debit", uah(200))}
    assert transfer.author_telegram_id == home.bob


async def test_a_transfer_between_two_peoples_accounts_is_a_settlement(home: Household) -> None:
    """Undoing the settlement brings the debt back; a transfer of one's own moves nothing."""
    await spend(home, home.alice, uah(600), "cafe")
    await home.world.record(
        RecordTransfer(uah(100), home.accounts["card"].id, home.accounts["cash"].id, DAY),
        home.alice,
    )
    settled = await settle(home, home.bob, (home.bob, home.alice, uah(300)))
    assert await owed(home) == []
    await home.void(settled.recorded.number, who=home.bob)
    assert await owed(home) == [(home.bob, home.alice, uah(300))]


async def test_only_the_debtor_settles_and_only_the_debt_shown(home: Household) -> None:
    await spend(home, home.alice, uah(600), "cafe")
    with pytest.raises(NotTheDebtor):
        await settle(home, home.alice, (home.bob, home.alice, uah(300)))
    with pytest.raises(SettlementChanged):
        await settle(home, home.bob, (home.bob, home.alice, uah(299)))
    await spend(home, home.bob, uah(100), "cafe")  # the button shown before is stale now
    with pytest.raises(SettlementChanged):
        await shares.settle(
            home.bob,
            last_number=1,
            debtor=home.bob,
            creditor=home.alice,
            amount_minor=30_000,
            today=DAY,
            uow_factory=home.factory,
            ids=home.ids,
        )
    assert await owed(home) == [(home.bob, home.alice, uah(250))]


async def test_settling_pays_from_the_debtors_own_account_when_the_default_is_shared(
    home: Household,
) -> None:
    common = await directory.add_account(home.bob, "common", shared=True, uow_factory=home.factory)
    await directory.set_default_account(home.bob, "common", uow_factory=home.factory)
    await spend(home, home.alice, uah(100), "cafe")
    settled = await settle(home, home.bob, (home.bob, home.alice, uah(50)))
    async with home.factory() as uow:
        transfer = await uow.ledger.by_number(home.id, settled.recorded.number)
    assert transfer is not None
    assert common.id not in {p.account_id for p in transfer.postings}
    assert await owed(home) == []


async def test_the_marks_and_shares_read_back(home: Household) -> None:
    cafe = home.accounts["cafe"]
    async with home.factory() as uow:
        await uow.directory.set_personal(cafe.id, True)
        await uow.directory.set_shares(home.id, {home.alice: 25, home.bob: 75})
        await uow.commit()
    async with home.factory() as uow:
        assert await uow.directory.personal_categories(home.id) == {cafe.id}
        assert await uow.directory.shares(home.id) == {home.alice: 25, home.bob: 75}
        await uow.directory.set_shares(home.id, {})
        await uow.directory.set_personal(cafe.id, False)
        await uow.commit()
    async with home.factory() as uow:
        assert await uow.directory.personal_categories(home.id) == set()
        assert await uow.directory.shares(home.id) == {}
        facts = await uow.reports.share_facts(home.id, currency="UAH")
    assert (facts.paid, facts.transfers, facts.last_number) == ((), (), 0)


async def test_the_database_refuses_a_personal_mark_on_anything_but_an_expense(
    shared_database_url: str,
) -> None:
    async with ledger_world(shared_database_url, max_size=1) as postgres:
        home = await postgres.household(language="en")
        salary, card = home.accounts["salary"], home.accounts["card"]
        async with postgres.pool.acquire() as connection:
            for account in (salary, card):
                with pytest.raises(asyncpg.IntegrityConstraintViolationError):
                    await connection.execute(
                        "INSERT INTO personal_categories (household_id, category_id, category_type)"
                        " VALUES ($1, $2, $3::account_type)",
                        home.id,
                        account.id,
                        account.type.value,
                    )
            with pytest.raises(asyncpg.IntegrityConstraintViolationError):
                await connection.execute(
                    "INSERT INTO member_shares (household_id, telegram_id, share_pct)"
                    " VALUES ($1, $2, 101)",
                    home.id,
                    home.alice,
                )
