"""What a chat line's recording takes from what it had in hand instead of reading it again
(docs/adr/0027): the words the line was read against (Books.vocabulary) stand for the
write context, and a fresh entry's confirmation is built from the entry (Recorded.view).
Each must give exactly what the read would have, and fall back to the read whenever it
cannot."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from finance_bot.adapters.postgres.check import check_ledger
from finance_bot.adapters.postgres.directory import PostgresDirectory
from finance_bot.application.books import Books
from finance_bot.domain.commands import ParseError, RecordCommand
from finance_bot.domain.money import Money
from finance_bot.domain.parser import parse_line
from tests.support.household import DAY, Household, PostgresWorld, ledger_world

LINES = [
    "250 кафе",
    "99,90 такси",
    "+5000 зарплата",
    "120 непонятное слово",
    "300 такси домой #работа",
]


def books_of(world: PostgresWorld, home: Household, key: str) -> Books:
    return Books(home.alice, key, world.uow_factory, world.ids, "UAH")


async def line(books: Books, text: str) -> RecordCommand:
    command = parse_line(text, await books.vocabulary(), today=DAY, currency="UAH")
    assert not isinstance(command, ParseError)
    return command


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the write-context reads recording makes."""
    real = PostgresDirectory.write_context
    calls: list[int] = []

    async def counted(self: PostgresDirectory, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(PostgresDirectory, "write_context", counted)
    return calls


@pytest.mark.parametrize("text", LINES)
async def test_the_view_in_hand_is_the_view_read_back(
    fresh_database_url: str, text: str, reads: list[int]
) -> None:
    async with ledger_world(fresh_database_url) as world:
        home = await world.household()
        books = books_of(world, home, f"view-{text}")

        recorded = await books.record(await line(books, text))

        assert reads == []  # the words stood for the read
        assert recorded.view is not None
        assert recorded.view == await books.transaction_view(recorded.transaction_id)


@pytest.mark.parametrize("text", LINES)
async def test_the_words_in_hand_record_what_the_read_would(
    fresh_database_url: str, text: str, reads: list[int]
) -> None:
    async with ledger_world(fresh_database_url) as world:
        home = await world.household()
        with_words = books_of(world, home, "with-words")
        command = await line(with_words, text)
        by_words = await with_words.record(command)
        # The same line once more, its words not kept (a second record in one update).
        by_read = await books_of(world, home, "by-read").record(command)

        assert reads == [1]
        first = (await with_words.transaction_view(by_words.transaction_id)).transaction
        second = (await with_words.transaction_view(by_read.transaction_id)).transaction
        assert (first.kind, first.postings, first.note, first.tags, first.booked_on) == (
            second.kind,
            second.postings,
            second.note,
            second.tags,
            second.booked_on,
        )


async def test_a_watched_category_still_raises_its_alert(
    fresh_database_url: str, reads: list[int]
) -> None:
    async with ledger_world(fresh_database_url) as world:
        home = await world.household()
        cafe = home.accounts["cafe"].id
        await books_of(world, home, "budget").set_budget(cafe, Money(100_00, "UAH"))
        books = books_of(world, home, "over")

        recorded = await books.record(await line(books, "250 кафе"))

        assert reads == []
        assert [(a.category_id, a.threshold_pct) for a in recorded.alerts] == [(cafe, 100)]


async def test_a_foreign_amount_reads_the_books(fresh_database_url: str, reads: list[int]) -> None:
    async with ledger_world(fresh_database_url) as world:
        home = await world.household()
        await books_of(world, home, "rate").set_rate("USD", Decimal("41.5"), today=DAY)
        books = books_of(world, home, "usd")

        recorded = await books.record(await line(books, "10 usd кафе"))

        assert reads == [1]  # a rate and the accounts in that currency: not in the words
        assert recorded.view is not None
        assert recorded.view == await books.transaction_view(recorded.transaction_id)


async def test_a_line_is_recorded_as_its_words_saw_the_books(
    fresh_database_url: str, reads: list[int]
) -> None:
    """An account archived between reading the line and storing it: the line was read
    with the account live, and is recorded so — as a write-context read a moment
    earlier would have had it. The ledger stays whole (archiving closes an account for
    new lines, nothing in the books depends on it)."""
    async with ledger_world(fresh_database_url) as world:
        home = await world.household()
        books = books_of(world, home, "archived")
        command = await line(books, "250 кафе наличные")
        await books_of(world, home, "archive").archive_account("наличные")

        recorded = await books.record(command)

        assert reads == []
        assert recorded.number == 1
        async with world.pool.acquire() as connection:
            assert await check_ledger(connection) == []


async def test_a_replayed_line_has_no_view_and_reads_the_books(fresh_database_url: str) -> None:
    async with ledger_world(fresh_database_url) as world:
        home = await world.household()
        books = books_of(world, home, "the-same-update")
        command = await line(books, "250 кафе")
        first = await books.record(command)
        again = await books_of(world, home, "the-same-update").record(command)
        assert (again.replayed, again.view, again.number) == (True, None, first.number)
