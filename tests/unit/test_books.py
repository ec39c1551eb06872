"""Books: the use cases bound to one member and one update's key, remembering each write."""

from __future__ import annotations

from finance_bot.application.books import Books, Write
from tests.support.household import DAY, Household, expense_command, fake_world, uah


def _books(home: Household, key: str) -> Books:
    return Books(home.alice, key, home.factory, home.ids, "UAH")


async def test_a_record_is_remembered_and_its_replay_remembered_as_replayed() -> None:
    home = await fake_world().household()
    coffee = home.accounts["coffee"].id
    first, again = _books(home, "k1"), _books(home, "k1")

    recorded = await first.record(expense_command(uah(50), coffee, on=DAY))
    replayed = await again.record(expense_command(uah(50), coffee, on=DAY))

    assert (recorded.number, replayed.number, replayed.replayed) == (1, 1, True)
    assert first.writes == [Write("expense", replayed=False)]
    assert again.writes == [Write("expense", replayed=True)]


async def test_a_refile_is_a_reversal_and_a_new_entry_and_a_void_one_reversal() -> None:
    home = await fake_world().household()
    await home.spend(40, "cafe")
    books = _books(home, "k2")

    refiled = await books.refile(1, home.accounts["taxi"].id)
    voids = _books(home, "k3")
    await voids.void(refiled.recorded.number)

    assert books.writes == [Write("reversal", replayed=False), Write("expense", replayed=False)]
    assert voids.writes == [Write("reversal", replayed=False)]


async def test_an_explicit_key_replaces_the_updates() -> None:
    home = await fake_world().household()
    coffee = home.accounts["coffee"].id
    books = _books(home, "update")
    await books.record(expense_command(uah(5), coffee, on=DAY), idempotency_key="forward")

    again = await _books(home, "other").record(
        expense_command(uah(5), coffee, on=DAY), idempotency_key="forward"
    )
    assert again.replayed
