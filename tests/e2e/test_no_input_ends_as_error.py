"""No user input, button or redelivery ever ends as an error (issue 9, item 4).

Through the running bot: texts (one line or several), commands in any case with any
arguments, presses of real and hand-made buttons, updates delivered again, a stranger.
Every update must end handled, duplicate, denied or parse_error, as the metrics count
it, and the ledger's invariants must hold afterwards.
"""

from __future__ import annotations

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finance_bot.adapters.observability.metrics import OUTCOMES, UPDATE_TYPES
from finance_bot.adapters.postgres.check import check_ledger
from finance_bot.sandbox.fake_api import FakeTelegram
from tests.e2e.support import ALICE, BOB, STRANGER, RunningBot

pytestmark = pytest.mark.postgres

_WORDS = [
    "кафе",
    "такси",
    "карта",
    "нал",
    "наличные",
    "@нал",
    ">",
    "→",
    "#тег",
    "вчера",
    "27.11",
    "01.01.0001",
    "31.02",
    "+",
    "-",
    "me",
    "total",
    "off",
    "бизнес ланч",
    "другое",
    "зарплата",
    "прочее",
    "продукты",
    "копилка",
    "shared",
    ",",
    "1 000",
    "9999-12",
    "0001",
    "٣",
    "１",
]
_COMMANDS = [
    "today",
    "week",
    "month",
    "year",
    "last",
    "balance",
    "undo",
    "budgets",
    "accounts",
    "categories",
    "lang",
    "help",
    "start",
    "del",
    "transfer",
    "budget",
    "addaccount",
    "addcategory",
    "addincome",
    "alias",
    "unalias",
    "default",
    "archive",
    "nonsense",
    "del1",
]
_CRAFTED = [
    "u:abc",
    "u:0",
    "u:99999999999999999999",
    "c:1",
    "c:-1",
    "r:1:1",
    "r:1:x",
    "b:1",
    "zzz",
    "",
    "u:1:2",
    "r:99999:1",
    "c:999",
]

_NUMBER = st.integers(-5, 10**6).map(str) | st.sampled_from(["250,50", "120+80", "1e5", "0"])
_HOSTILE = st.sampled_from(_WORDS)
_WORD = st.one_of(_HOSTILE, _HOSTILE, _NUMBER, st.text(max_size=5))
_LINE = st.lists(_WORD, min_size=1, max_size=5).map(" ".join)
_TEXT = st.lists(_LINE, min_size=1, max_size=3).map("\n".join)
_COMMAND = st.builds(
    lambda name, upper, args: f"/{name.upper() if upper else name} {args}".rstrip(),
    st.sampled_from(_COMMANDS),
    st.booleans(),
    st.lists(_WORD, max_size=3).map(" ".join),
)
_ACTION = st.one_of(
    st.tuples(st.just("say"), _TEXT | _COMMAND),
    st.tuples(st.just("press"), st.sampled_from(_CRAFTED) | st.just("button")),
    st.tuples(st.just("redeliver"), st.just("")),
    st.tuples(st.just("stranger"), _TEXT),
)


def counted(bot: RunningBot, outcomes: tuple[str, ...] = OUTCOMES) -> float:
    registry = bot.app.metrics.registry
    return sum(
        registry.get_sample_value("finance_bot_updates_total", {"type": kind, "outcome": outcome})
        or 0.0
        for kind in UPDATE_TYPES
        for outcome in outcomes
    )


def _act(fake: FakeTelegram, kind: str, value: str, sent: list[int], choice: int) -> int | None:
    """Send one update; return its id, or None when there was nothing to do."""
    if kind == "say":
        if not value.strip():
            return None  # Telegram delivers no empty messages
        return fake.send_text(ALICE if choice % 3 else BOB, value, first_name="Алиса")
    if kind == "stranger":
        return fake.send_text(STRANGER, value or "?", first_name="Eve")
    if kind == "redeliver":
        return fake.redeliver(sent[choice % len(sent)]) if sent else None
    messages = fake.messages_to(ALICE)
    if not messages:
        return None
    message = messages[choice % len(messages)]
    if value == "button":
        rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
        buttons = [b["callback_data"] for row in rows for b in row]
        if not buttons:
            return None
        value = buttons[choice % len(buttons)]
    return fake.press_button(ALICE, message["message_id"], value)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=st.lists(st.tuples(_ACTION, st.integers(0, 1000)), min_size=1, max_size=8))
async def test_every_update_ends_handled_duplicate_denied_or_parse_error(
    bot: RunningBot, fake: FakeTelegram, actions: list[tuple[tuple[str, str], int]]
) -> None:
    sent: list[int] = []
    presses: set[int] = set()
    for (kind, value), choice in actions:
        before, answers = counted(bot), len(fake.calls("answerCallbackQuery"))
        update_id = _act(fake, kind, value, sent, choice)
        if update_id is None:
            continue
        sent.append(update_id)
        if kind == "press":
            presses.add(update_id)
        await fake.wait_for(lambda before=before: counted(bot) > before, timeout=20)
        assert counted(bot, ("error",)) == 0, (kind, value)
        if update_id in presses:
            # A press left unanswered keeps the person's client spinning.
            assert len(fake.calls("answerCallbackQuery")) > answers, (kind, value)
    assert counted(bot, ("error",)) == 0
    connection = await asyncpg.connect(bot.database_url)
    try:
        assert await check_ledger(connection) == []
    finally:
        await connection.close()
