"""Exactly-once delivery: every chat line is booked once and answered, whatever fails.

Telegram delivers an update until the bot asks for a higher offset, and may deliver it
again even then. The bot acknowledges an update only once it is booked and answered, and
books it under the update's idempotency key. These tests break things around that — lost
and failed Bot API calls, redelivery, SIGTERM and SIGKILL, a database that goes away, a
Telegram that is down at start-up — and check both sides each time: what the people were
told, and what the ledger holds.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import asyncpg
import pytest

from finance_bot.adapters.postgres.check import check_ledger
from finance_bot.adapters.postgres.migrator import migrate
from finance_bot.adapters.telegram.formatting import format_money
from finance_bot.domain.money import Money
from finance_bot.sandbox.fake_api import FakeTelegram
from finance_bot.sandbox.people import Person
from tests.e2e.processes import BotProcess, DedicatedPostgres, eventually
from tests.e2e.support import (
    ALICE,
    BOB,
    RunningBot,
    ledger_rows,
    running_bot,
    settings_for,
    spending_of,
    transaction_count,
)
from tests.support.databases import DatabaseServer

pytestmark = pytest.mark.postgres

LANGUAGES = {ALICE: "ru", BOB: "en"}
NAMES = {ALICE: "Алиса", BOB: "Bob"}
WAIT = 60.0  # generous: a bounded wait that only a hang exhausts


# What the people saw, and what the books say


def say(fake: FakeTelegram, who: int, text: str) -> int:
    """A line from ALICE or BOB, without waiting for the bot; its update_id."""
    return fake.send_text(who, text, language_code=LANGUAGES[who], first_name=NAMES[who])


def fragment(units: int, who: int) -> str:
    """How a confirmation to `who` shows an expense of `units` hryvnias: " −250,00 ₴"."""
    return " −" + format_money(Money(units * 100, "UAH"), LANGUAGES[who])


def bot_texts(fake: FakeTelegram, who: int) -> list[str]:
    return [str(message.get("text", "")) for message in fake.messages_to(who)]


def confirmations_of(fake: FakeTelegram, who: int, units: int) -> int:
    """How many of the bot's messages to `who` confirm an expense of `units`."""
    return sum(
        1 for text in bot_texts(fake, who) if text.startswith("#") and fragment(units, who) in text
    )


async def cafe_amounts(database_url: str) -> list[int]:
    """The amount of every live leg booked to a cafe category, in minor units, sorted."""
    rows = await ledger_rows(
        database_url,
        "SELECT p.amount_minor FROM postings p JOIN accounts a ON a.id = p.account_id"
        " WHERE a.code = 'cafe' AND p.direction = 'debit' ORDER BY p.amount_minor",
    )
    return [int(row["amount_minor"]) for row in rows]


async def transaction_numbers(database_url: str) -> list[int]:
    rows = await ledger_rows(database_url, "SELECT number FROM transactions ORDER BY number")
    return [int(row["number"]) for row in rows]


async def ledger_violations(database_url: str) -> list[object]:
    connection = await asyncpg.connect(database_url)
    try:
        return list(await check_ledger(connection))
    finally:
        await connection.close()


async def assert_books_hold(database_url: str, amounts: list[int]) -> None:
    """The ledger holds exactly one cafe expense per amount, numbered without gaps."""
    assert await transaction_count(database_url) == len(amounts)
    assert await spending_of(database_url, "cafe") == sum(amounts) * 100
    assert await cafe_amounts(database_url) == sorted(a * 100 for a in amounts)
    assert await transaction_numbers(database_url) == list(range(1, len(amounts) + 1))
    assert await ledger_violations(database_url) == []


# 1. Redelivery


async def test_redelivered_update_is_recorded_once(
    fake: FakeTelegram, bot: RunningBot, alice: Person, fresh_database_url: str
) -> None:
    update_id = say(fake, ALICE, "250 кафе")
    await alice.processed(update_id)
    [first] = fake.messages_to(ALICE)
    assert first["text"].startswith("#1 ")
    assert fragment(250, ALICE) in first["text"]

    fake.redeliver(update_id)
    await fake.wait_for(lambda: len(fake.messages_to(ALICE)) == 2, timeout=WAIT)
    await fake.wait_for(lambda: update_id not in fake.pending_update_ids(), timeout=WAIT)

    # The replay answers with the first result: the same number, text and buttons.
    replayed = fake.messages_to(ALICE)[1]
    assert replayed["text"] == first["text"]
    assert replayed.get("reply_markup") == first.get("reply_markup")
    assert await transaction_count(fresh_database_url) == 1
    assert await spending_of(fresh_database_url, "cafe") == 25_000

    # The replay took no number: the next line is #2, and a later replay still says #1.
    second = await alice.say("100 такси")
    assert second.text.startswith("#2 ")
    fake.redeliver(update_id)
    await fake.wait_for(lambda: len(fake.messages_to(ALICE)) == 4, timeout=WAIT)
    await fake.wait_for(lambda: not fake.pending_update_ids(), timeout=WAIT)
    assert fake.messages_to(ALICE)[3]["text"] == first["text"]

    assert await transaction_count(fresh_database_url) == 2
    assert await spending_of(fresh_database_url, "cafe") == 25_000
    assert await spending_of(fresh_database_url, "taxi") == 10_000
    assert await transaction_numbers(fresh_database_url) == [1, 2]


# 2. Bot API faults while people write


@dataclass(frozen=True)
class Fault:
    name: str
    arm: Callable[[FakeTelegram], object]
    repeats_reply: bool = False  # the reply reached the chat, but the bot could not know


def _both_fail(fake: FakeTelegram) -> None:
    fake.fail_next("sendMessage", status=500)
    fake.fail_next("getUpdates", 2, status=502)


FAULTS = (
    Fault("none", lambda fake: None),
    Fault("sendMessage 500 twice", lambda fake: fake.fail_next("sendMessage", 2, status=500)),
    Fault("sendMessage 500 once", lambda fake: fake.fail_next("sendMessage", status=500)),
    # More failures than the request middleware rides out: the update is handled again.
    Fault("sendMessage 500 ×6", lambda fake: fake.fail_next("sendMessage", 6, status=500)),
    Fault("sendMessage 429", lambda fake: fake.fail_next("sendMessage", retry_after=1)),
    Fault("sendMessage lost on the way", lambda fake: fake.drop_next("sendMessage")),
    Fault(
        "sendMessage done, its answer lost",
        lambda fake: fake.drop_next("sendMessage", processed=True),
        repeats_reply=True,
    ),
    Fault("getUpdates 502", lambda fake: fake.fail_next("getUpdates", status=502)),
    Fault("getUpdates lost on the way", lambda fake: fake.drop_next("getUpdates")),
    Fault("sendMessage 500 and getUpdates 502 ×2", _both_fail),
    Fault("sendMessage 500 ×4 in a row", lambda fake: fake.fail_next("sendMessage", 4, status=500)),
    Fault("none again", lambda fake: None),
)


async def test_every_message_is_recorded_once_and_confirmed_despite_api_faults(
    fake: FakeTelegram, bot: RunningBot, fresh_database_url: str
) -> None:
    # One fault per line, armed just before it, so each fault meets a known update.
    lines = [(ALICE if i % 2 == 0 else BOB, 10 * (i + 1) + i) for i in range(len(FAULTS))]
    for fault, (who, units) in zip(FAULTS, lines, strict=True):
        fault.arm(fake)
        update_id = say(fake, who, f"{units} кафе")
        await fake.wait_for(lambda uid=update_id: fake.confirmed_offset > uid, timeout=WAIT)  # type: ignore[misc]

    await assert_books_hold(fresh_database_url, [units for _, units in lines])
    for fault, (who, units) in zip(FAULTS, lines, strict=True):
        seen = confirmations_of(fake, who, units)
        allowed = (1, 2) if fault.repeats_reply else (1,)
        assert seen in allowed, f"{fault.name}: {seen} confirmations of {units}"
    everything = bot_texts(fake, ALICE) + bot_texts(fake, BOB)
    assert all(text.startswith("#") for text in everything), everything

    # Every planned fault did fire.
    def statuses(method: str) -> list[int | None]:
        return [call.status for call in fake.calls(method)]

    assert statuses("sendMessage").count(500) == 2 + 1 + 6 + 1 + 4
    assert statuses("sendMessage").count(429) == 1
    assert statuses("sendMessage").count(None) == 2
    assert statuses("getUpdates").count(502) == 3
    assert statuses("getUpdates").count(None) == 1


# 3. SIGTERM


async def test_sigterm_finishes_the_update_in_hand(
    fake: FakeTelegram, bot_process: BotProcess, fresh_database_url: str
) -> None:
    bot_process.start()
    latency = 2.0
    fake.set_latency("sendMessage", latency)  # the reply takes long: the update stays in hand
    update_id = say(fake, ALICE, "250 кафе")
    # Booked means handled up to the reply, which is now under way.
    await bot_process.wait_until(
        lambda: _booked(fresh_database_url, 1), timeout=WAIT, what="the line booked"
    )
    terminated_at = asyncio.get_running_loop().time()
    assert bot_process.returncode is None
    code = await bot_process.terminate(timeout=WAIT)

    assert code == 0
    [reply] = fake.calls("sendMessage")
    # Booked before the signal, answered after it: the update was in hand.
    assert reply.at + latency > terminated_at
    assert reply.status == 200
    [message] = fake.messages_to(ALICE)
    assert message["text"].startswith("#1 ")
    assert fragment(250, ALICE) in message["text"]
    assert fake.confirmed_offset > update_id  # acknowledged before exiting
    assert await transaction_count(fresh_database_url) == 1

    # A restart does not handle it again.
    fake.set_latency("sendMessage", 0)
    fake.fail_next("sendMessage", status=500)  # something worth a warning in the log
    bot_process.start()
    next_id = say(fake, ALICE, "730 такси")
    await bot_process.wait_until(lambda: fake.confirmed_offset > next_id, timeout=WAIT)
    texts = bot_texts(fake, ALICE)
    assert len(texts) == 2, texts
    assert texts[0].startswith("#1 ")
    assert texts[1].startswith("#2 ")
    assert await transaction_count(fresh_database_url) == 2
    assert await spending_of(fresh_database_url, "cafe") == 25_000
    assert await spending_of(fresh_database_url, "taxi") == 73_000
    assert await bot_process.terminate(timeout=WAIT) == 0

    # The log: JSON lines only, and nothing of what Alice wrote.
    records = bot_process.log_records()
    messages = [record.get("message") for record in records]
    assert messages.count("bot started") == 2
    assert "telegram request failed" in messages
    assert messages.count("bot stopped") == 2
    raw = bot_process.log_text()
    for secret in ("кафе", "такси", "Алиса"):
        assert secret not in raw
    for record in records:
        assert not _reveals(record, ("250", "730")), record


def _reveals(record: dict[str, object], amounts: tuple[str, ...]) -> bool:
    """Whether a log record shows an amount: in its text, or as a number of its own.

    Digits may occur by chance in the timestamp, a stack frame's line number or a port.
    """
    for key, value in record.items():
        if key in ("time", "stack"):
            continue
        if isinstance(value, str) and any(amount in value for amount in amounts):
            return True
        if isinstance(value, int) and any(
            value in (int(amount), int(amount) * 100) for amount in amounts
        ):
            return True
    return False


async def _booked(database_url: str, count: int) -> bool:
    return await transaction_count(database_url) >= count


# 4. SIGKILL


async def test_killed_bot_records_every_message_exactly_once(
    fake: FakeTelegram, bot_process: BotProcess, fresh_database_url: str
) -> None:
    seed = 20_240_605
    plan = random.Random(seed)
    amounts = list(range(1, 101))
    plan.shuffle(amounts)
    senders = [plan.choice((ALICE, BOB)) for _ in amounts]
    kills = 3  # each restart costs seconds of imports
    # Kill once the bot has sent this many replies since the test began: always progress.
    kill_after = sorted(plan.sample(range(10, 90), kills))
    stream_rng = random.Random(seed + 1)
    kill_rng = random.Random(seed + 2)

    async def stream() -> list[int]:
        """Bursts of lines, never more than a few ahead of what the bot acknowledged."""
        ids: list[int] = []
        position = 0
        while position < len(amounts):
            ahead = stream_rng.randint(2, 12)
            await fake.wait_for(
                lambda ahead=ahead: not ids or ids[-1] - fake.confirmed_offset < ahead,  # type: ignore[misc]
                timeout=WAIT,
            )
            burst = stream_rng.randint(1, 6)
            chunk = slice(position, position + burst)
            for units, who in zip(amounts[chunk], senders[chunk], strict=True):
                ids.append(say(fake, who, f"{units} кафе"))
            position += burst
            await asyncio.sleep(stream_rng.uniform(0.0, 0.1))
        return ids

    bot_process.start()
    streaming = asyncio.create_task(stream())
    try:
        for threshold in kill_after:
            await bot_process.wait_until(
                lambda n=threshold: len(fake.calls("sendMessage")) >= n,  # type: ignore[misc]
                timeout=WAIT,
                what=f"{threshold} replies",
            )
            await asyncio.sleep(kill_rng.uniform(0.0, 0.15))  # somewhere in an update
            assert await bot_process.kill() == -signal.SIGKILL
            bot_process.start()
        await bot_process.wait_until(streaming.done, timeout=WAIT, what="all lines sent")
        update_ids = streaming.result()
        await bot_process.wait_until(
            lambda: fake.confirmed_offset > max(update_ids) and not fake.pending_update_ids(),
            timeout=WAIT,
            what="every update acknowledged",
        )
    finally:
        streaming.cancel()

    assert await bot_process.terminate(timeout=WAIT) == 0
    assert bot_process.starts == kills + 1
    await assert_books_hold(fresh_database_url, amounts)
    for units, who in zip(amounts, senders, strict=True):
        # A kill between the reply and the acknowledgement repeats the reply: fine.
        assert confirmations_of(fake, who, units) >= 1, units
    everything = bot_texts(fake, ALICE) + bot_texts(fake, BOB)
    assert all(text.startswith("#") for text in everything), everything
    bot_process.log_records()  # even killed mid-line, the log stays JSON lines


# 5. The database goes away


class RetryLog(logging.Handler):
    """Counts the polling loop's "update will be retried" warnings, by update."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.retries: dict[int, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "update will be retried":
            update_id = int(getattr(record, "update_id", -1))
            self.retries[update_id] = self.retries.get(update_id, 0) + 1


@pytest.fixture
def retry_log() -> Iterator[RetryLog]:
    handler = RetryLog()
    logger = logging.getLogger("finance_bot.adapters.telegram.polling")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


async def test_database_outage_loses_nothing(
    fake: FakeTelegram, dedicated_postgres: DedicatedPostgres, retry_log: RetryLog
) -> None:
    server = DatabaseServer(dedicated_postgres.url)
    name = f"finance_bot_outage_{uuid.uuid4().hex[:8]}"
    await server.create_database(name)
    database_url = server.url_for(name)
    connection = await asyncpg.connect(database_url)
    try:
        await migrate(connection)
    finally:
        await connection.close()

    before = [(ALICE, 11), (BOB, 22), (ALICE, 33)]
    during = [(BOB, 44), (ALICE, 55), (BOB, 66), (ALICE, 77)]
    async with running_bot(settings_for(fake, database_url)):
        for who, units in before:
            update_id = say(fake, who, f"{units} кафе")
            await fake.wait_for(lambda uid=update_id: fake.confirmed_offset > uid, timeout=WAIT)  # type: ignore[misc]
        acknowledged = fake.confirmed_offset
        replies_before = len(fake.sent)

        await dedicated_postgres.stop("immediate")
        outage_ids = [say(fake, who, f"{units} кафе") for who, units in during]
        # The bot holds the first of them and keeps retrying it.
        await eventually(
            lambda: retry_log.retries.get(outage_ids[0], 0) >= 3,
            timeout=WAIT,
            what="the bot retrying while the database is down",
        )
        assert fake.confirmed_offset == acknowledged <= outage_ids[0]
        assert [c for c in fake.sent[replies_before:] if c.method == "sendMessage"] == []

        await dedicated_postgres.start()
        await fake.wait_for(lambda: fake.confirmed_offset > outage_ids[-1], timeout=WAIT)

    amounts = [units for _, units in before + during]
    await assert_books_hold(database_url, amounts)
    for who, units in before + during:
        assert confirmations_of(fake, who, units) == 1, units
    assert all(text.startswith("#") for text in bot_texts(fake, ALICE) + bot_texts(fake, BOB))


# 6. Telegram is down when the bot starts


async def test_telegram_outage_at_startup(fake: FakeTelegram, fresh_database_url: str) -> None:
    # Written while the bot was away: they wait in Telegram's queue.
    lines = [(ALICE, 15), (BOB, 25), (ALICE, 35), (BOB, 45)]
    update_ids = [say(fake, who, f"{units} кафе") for who, units in lines]
    fake.fail_next("deleteWebhook", status=500)
    fake.fail_next("getMe", status=500)  # the bot need not call it; if it does, it must cope
    fake.fail_next("setMyCommands", status=502)
    fake.fail_next("getUpdates", 3, status=500)
    fake.drop_next("getUpdates")

    def all_handled() -> bool:
        assert True not in fake.webhook_deletions, "pending updates dropped"
        return fake.confirmed_offset > update_ids[-1] and not fake.pending_update_ids()

    async with running_bot(settings_for(fake, fresh_database_url)):
        await fake.wait_for(all_handled, timeout=WAIT)

    polls = [call.status for call in fake.calls("getUpdates")]
    assert polls[:4] == [500, 500, 500, None]  # it kept trying
    assert [call.status for call in fake.calls("deleteWebhook")][:2] == [500, 200]
    assert True not in fake.webhook_deletions  # pending updates were never dropped
    assert fake.webhook_deletions
    await assert_books_hold(fresh_database_url, [units for _, units in lines])
    for who, units in lines:
        assert confirmations_of(fake, who, units) == 1, units
