"""Any text at all, through the running bot: no crash, a well-formed reply, a sound ledger."""

from __future__ import annotations

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finance_bot.adapters.postgres.check import check_ledger
from finance_bot.sandbox.fake_api import FakeTelegram
from finance_bot.sandbox.people import Person
from tests.e2e.support import RunningBot

pytestmark = pytest.mark.postgres

_WORDS = [
    "кафе",
    "такси",
    "карта",
    "нал",
    "@нал",
    "> наличные",
    "#тег",
    "вчера",
    "27.11",
    "+",
    "-",
    "/del",
    "/undo",
    "/month",
    "/budget",
    "бизнес ланч",
    "coffee",
    "me",
]
_NUMBERS = st.integers(-10, 10**13).map(str) | st.sampled_from(["1 500", "250,50", "120+80", "1e5"])
_LINES = st.one_of(
    st.text(max_size=80),
    st.lists(st.one_of(_NUMBERS, st.sampled_from(_WORDS), st.text(max_size=6)), max_size=6).map(
        " ".join
    ),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(lines=st.lists(_LINES, min_size=1, max_size=4))
async def test_any_text_gets_a_well_formed_reply_and_keeps_the_ledger_sound(
    bot: RunningBot, fake: FakeTelegram, alice: Person, lines: list[str]
) -> None:
    for line in lines:
        if not line.strip():
            continue  # Telegram does not deliver empty messages
        failures_before = len([c for c in fake.sent if c.status not in (200, None)])
        reply = await alice.say(line)
        assert reply.texts, line
        assert all(0 < len(text) <= 4096 for text in reply.texts)
        assert "пошло не так" not in reply.text, line  # no bug surfaced as an apology
        assert len([c for c in fake.sent if c.status not in (200, None)]) == failures_before
    assert bot.app.settings.database_url is not None
    connection = await asyncpg.connect(bot.app.settings.database_url.get_secret_value())
    try:
        assert await check_ledger(connection) == []
    finally:
        await connection.close()
