"""Recording, idempotency and corrections through the application layer on real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import pytest

from finance_bot.adapters.postgres.check import check_ledger
from finance_bot.application import directory, reports
from finance_bot.application.household import vocabulary_for
from finance_bot.application.results import Voided
from finance_bot.domain.commands import RecordExpense, RecordIncome, RecordTransfer
from finance_bot.domain.errors import (
    AlreadyVoided,
    NotAMember,
    NothingToUndo,
    NotTheAuthor,
    ReversalCannotBeVoided,
    SameAccountTransfer,
    TransactionNotFound,
    UnknownAccount,
)
from tests.support.household import (
    LedgerWorld,
    PostgresWorld,
    expense_command,
    new_telegram_id,
    uah,
)

pytestmark = pytest.mark.postgres
DAY = date(2026, 11, 20)


async def test_expense_moves_money_from_default_account_into_category(world: LedgerWorld) -> None:
    (alice, _) = await world.new_household()
    accounts = await world.accounts(alice)
    result = await world.record(expense_command(uah("250.50"), accounts["cafe"].id, on=DAY), alice)
    assert result.number == 1
    assert await world.balance(accounts["card"].id) == -25050
    assert await world.balance(accounts["cafe"].id) == 25050


async def test_income_and_transfer_use_the_named_accounts(world: LedgerWorld) -> None:
    (alice, _) = await world.new_household()
    accounts = await world.accounts(alice)
    card, cash, salary = accounts["card"].id, accounts["cash"].id, accounts["salary"].id
    await world.record(RecordIncome(uah(30000), salary, None, DAY), alice)
    await world.record(RecordTransfer(uah(1000), card, cash, DAY), alice)
    assert await world.balance(card) == 2_900_000
    assert await world.balance(cash) == 100_000
    assert await world.balance(salary) == -3_000_000
    with pytest.raises(SameAccountTransfer):
        await world.record(RecordTransfer(uah(1), card, card, DAY), alice)


async def test_unknown_category_files_the_expense_under_other(world: LedgerWorld) -> None:
    (alice, _) = await world.new_household()
    accounts = await world.accounts(alice)
    await world.record(
        RecordExpense(uah(99), None, None, DAY, note="кафешка", unknown_word="кафешка"), alice
    )
    assert await world.balance(accounts["other"].id) == 9900


async def test_replayed_idempotency_key_writes_nothing_and_returns_first_result(
    world: LedgerWorld,
) -> None:
    (alice, _) = await world.new_household()
    accounts = await world.accounts(alice)
    command = expense_command(uah(100), accounts["taxi"].id, on=DAY)
    first = await world.record(command, alice, key=f"t:{alice}:1")
    second = await world.record(command, alice, key=f"t:{alice}:1")
    assert (second.transaction_id, second.number) == (first.transaction_id, first.number)
    assert second.replayed
    assert not first.replayed
    assert await world.balance(accounts["taxi"].id) == 10000


async def test_concurrent_replays_of_one_key_record_once(world: LedgerWorld) -> None:
    (alice, _) = await world.new_household()
    accounts = await world.accounts(alice)
    command = expense_command(uah(7), accounts["coffee"].id, on=DAY)
    results = await asyncio.gather(
        *(world.record(command, alice, key=f"t:{alice}:race") for _ in range(8))
    )
    assert len({r.transaction_id for r in results}) == 1
    assert await world.balance(accounts["coffee"].id) == 700


async def test_void_posts_a_linked_reversal_once(world: LedgerWorld) -> None:
    (alice, _) = await world.new_household()
    accounts = await world.accounts(alice)
    recorded = await world.record(expense_command(uah(50), accounts["cafe"].id, on=DAY), alice)
    voided = await world.void(recorded.number, alice)
    assert voided.reversal_number == recorded.number + 1
    assert await world.balance(accounts["cafe"].id) == 0
    assert await world.balance(accounts["card"].id) == 0
    with pytest.raises(AlreadyVoided):
        await world.void(recorded.number, alice)
    with pytest.raises(ReversalCannotBeVoided):
        await world.void(voided.reversal_number, alice)
    with pytest.raises(TransactionNotFound):
        await world.void(999, alice)


async def test_concurrent_voids_of_one_transaction_void_it_once(world: LedgerWorld) -> None:
    (alice, _) = await world.new_household()
    accounts = await world.accounts(alice)
    recorded = await world.record(expense_command(uah(50), accounts["cafe"].id, on=DAY), alice)
    outcomes = await asyncio.gather(
        *(world.void(recorded.number, alice) for _ in range(5)), return_exceptions=True
    )
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
    assert all(isinstance(o, AlreadyVoided) for o in outcomes if isinstance(o, BaseException))
    assert await world.balance(accounts["cafe"].id) == 0


async def test_only_the_author_may_void(world: LedgerWorld) -> None:
    (alice, bob) = await world.new_household()
    accounts = await world.accounts(alice)
    recorded = await world.record(expense_command(uah(50), accounts["cafe"].id, on=DAY), alice)
    with pytest.raises(NotTheAuthor):
        await world.void(recorded.number, bob)
    assert await world.balance(accounts["cafe"].id) == 5000


async def test_undo_voids_the_authors_last_transaction(world: LedgerWorld) -> None:
    (alice, bob) = await world.new_household()
    accounts = await world.accounts(alice)
    with pytest.raises(NothingToUndo):
        await world.undo(alice)
    first = await world.record(expense_command(uah(10), accounts["cafe"].id, on=DAY), alice)
    await world.record(expense_command(uah(20), accounts["cafe"].id, on=DAY), bob)
    undone = await world.undo(alice)
    assert undone.number == first.number
    with pytest.raises(AlreadyVoided):
        await world.undo(alice)
    assert await world.balance(accounts["cafe"].id) == 2000


async def test_undo_pressed_twice_at_once_beside_the_button_voids_the_last_entry_once(
    world: LedgerWorld,
) -> None:
    """/undo sent twice and the entry's Undo button pressed, all at once, while the partner
    undoes their own: each person's latest entry is voided exactly once, and the two
    presses that lose hear "already undone"; the earlier entry is untouched."""
    assert isinstance(world, PostgresWorld)
    (alice, bob) = await world.new_household()
    accounts = await world.accounts(alice)
    cafe, card = accounts["cafe"].id, accounts["card"].id
    earlier = await world.record(expense_command(uah(10), cafe, on=DAY), alice)
    bobs = await world.record(expense_command(uah(20), cafe, on=DAY), bob)
    latest = await world.record(expense_command(uah(30), cafe, on=DAY), alice)

    outcomes = await asyncio.gather(
        world.undo(alice),
        world.void(latest.number, alice),
        world.undo(alice),
        world.undo(bob),
        return_exceptions=True,
    )

    voided = [o for o in outcomes[:3] if isinstance(o, Voided)]
    assert [v.number for v in voided] == [latest.number]
    assert all(isinstance(o, AlreadyVoided) for o in outcomes[:3] if o not in voided)
    assert isinstance(outcomes[3], Voided)
    assert outcomes[3].number == bobs.number
    async with world.pool.acquire() as connection:
        rows = await connection.fetch(
            """
            SELECT t.number, t.kind, v.number AS voided_by FROM transactions t
              LEFT JOIN transactions v ON v.id = t.voided_by_transaction_id
             WHERE t.household_id = (SELECT household_id FROM accounts WHERE id = $1)
             ORDER BY t.number
            """,
            cafe,
        )
        assert await check_ledger(connection) == []
    kinds = [(r["number"], r["kind"], r["voided_by"] is not None) for r in rows]
    assert kinds == [
        (earlier.number, "expense", False),
        (bobs.number, "expense", True),
        (latest.number, "expense", True),
        (4, "reversal", False),
        (5, "reversal", False),
    ]
    assert await world.balance(cafe) == 1000
    assert await world.balance(card) == -1000


async def test_refile_moves_the_amount_and_teaches_the_unknown_word(world: LedgerWorld) -> None:
    (alice, _) = await world.new_household()
    accounts = await world.accounts(alice)
    recorded = await world.record(
        RecordExpense(uah(120), None, None, DAY, note="шаурма с Машей", unknown_word="шаурма"),
        alice,
    )
    refiled = await world.refile(recorded.number, accounts["cafe"].id, alice, key="k-refile")
    assert refiled.learned_alias == "шаурма"
    assert await world.balance(accounts["other"].id) == 0
    assert await world.balance(accounts["cafe"].id) == 12000
    assert await world.balance(accounts["card"].id) == -12000
    async with world.uow_factory() as uow:
        moved = await uow.ledger.get(refiled.recorded.transaction_id)
        member = await uow.directory.member(alice)
        assert member is not None
        vocabulary = await vocabulary_for(uow, member)
    assert moved is not None
    assert moved.note == "с Машей"
    assert vocabulary.expense_aliases["шаурма"] == accounts["cafe"].id
    with pytest.raises(AlreadyVoided):
        await world.refile(recorded.number, accounts["taxi"].id, alice, key=None)


async def test_an_account_of_someone_else_cannot_be_used(world: LedgerWorld) -> None:
    (alice, bob) = await world.new_household()
    bobs = await world.accounts(bob)
    alices = await world.accounts(alice)
    with pytest.raises(UnknownAccount):
        await world.record(RecordExpense(uah(1), alices["cafe"].id, bobs["card"].id, DAY), alice)
    assert await world.balance(bobs["card"].id) == 0


async def test_a_confirmation_shows_the_entry_and_the_accounts_it_touches(
    world: LedgerWorld,
) -> None:
    (alice, _) = await world.new_household()
    (carol,) = await world.new_household(1)
    accounts = await world.accounts(alice)
    cafe = accounts["cafe"]
    spare = await directory.add_account(
        alice, "Запас", shared=False, currency="UAH", uow_factory=world.uow_factory
    )
    paid = RecordExpense(amount=uah(50), category_id=cafe.id, account_id=spare.id, booked_on=DAY)
    recorded = await world.record(paid, alice)
    # archived since: the entry still shows it
    spare = await directory.archive_account(alice, "запас", uow_factory=world.uow_factory)
    view = await reports.transaction_view(
        alice, recorded.transaction_id, uow_factory=world.uow_factory
    )
    async with world.uow_factory(transactional=False) as uow:
        stored = await uow.ledger.get(recorded.transaction_id)
    assert view.transaction == stored
    assert list(view.accounts) == sorted((cafe.id, spare.id))
    assert view.accounts[cafe.id] == cafe
    assert view.accounts[spare.id].archived
    with pytest.raises(TransactionNotFound):  # another household's entry
        await reports.transaction_view(
            carol, recorded.transaction_id, uow_factory=world.uow_factory
        )
    with pytest.raises(TransactionNotFound):
        await reports.transaction_view(alice, uuid.uuid4(), uow_factory=world.uow_factory)
    with pytest.raises(NotAMember):
        await reports.transaction_view(
            new_telegram_id(), recorded.transaction_id, uow_factory=world.uow_factory
        )
