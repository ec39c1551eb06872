"""How many statements a chat line costs the bot's PostgreSQL, counted at the client
(docs/adr/0027): a BEGIN with the household's binding, one read that brings the member,
their household and the words the line is read against, the statement that stores the
entry, and its COMMIT. A count, not a timing: it does not move with the machine's load."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from finance_bot.adapters.postgres import unit_of_work
from finance_bot.sandbox.fake_api import FakeTelegram
from finance_bot.sandbox.people import Person
from tests.e2e.support import RunningBot, running_bot, settings_for
from tests.e2e.test_delivery import transaction_count

pytestmark = pytest.mark.postgres


@pytest.fixture
async def bot(fake: FakeTelegram, fresh_database_url: str) -> AsyncIterator[RunningBot]:
    async with running_bot(settings_for(fake, fresh_database_url)) as running:
        yield running


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement the bot's connections send while handling an update (inside its
    connection sharing; not the scheduler's), as its first words."""
    sent: list[str] = []
    for name in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
        real = getattr(asyncpg.Connection, name)

        def counted(self: Any, query: str, *args: Any, _real: Any = real, **kw: Any) -> Any:
            if unit_of_work._shared.get() is not None:
                sent.append(" ".join(query.split())[:60])
            return _real(self, query, *args, **kw)

        monkeypatch.setattr(asyncpg.Connection, name, counted)
    return sent


async def test_a_chat_line_costs_four_round_trips(
    bot: RunningBot, alice: Person, statements: list[str], fresh_database_url: str
) -> None:
    await alice.say("100 кафе")  # the first update reads what the bot keeps for later
    statements.clear()

    for number, text in enumerate(["250 кафе", "99,90 такси", "+5000 зарплата"], start=2):
        reply = await alice.say(text)
        assert reply.text.startswith(f"#{number} ")
        assert len(statements) == 4, statements
        assert statements[0].startswith("BEGIN; SELECT set_config('finance_bot.household'")
        assert statements[-1] == "COMMIT"
        statements.clear()
    assert await transaction_count(fresh_database_url) == 4
