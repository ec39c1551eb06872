"""Long polling handles different chats at once (docs/adr/0020).

One chat held up — here its replies, which the fake Telegram delays for that chat alone —
no longer holds every other chat: their lines are booked and answered meanwhile. Each
chat's own lines keep their order, and the acknowledged offset never passes the update
still in hand, so a bot killed while it is in flight handles it again, once.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import pytest

from finance_bot.adapters.telegram import replies
from finance_bot.adapters.telegram.routers import capture
from finance_bot.sandbox.fake_api import FakeTelegram
from tests.e2e.conftest import PollingLog
from tests.e2e.processes import BotProcess, eventually
from tests.e2e.support import (
    ALICE,
    BOB,
    RunningBot,
    running_bot,
    settings_for,
    transaction_count,
)
from tests.e2e.test_delivery import assert_books_hold, confirmations_of, say
from tests.e2e.webhooks import numbered_amounts

pytestmark = pytest.mark.postgres

WAIT = 60.0
HELD = 4.0  # how long Telegram takes with each reply to Alice


async def booked(database_url: str, count: int) -> bool:
    return await transaction_count(database_url) >= count


def answered(fake: FakeTelegram, chat_id: int) -> int:
    return sum(
        1
        for call in fake.calls("sendMessage")
        if call.status == 200 and str(call.params.get("chat_id")) == str(chat_id)
    )


async def test_a_slow_chat_holds_up_neither_the_others_nor_its_own_order(
    fake: FakeTelegram, bot: RunningBot, fresh_database_url: str
) -> None:
    fake.set_latency("sendMessage", HELD, chat_id=ALICE)
    loop = asyncio.get_running_loop()
    started = loop.time()
    alice_first = say(fake, ALICE, "11 кафе")
    await eventually(lambda: booked(fresh_database_url, 1), timeout=WAIT, what="Alice's line")
    bob_ids = [say(fake, BOB, f"{units} кафе") for units in (21, 22, 23)]
    alice_more = [say(fake, ALICE, f"{units} кафе") for units in (12, 13)]

    # Bob is answered while Alice's first reply is still on its way.
    await fake.wait_for(lambda: answered(fake, BOB) == 3, timeout=WAIT)
    assert loop.time() - started < HELD
    assert answered(fake, ALICE) == 0
    # Bob's updates are done, but the offset stays at Alice's unfinished one.
    assert fake.confirmed_offset <= alice_first < min(bob_ids)

    await fake.wait_for(lambda: fake.confirmed_offset > max(alice_more), timeout=WAIT)
    assert answered(fake, ALICE) == 3
    await assert_books_hold(fresh_database_url, [11, 12, 13, 21, 22, 23])
    # Alice's lines are numbered in the order she sent them, whatever came between.
    alices = await numbered_amounts(fresh_database_url, ALICE)
    assert [units for _, units in alices] == [11, 12, 13]
    assert [units for _, units in await numbered_amounts(fresh_database_url, BOB)] == [21, 22, 23]
    for who, amounts in ((ALICE, (11, 12, 13)), (BOB, (21, 22, 23))):
        for units in amounts:
            assert confirmations_of(fake, who, units) == 1, units


async def test_killed_while_a_slow_update_is_in_flight_it_is_handled_once_after_restart(
    fake: FakeTelegram, bot_process: BotProcess, fresh_database_url: str
) -> None:
    bot_process.start()
    fake.set_latency("sendMessage", 60.0, chat_id=ALICE)  # in flight until the kill
    alice_id = say(fake, ALICE, "250 кафе")
    await bot_process.wait_until(
        lambda: booked(fresh_database_url, 1), timeout=WAIT, what="Alice's line in hand"
    )
    bob_ids = [say(fake, BOB, f"{units} кафе") for units in (31, 32)]
    await bot_process.wait_until(lambda: answered(fake, BOB) == 2, timeout=WAIT, what="Bob")
    assert answered(fake, ALICE) == 0
    assert fake.confirmed_offset <= alice_id < min(bob_ids)

    assert await bot_process.kill() == -signal.SIGKILL
    fake.set_latency("sendMessage", 0, chat_id=ALICE)
    bot_process.start()
    await bot_process.wait_until(
        lambda: fake.confirmed_offset > max(bob_ids) and not fake.pending_update_ids(),
        timeout=WAIT,
        what="everything acknowledged",
    )
    assert await bot_process.terminate(timeout=WAIT) == 0

    await assert_books_hold(fresh_database_url, [250, 31, 32])
    assert confirmations_of(fake, ALICE, 250) == 1
    for units in (31, 32):
        assert confirmations_of(fake, BOB, units) >= 1  # done above the offset: may repeat
    assert await transaction_count(fresh_database_url) == 3


def confirming_fails_for(monkeypatch: pytest.MonkeyPatch, who: int) -> list[int]:
    """Building a confirmation for `who` fails as if the database were out of reach (after
    the entry committed), for as long as the returned list is not emptied."""
    real = replies.confirmation_reply
    failing = [who]

    async def confirmation(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        if ctx.member.telegram_id in failing:
            raise ConnectionRefusedError("database out of reach")
        return await real(ctx, *args, **kwargs)

    monkeypatch.setattr(capture, "confirmation_reply", confirmation)
    return failing


async def test_stopped_while_a_chat_retries_its_update_the_chat_is_resumed_once_after_restart(
    fake: FakeTelegram,
    fresh_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    polling_log: PollingLog,
) -> None:
    failing = confirming_fails_for(monkeypatch, ALICE)
    settings = settings_for(fake, fresh_database_url)
    async with running_bot(settings):
        alice_first = say(fake, ALICE, "11 кафе")  # committed, then retried without end
        alice_next = say(fake, ALICE, "12 кафе")  # waits behind it in Alice's lane
        bob_ids = [say(fake, BOB, f"{units} кафе") for units in (21, 22)]
        await fake.wait_for(lambda: answered(fake, BOB) == 2, timeout=WAIT)
        await eventually(
            lambda: polling_log.count("update will be retried", "ConnectionRefusedError") >= 2,
            timeout=WAIT,
            what="Alice's update retried",
        )
    # Stopping cut the retry short: neither Alice's update in hand nor the one behind it
    # was acknowledged, and the one behind it was never started.
    assert fake.confirmed_offset <= alice_first < alice_next
    assert {alice_first, alice_next, *bob_ids} <= set(fake.pending_update_ids())
    await assert_books_hold(fresh_database_url, [11, 21, 22])
    assert answered(fake, ALICE) == 0

    failing.clear()
    async with running_bot(settings):
        await fake.wait_for(
            lambda: fake.confirmed_offset > max(bob_ids) and not fake.pending_update_ids(),
            timeout=WAIT,
        )

    await assert_books_hold(fresh_database_url, [11, 12, 21, 22])
    assert [units for _, units in await numbered_amounts(fresh_database_url, ALICE)] == [11, 12]
    assert confirmations_of(fake, ALICE, 11) == 1  # the replay's, from the stored result
    assert confirmations_of(fake, ALICE, 12) == 1
    for units in (21, 22):
        assert confirmations_of(fake, BOB, units) >= 1  # done above the offset: may repeat
