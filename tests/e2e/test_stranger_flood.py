"""Strangers cannot stall the household's bot (issue 7 §4), through the running bot.

The fake enforces Telegram's per-chat flood limit (about one message a second, else a
429 with retry_after), as the real one does.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

import pytest

from finance_bot.adapters.telegram.strangers import REPLIES_PER_MINUTE
from finance_bot.sandbox.fake_api import FakeTelegram
from finance_bot.sandbox.people import Person
from tests.e2e.support import ALICE, BOB, STRANGER, RunningBot, ledger_rows
from tests.e2e.test_metrics import scrape, value

pytestmark = pytest.mark.postgres

FLOOD = 300  # messages from one stranger
OTHERS = [7000 + n for n in range(60)]  # distinct stranger ids
ROUNDS = 3  # messages from each of them
MEMBER_BOUND_SECONDS = 5.0  # generous: members are answered in about two seconds


async def test_a_stranger_flood_does_not_hold_members_up(
    bot: RunningBot,
    fake: FakeTelegram,
    alice: Person,
    bob: Person,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="finance_bot.adapters.telegram.context")
    fake.limit_chat_rate(1.0)
    # The very first denial meets a long flood wait: waiting it out would hold everyone.
    fake.fail_next("sendMessage", retry_after=30)
    before = await scrape(bot)
    for number in range(FLOOD):
        fake.send_text(STRANGER, f"{number} кафе", language_code="en")
    for _ in range(ROUNDS):
        for stranger in OTHERS:
            fake.send_text(stranger, "/start", language_code="en")
    loop = asyncio.get_running_loop()
    started = loop.time()
    # Alice writes twice in a row: her second confirmation meets her own chat's limit.
    fake.send_text(ALICE, "250 кафе", first_name=alice.first_name)
    fake.send_text(ALICE, "120 такси", first_name=alice.first_name)
    last = fake.send_text(BOB, "90 coffee", first_name=bob.first_name, language_code="en")

    def answered() -> bool:
        return len(fake.messages_to(ALICE)) == 2 and len(fake.messages_to(BOB)) == 1

    await fake.wait_for(answered, timeout=MEMBER_BOUND_SECONDS)
    print(
        f"\nmembers answered {loop.time() - started:.2f} s after a flood of "
        f"{FLOOD + ROUNDS * len(OTHERS)} stranger messages"
    )
    await bob.processed(last)

    authors = await ledger_rows(
        bot.database_url,
        "SELECT author_telegram_id AS id, count(*) AS n FROM transactions GROUP BY 1",
    )
    assert {row["id"]: row["n"] for row in authors} == {ALICE: 2, BOB: 1}
    members = await ledger_rows(bot.database_url, "SELECT telegram_id FROM members")
    assert {row["telegram_id"] for row in members} == {ALICE, BOB}

    strangers = [STRANGER, *OTHERS]
    replies = {stranger: len(fake.messages_to(stranger)) for stranger in strangers}
    assert max(replies.values()) == 1  # at most one reply per id…
    assert sum(replies.values()) <= REPLIES_PER_MINUTE  # …and few in all
    assert replies[STRANGER] == 1  # the one that met the 429 is answered by a later message
    attempts = Counter(call.params["chat_id"] for call in fake.calls("sendMessage"))
    assert attempts[str(STRANGER)] == 2  # one refused with 429, never retried in a wait
    assert all(attempts[str(stranger)] <= 1 for stranger in OTHERS)

    after = await scrape(bot)
    denied = value(after, "finance_bot_updates_total", type="message", outcome="denied")
    denied -= value(before, "finance_bot_updates_total", type="message", outcome="denied")
    assert denied == FLOOD + ROUNDS * len(OTHERS)  # every attempt is counted

    lines = Counter(
        getattr(record, "telegram_id", None)
        for record in caplog.records
        if record.getMessage() == "access denied"
    )
    assert lines == Counter(dict.fromkeys(strangers, 1))  # one line per id
