"""A digest through the running bot (docs/product.md §10): `finance-bot run` in a process
of its own, its scheduler ticking every half second, the fake Bot API over HTTP. Alice
asks for a daily digest at the current minute in Kyiv and gets it once — also after the
bot restarts; what she cannot ask for is refused in words and changes nothing."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from finance_bot.sandbox.fake_api import FakeTelegram
from finance_bot.sandbox.people import Person
from tests.e2e.processes import BotProcess, eventually
from tests.e2e.support import ALICE, BOB, ledger_rows

pytestmark = pytest.mark.postgres

KYIV = ZoneInfo("Europe/Kyiv")  # the sandbox bot's BOT_TIMEZONE
WAIT = 60.0  # generous: a bounded wait that only a hang exhausts
TICK = "0.5"


@pytest.fixture
def bot(fake: FakeTelegram, fresh_database_url: str) -> Iterator[BotProcess]:
    with tempfile.TemporaryDirectory(prefix="fb-bot-") as data_dir:
        process = BotProcess(
            api_base=fake.base_url,
            database_url=fresh_database_url,
            data_dir=Path(data_dir),
            extra_env={"SCHEDULER_INTERVAL_SECONDS": TICK},
        )
        try:
            yield process
        finally:
            process.ensure_dead()


def digests_to(fake: FakeTelegram, who: int, title: str) -> list[str]:
    texts = [str(message.get("text", "")) for message in fake.messages_to(who)]
    return [text for text in texts if text.startswith(title)]


async def settings_rows(database_url: str) -> list[tuple[int, str, str]]:
    rows = await ledger_rows(
        database_url, "SELECT telegram_id, kind, send_at::text AS at FROM digest_settings"
    )
    return [(r["telegram_id"], r["kind"], r["at"]) for r in rows]


async def this_minute_in_kyiv() -> str:
    """HH:MM now in Kyiv, with at least ten seconds of the minute left for the command to
    arrive in it (a digest set for a minute already past would be tomorrow's)."""
    now = datetime.now(KYIV)
    if now.second >= 50:
        await asyncio.sleep(61 - now.second)
        now = datetime.now(KYIV)
    return now.strftime("%H:%M")


async def test_a_daily_digest_asked_for_in_the_chat_arrives_once_even_across_a_restart(
    fake: FakeTelegram, bot: BotProcess, fresh_database_url: str
) -> None:
    alice = Person(fake, ALICE, "Алиса")
    bob = Person(fake, BOB, "Bob", language_code="en")
    bot.start()

    assert "Сводки нет" in (await alice.say("/digest")).text
    assert "/digest daily 21:00" in (await alice.say("/digest hourly")).text
    refused = (await bob.say("/digest daily 25:00")).text
    assert "“25:00” is not a time of day" in refused
    assert "Nothing changed" in refused
    assert await settings_rows(fresh_database_url) == []

    await alice.say("250 кафе")
    await alice.say("/budget кафе 1000")
    await bob.say("/digest weekly")
    asked = datetime.now(KYIV)
    monday_nine = asked.weekday() == 0 and asked.strftime("%H:%M") == "09:00"
    at = await this_minute_in_kyiv()
    confirmed = (await alice.say(f"/digest daily {at}")).text
    assert f"каждый день в {at}" in confirmed
    assert "Europe/Kyiv" in confirmed

    await eventually(
        lambda: digests_to(fake, ALICE, "📬 Сводка за день"),
        timeout=WAIT,
        what="Alice's digest",
    )
    [digest] = digests_to(fake, ALICE, "📬 Сводка за день")
    # Exactly what /today and /budgets show her now (the same day, nothing new since).
    today = (await alice.say("/today")).text
    budgets = (await alice.say("/budgets")).text
    assert "250,00" in today
    assert digest == f"📬 Сводка за день\n{today}\n\n{budgets}"

    await asyncio.sleep(3 * float(TICK) + 1)  # more ticks: nothing more
    assert await bot.terminate() == 0
    bot.start()
    assert f"каждый день в {at}" in (await alice.say("/digest")).text
    await asyncio.sleep(3 * float(TICK) + 1)
    assert len(digests_to(fake, ALICE, "📬 Сводка за день")) == 1
    if not monday_nine:  # asked within a weekly digest's minute, Bob would have it
        assert digests_to(fake, BOB, "📬") == []  # weekly: Monday 09:00, the week before
    assert sorted(await settings_rows(fresh_database_url)) == [
        (ALICE, "daily", f"{at}:00"),
        (BOB, "weekly", "09:00:00"),
    ]
    rows = await ledger_rows(fresh_database_url, "SELECT telegram_id, state FROM digests_sent")
    assert [(r["telegram_id"], r["state"]) for r in rows] == [(ALICE, "sent")]
    assert (await alice.say("/digest off")).text == "Сводка выключена."
    assert [row[0] for row in await settings_rows(fresh_database_url)] == [BOB]


async def digest_states(database_url: str) -> list[tuple[int, str]]:
    rows = await ledger_rows(database_url, "SELECT telegram_id, state FROM digests_sent")
    return [(r["telegram_id"], r["state"]) for r in rows]


async def test_a_bot_killed_between_claiming_a_digest_and_its_answer_never_sends_it_twice(
    fake: FakeTelegram, bot: BotProcess, fresh_database_url: str
) -> None:
    """docs/adr/0017: claimed, then sent. SIGKILL while the request is on its way leaves the
    claim `sending`; the restarted bot does not send that digest again (at most once)."""
    alice = Person(fake, ALICE, "Алиса")
    bot.start()
    await alice.say("/start")
    at = await this_minute_in_kyiv()
    assert f"каждый день в {at}" in (await alice.say(f"/digest daily {at}")).text
    fake.set_latency("sendMessage", 5.0, chat_id=ALICE)  # the digest's request hangs
    for _ in range(int(WAIT * 10)):
        if await digest_states(fresh_database_url) == [(ALICE, "sending")]:
            break
        await asyncio.sleep(0.1)
    assert await digest_states(fresh_database_url) == [(ALICE, "sending")]
    await bot.kill()
    fake.set_latency("sendMessage", 0, chat_id=ALICE)

    bot.start()
    assert f"каждый день в {at}" in (await alice.say("/digest")).text
    await asyncio.sleep(6 * float(TICK) + 5)  # ticks, and the hung request's own end
    # The fake dropped the request with its connection, so this digest is lost: the price
    # ADR-0017 chose over sending twice; the row stays `sending` for an operator to see.
    assert digests_to(fake, ALICE, "📬 Сводка за день") == []
    assert await digest_states(fresh_database_url) == [(ALICE, "sending")]
