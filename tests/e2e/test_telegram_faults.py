"""Telegram's side going wrong: an update the bot cannot decode, a token Telegram refuses,
a Bot API nobody answers at (docs/adr/0008)."""

from __future__ import annotations

import itertools
import logging
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from finance_bot.adapters.telegram import polling
from finance_bot.cli import EXIT_TOKEN_REJECTED
from finance_bot.sandbox.fake_api import FakeTelegram
from tests.e2e.conftest import PollingLog
from tests.e2e.processes import BotProcess
from tests.e2e.support import ALICE, BOB, TOKEN, running_bot, settings_for
from tests.e2e.test_delivery import (
    assert_books_hold,
    confirmations_of,
    say,
)

pytestmark = pytest.mark.postgres

WAIT = 60.0


def bot_process_for(api_base: str, database_url: str, data_dir: str) -> BotProcess:
    return BotProcess(api_base=api_base, database_url=database_url, data_dir=Path(data_dir))


@pytest.fixture
def data_dir() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="fb-tg-") as path:
        yield path


# An update the pinned aiogram cannot decode


async def test_an_undecodable_update_is_skipped_counted_and_the_others_served(
    fake: FakeTelegram, fresh_database_url: str, polling_log: PollingLog
) -> None:
    # Queued while the bot was away, so that the bad one sits inside the first batch.
    first = say(fake, ALICE, "15 кафе")
    bad = fake.push_undecodable(BOB)
    last = say(fake, BOB, "25 кафе")

    async with running_bot(settings_for(fake, fresh_database_url)) as bot:
        await fake.wait_for(
            lambda: fake.confirmed_offset > last and not fake.pending_update_ids(), timeout=WAIT
        )
        skipped = bot.app.metrics.registry.get_sample_value("finance_bot_updates_skipped_total")

    assert first < bad < last
    await assert_books_hold(fresh_database_url, [15, 25])
    assert confirmations_of(fake, ALICE, 15) == 1
    assert confirmations_of(fake, BOB, 25) == 1
    assert skipped == 1
    # Narrowed to one update at a time to find it.
    assert any(call.params.get("limit") in (1, "1") for call in fake.calls("getUpdates"))
    [record] = [r for r in polling_log.records if r.msg == "undecodable update skipped"]
    assert record.levelno == logging.ERROR
    assert record.__dict__["update_id"] == bad
    # Nothing of the update but its id: no text, no sender.
    extras = set(record.__dict__) - set(logging.makeLogRecord({}).__dict__) - {"message"}
    assert extras == {"update_id"}


async def test_the_skipped_metric_is_exported(fake: FakeTelegram, fresh_database_url: str) -> None:
    bad = fake.push_undecodable(ALICE)
    async with running_bot(settings_for(fake, fresh_database_url)) as bot:
        await fake.wait_for(lambda: fake.confirmed_offset > bad, timeout=WAIT)
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{bot.metrics_url}/metrics") as response,
        ):
            exposition = await response.text()
    assert "finance_bot_updates_skipped_total 1.0" in exposition


# A token Telegram refuses


@pytest.mark.parametrize("refusal", [(401, "token_unauthorized"), (404, "token_malformed")])
@pytest.mark.parametrize("when", ["at start", "while serving"])
async def test_a_refused_token_exits_with_its_own_code_and_one_log_line(
    fake: FakeTelegram, fresh_database_url: str, data_dir: str, refusal: tuple[int, str], when: str
) -> None:
    status, cause = refusal
    bot = bot_process_for(fake.base_url, fresh_database_url, data_dir)
    try:
        if when == "at start":
            fake.reject_token(TOKEN, status)
        bot.start()
        if when == "while serving":
            update_id = say(fake, ALICE, "15 кафе")
            await bot.wait_until(lambda: fake.confirmed_offset > update_id, timeout=WAIT)
            fake.reject_token(TOKEN, status)
            # Wakes the long poll in flight; its reply is refused, and the next poll too.
            pending = say(fake, BOB, "25 кафе")
        code = await bot.wait(timeout=WAIT)
    finally:
        bot.ensure_dead()

    assert code == EXIT_TOKEN_REJECTED == 3
    records = bot.log_records()
    problems = [r for r in records if r["level"] in ("error", "critical")]
    assert len(problems) == 1, problems
    [problem] = problems
    assert problem["kind"] == cause
    assert problem["status"] == status
    assert "TELEGRAM_BOT_TOKEN" in problem["message"]
    text = bot.log_text()
    assert "Traceback" not in text
    assert not any("stack" in r or "exception" in r for r in records)
    assert TOKEN not in text
    assert TOKEN.split(":")[1] not in text
    if when == "while serving":
        assert pending in fake.pending_update_ids()  # left for a good token to answer


# A Bot API nobody answers at


# A proxy in front of the Bot API answering with its own HTML page (a CDN's 502)


async def test_an_error_page_at_start_up_is_waited_out_and_nothing_pending_is_lost(
    fake: FakeTelegram, fresh_database_url: str
) -> None:
    lines = [(ALICE, 15), (BOB, 25)]
    update_ids = [say(fake, who, f"{units} кафе") for who, units in lines]
    fake.page_next("getMe")
    fake.page_next("setMyCommands")
    fake.page_next("deleteWebhook", 2)
    fake.page_next("getUpdates", 2, status=504)

    async with running_bot(settings_for(fake, fresh_database_url)) as bot:
        await fake.wait_for(
            lambda: fake.confirmed_offset > update_ids[-1] and not fake.pending_update_ids(),
            timeout=WAIT,
        )
        skipped = bot.app.metrics.registry.get_sample_value("finance_bot_updates_skipped_total")

    assert [call.status for call in fake.calls("deleteWebhook")] == [502, 502, 200]
    assert [call.status for call in fake.calls("getUpdates")][:2] == [504, 504]
    assert True not in fake.webhook_deletions  # pending updates were never dropped
    assert not skipped  # a page is no update: nothing is skipped for it
    await assert_books_hold(fresh_database_url, [units for _, units in lines])
    for who, units in lines:
        assert confirmations_of(fake, who, units) == 1, units


@pytest.mark.parametrize("processed", [False, True], ids=["not sent", "sent behind the page"])
async def test_a_reply_answered_by_an_error_page_is_sent_again(
    fake: FakeTelegram, fresh_database_url: str, processed: bool
) -> None:
    async with running_bot(settings_for(fake, fresh_database_url)):
        fake.page_next("sendMessage", 2, processed=processed)
        update_id = say(fake, ALICE, "15 кафе")
        await fake.wait_for(lambda: fake.confirmed_offset > update_id, timeout=WAIT)

    await assert_books_hold(fresh_database_url, [15])
    statuses = [call.status for call in fake.calls("sendMessage")]
    assert statuses.count(502) == 2
    assert statuses.count(200) >= 1
    # Behind the page Telegram may have sent it already: then it comes once more, at most
    # once per page (the replies are at least once; the entries exactly once).
    assert confirmations_of(fake, ALICE, 15) == (3 if processed else 1)


async def test_a_refusal_in_telegrams_own_words_is_not_retried(
    fake: FakeTelegram, fresh_database_url: str
) -> None:
    async with running_bot(settings_for(fake, fresh_database_url)):
        fake.fail_next("sendMessage", status=403)  # the person blocked the bot
        update_id = say(fake, ALICE, "15 кафе")
        await fake.wait_for(lambda: fake.confirmed_offset > update_id, timeout=WAIT)

    await assert_books_hold(fresh_database_url, [15])
    assert [call.status for call in fake.calls("sendMessage")].count(403) == 1


# Flood limits: 429 with retry_after


async def test_a_flood_limit_on_getupdates_is_waited_out_and_nothing_is_lost(
    fake: FakeTelegram, fresh_database_url: str
) -> None:
    update_id = say(fake, ALICE, "15 кафе")
    fake.fail_next("getUpdates", 2, retry_after=1)

    async with running_bot(settings_for(fake, fresh_database_url)):
        await fake.wait_for(lambda: fake.confirmed_offset > update_id, timeout=WAIT)

    polls = fake.calls("getUpdates")
    assert [call.status for call in polls][:3] == [429, 429, 200]
    assert all(b.at - a.at >= 1 for a, b in itertools.pairwise(polls[:3]))  # as told
    await assert_books_hold(fresh_database_url, [15])
    assert confirmations_of(fake, ALICE, 15) == 1


async def test_a_flood_limit_on_a_reply_outlasting_the_request_retries_is_waited_out(
    fake: FakeTelegram, fresh_database_url: str
) -> None:
    async with running_bot(settings_for(fake, fresh_database_url)):
        # More 429s than the session's own attempts: the update itself is handled again.
        fake.fail_next("sendMessage", 5, retry_after=1)
        update_id = say(fake, ALICE, "15 кафе")
        await fake.wait_for(lambda: fake.confirmed_offset > update_id, timeout=WAIT)

    sends = fake.calls("sendMessage")
    assert [call.status for call in sends] == [429] * 5 + [200]
    assert all(b.at - a.at >= 1 for a, b in itertools.pairwise(sends))
    await assert_books_hold(fresh_database_url, [15])
    assert confirmations_of(fake, ALICE, 15) == 1


# getUpdates repeating an update within one batch


async def test_an_update_twice_in_one_batch_is_handled_and_answered_once(
    fake: FakeTelegram, fresh_database_url: str
) -> None:
    first = say(fake, ALICE, "15 кафе")
    twice = fake.repeat_in_batch(say(fake, ALICE, "25 кафе"))
    last = say(fake, ALICE, "35 кафе")

    async with running_bot(settings_for(fake, fresh_database_url)):
        await fake.wait_for(
            lambda: fake.confirmed_offset > last and not fake.pending_update_ids(), timeout=WAIT
        )

    assert first < twice < last
    await assert_books_hold(fresh_database_url, [15, 25, 35])
    for units in (15, 25, 35):
        assert confirmations_of(fake, ALICE, units) == 1, units


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: connections are refused


async def test_an_unreachable_telegram_is_logged_with_where_and_when_it_retries(
    fresh_database_url: str, data_dir: str
) -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    bot = bot_process_for(base, fresh_database_url, data_dir)

    def retries() -> list[dict[str, object]]:
        return [
            r for r in bot.log_records() if r.get("message") == "telegram request failed; retrying"
        ]

    try:
        bot.start()
        await bot.wait_until(lambda: len(retries()) >= 3, timeout=WAIT, what="three retries")
        assert await bot.terminate(timeout=WAIT) == 0
    finally:
        bot.ensure_dead()

    for record in retries():
        assert record["base_url"] == base
        assert isinstance(record["seconds"], int | float)
        assert 0 < record["seconds"] <= 30
        assert record["method"] in ("deleteWebhook", "getUpdates")
    attempts = [record["attempt"] for record in retries()]
    assert attempts[:3] == [1, 2, 3]
    text = bot.log_text()
    assert TOKEN not in text
    assert TOKEN.split(":")[1] not in text
    assert "Traceback" not in text


def test_a_logged_url_carries_no_credentials_and_never_the_token() -> None:
    assert polling.public_url("https://user:pw@api.example:8443/tg?key=1#x", TOKEN) == (
        "https://api.example:8443/tg"
    )
    assert polling.public_url("https://api.telegram.org", TOKEN) == "https://api.telegram.org"
    assert polling.public_url(f"http://proxy/bot{TOKEN}", TOKEN) == "http://proxy/bot***"
