"""A fresh entry's confirmation is built from what recording had in hand (Recorded.view,
docs/adr/0027): it must be exactly what the books show when read back."""

from __future__ import annotations

import pytest

from finance_bot.application.books import Books
from finance_bot.domain.commands import ParseError
from finance_bot.domain.parser import parse_line
from tests.support.household import DAY, ledger_world

LINES = [
    "250 кафе",
    "99,90 такси",
    "+5000 зарплата",
    "120 непонятное слово",
    "300 такси домой #работа",
]


@pytest.mark.parametrize("text", LINES)
async def test_the_view_in_hand_is_the_view_read_back(fresh_database_url: str, text: str) -> None:
    async with ledger_world(fresh_database_url) as world:
        home = await world.household()
        books = Books(home.alice, f"view-{text}", world.uow_factory, world.ids, "UAH")
        command = parse_line(text, await books.vocabulary(), today=DAY, currency="UAH")
        assert not isinstance(command, ParseError)

        recorded = await books.record(command)

        assert recorded.view is not None
        assert recorded.view == await books.transaction_view(recorded.transaction_id)


async def test_a_replayed_line_has_no_view_and_reads_the_books(fresh_database_url: str) -> None:
    async with ledger_world(fresh_database_url) as world:
        home = await world.household()
        books = Books(home.alice, "the-same-update", world.uow_factory, world.ids, "UAH")
        command = parse_line("250 кафе", await books.vocabulary(), today=DAY, currency="UAH")
        assert not isinstance(command, ParseError)
        first = await books.record(command)
        again = await books.record(command)
        assert (again.replayed, again.view, again.number) == (True, None, first.number)
