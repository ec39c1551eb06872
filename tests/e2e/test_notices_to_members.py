"""What the bot sends members on its own: a budget alert reaches every member who can hear
it, whoever else blocked the bot, in polling and in webhook mode (docs/adr/0012, 0026)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from finance_bot.sandbox.fake_api import FakeTelegram
from finance_bot.sandbox.people import Person
from tests.e2e.support import ALICE, BOB, RunningBot, ledger_rows, transaction_count
from tests.e2e.test_delivery import bot_texts, say
from tests.e2e.test_forwards import forward
from tests.e2e.test_recurring import bot_with_scheduler, today
from tests.e2e.webhooks import webhook_bot

pytestmark = pytest.mark.postgres


async def _bob_first_then_blocked(alice: Person, bob: Person, fake: FakeTelegram) -> None:
    """Bob joins first, so his alert is the first one sent; then he blocks the bot."""
    await bob.say("/start")
    await alice.say("/start")
    await alice.say("/budget кафе 1000")
    fake.block(BOB)


async def _assert_alice_alone_was_told(
    alice: Person, fake: FakeTelegram, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = len(bot_texts(fake, ALICE))
    await alice.say("1200 кафе")
    await fake.wait_for(lambda: len(bot_texts(fake, ALICE)) >= before + 2)
    told = bot_texts(fake, ALICE)[before:]
    assert told[0].startswith("#1 "), told
    assert ["⚠️" in text for text in told] == [False, True], told  # no apology after it
    refused = [c for c in fake.calls("sendMessage") if int(c.params["chat_id"]) == BOB]
    assert [c.status for c in refused][-1:] == [403]  # Bob's alert was tried, once
    assert len([c for c in refused if c.status == 403]) == 1
    assert await transaction_count(database_url) == 1
    rows = await ledger_rows(database_url, "SELECT threshold_pct FROM budget_alerts")
    assert sorted(r["threshold_pct"] for r in rows) == [80, 100]
    logged = [r for r in caplog.records if "blocked" in r.getMessage()]
    assert logged, "the refusal is logged"
    plain = set(logging.makeLogRecord({}).__dict__)
    for record in logged:
        extras = {k: v for k, v in record.__dict__.items() if k not in plain}
        said = f"{record.getMessage()} {extras}"
        assert "Bob" not in said
        assert str(BOB) not in said


async def test_a_member_who_blocked_the_bot_holds_up_nobody_elses_alert(
    bot: RunningBot,
    alice: Person,
    bob: Person,
    fake: FakeTelegram,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    await _bob_first_then_blocked(alice, bob, fake)
    await _assert_alice_alone_was_told(alice, fake, bot.database_url, caplog)


async def test_in_webhook_mode_too_a_blocked_member_holds_up_nobody_elses_alert(
    fake: FakeTelegram,
    fresh_database_url: str,
    alice: Person,
    bob: Person,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with webhook_bot(fake, fresh_database_url) as _:
        await _bob_first_then_blocked(alice, bob, fake)
        await _assert_alice_alone_was_told(alice, fake, fresh_database_url, caplog)


async def test_a_repeating_entrys_alert_reaches_the_author_past_a_member_who_blocked_the_bot(
    fake: FakeTelegram, fresh_database_url: str, alice: Person, bob: Person
) -> None:
    url = fresh_database_url
    async with bot_with_scheduler(fake, url):
        await _bob_first_then_blocked(alice, bob, fake)
        before = len(bot_texts(fake, ALICE))
        await alice.say(f"/every day 1200 кафе from {today():%d.%m.%Y}")
        await fake.wait_for(lambda: any("⚠️" in t for t in bot_texts(fake, ALICE)[before:]))
        await asyncio.sleep(1.5)  # several ticks: Bob is not knocked on again, nor Alice told twice
    told = bot_texts(fake, ALICE)[before:]
    assert len([t for t in told if t.splitlines()[0] == "🔁 Правило #1:"]) == 1
    assert len([t for t in told if "⚠️" in t]) == 1
    to_bob = [c for c in fake.calls("sendMessage") if int(c.params["chat_id"]) == BOB]
    assert [c.status for c in to_bob if c.status != 200] == [403]
    [row] = await ledger_rows(
        url, "SELECT count(*) AS n, count(notified_at) AS told FROM recurring_occurrences"
    )
    assert (row["n"], row["told"]) == (1, 1)


def alerts_to(fake: FakeTelegram, who: int) -> int:
    return len([text for text in bot_texts(fake, who) if "⚠️" in text])


async def test_a_redelivered_update_that_crossed_a_budget_alerts_each_member_once(
    bot: RunningBot, alice: Person, bob: Person, fake: FakeTelegram
) -> None:
    await bob.say("/start")
    await alice.say("/budget кафе 1000")
    update_id = say(fake, ALICE, "1200 кафе")
    await alice.processed(update_id)
    assert (alerts_to(fake, ALICE), alerts_to(fake, BOB)) == (1, 1)
    sent = len(fake.calls("sendMessage"))

    fake.redeliver(update_id)
    await fake.wait_for(lambda: update_id not in fake.pending_update_ids())
    await fake.wait_for(lambda: len(fake.calls("sendMessage")) > sent)
    await asyncio.sleep(0.3)  # whatever else the replay would send
    # The replay repeats the author's confirmation (docs/product.md: the reply of an update
    # may be repeated by its retry), but every member was told of the budget already.
    assert (alerts_to(fake, ALICE), alerts_to(fake, BOB)) == (1, 1)
    assert await transaction_count(bot.database_url) == 1
    rows = await ledger_rows(bot.database_url, "SELECT threshold_pct FROM budget_alerts")
    assert sorted(r["threshold_pct"] for r in rows) == [80, 100]


async def test_in_webhook_mode_a_lost_answer_alerts_each_member_once(
    fake: FakeTelegram, fresh_database_url: str, alice: Person, bob: Person
) -> None:
    async with webhook_bot(fake, fresh_database_url) as _:
        await bob.say("/start")
        await alice.say("/budget кафе 1000")
        # The 200 is lost on its way back, and with it the author's alert it carried: the
        # update comes again; Bob, told by request the first time, is not told again.
        fake.webhook.lose_next_answers(1)
        update_id = say(fake, ALICE, "1200 кафе")
        await alice.processed(update_id)
        await fake.wait_for(lambda: alerts_to(fake, ALICE) >= 1)
        await asyncio.sleep(0.3)
        assert (alerts_to(fake, ALICE), alerts_to(fake, BOB)) == (1, 1)
    assert await transaction_count(fresh_database_url) == 1


async def test_a_forwards_record_press_handled_again_still_alerts_whom_the_first_missed(
    bot: RunningBot, alice: Person, bob: Person, fake: FakeTelegram
) -> None:
    await bob.say("/start")
    await alice.say("/budget кафе 1000")
    preview = await forward(fake, alice, "1200 кафе", origin_user_id=BOB)
    # Bob's alert, the first sendMessage, fails past the session's retries: the press is
    # handled again, and its replay (the entry recorded already) must still tell Bob.
    fake.fail_next("sendMessage", 6, status=500)
    await alice.press(preview, "Записать")
    await fake.wait_for(lambda: alerts_to(fake, BOB) >= 1 and alerts_to(fake, ALICE) >= 1)
    await asyncio.sleep(0.3)
    assert (alerts_to(fake, ALICE), alerts_to(fake, BOB)) == (1, 1)
    assert await transaction_count(bot.database_url) == 1
