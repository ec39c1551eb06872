"""The running bot's /metrics and /healthz, scraped over HTTP while messages flow."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import aiohttp
import asyncpg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from finance_bot.adapters.postgres.backup_log import record_backup_run
from finance_bot.sandbox.fake_api import FakeTelegram
from finance_bot.sandbox.people import Person
from tests.e2e.support import STRANGER, RunningBot, running_bot, settings_for

pytestmark = pytest.mark.postgres


async def scrape(bot: RunningBot) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{bot.metrics_url}/metrics") as response,
    ):
        assert response.status == 200
        text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_series_move_as_messages_flow(
    bot: RunningBot, fake: FakeTelegram, alice: Person
) -> None:
    before = await scrape(bot)
    await alice.say("250 кафе")
    await alice.say("кафе")  # no amount: a parse error
    await alice.say("/undo")
    await Person(fake, STRANGER, "Eve").say("1 кафе")
    redelivered = fake.send_text(alice.telegram_id, "99 такси", first_name="Алиса")
    await alice.processed(redelivered)
    replies = len(fake.messages_to(alice.telegram_id))
    fake.redeliver(redelivered)  # the replay answers again, so wait for that answer
    await fake.wait_for(lambda: len(fake.messages_to(alice.telegram_id)) > replies)
    await fake.wait_for(lambda: not fake.pending_update_ids())
    after = await scrape(bot)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    updates = "finance_bot_updates_total"
    assert moved(updates, type="message", outcome="handled") == 3
    assert moved(updates, type="message", outcome="parse_error") == 1
    assert moved(updates, type="message", outcome="denied") == 1
    assert moved(updates, type="message", outcome="duplicate") == 1
    assert moved("finance_bot_ledger_writes_total", kind="expense") == 2
    assert moved("finance_bot_ledger_writes_total", kind="reversal") == 1
    assert moved("finance_bot_ledger_voids_total") == 1
    assert moved("finance_bot_handler_latency_seconds_count", type="message") == 6
    assert value(after, "finance_bot_invariant_check_ok") == 1
    assert value(after, "finance_bot_invariant_check_last_run_timestamp_seconds") > 0
    assert value(after, "finance_bot_polling_lag_seconds") >= 0
    assert any(name == "finance_bot_build_info" for name, _ in after)
    for _name, labels in after:  # no personal data in any label
        for _, label_value in labels:
            assert "кафе" not in label_value
            assert str(alice.telegram_id) not in label_value


async def test_telegram_errors_are_counted(
    bot: RunningBot, fake: FakeTelegram, alice: Person
) -> None:
    fake.fail_next("sendMessage", status=500)
    await alice.say("5 кафе")
    samples = await scrape(bot)
    assert (
        value(samples, "finance_bot_telegram_api_errors_total", method="sendMessage", kind="server")
        == 1
    )


async def test_health_reports_database_and_polling(bot: RunningBot, alice: Person) -> None:
    await alice.say("/start")  # polling has answered at least once
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{bot.metrics_url}/healthz") as response,
    ):
        body = await response.json()
        assert response.status == 200
    assert body == {"status": "ok", "checks": {"database": True, "polling": True}}


async def test_last_good_backup_time_is_published(
    fake: FakeTelegram, fresh_database_url: str
) -> None:
    finished_at = datetime(2026, 11, 29, 3, 15, tzinfo=UTC)
    connection = await asyncpg.connect(fresh_database_url)
    try:
        await record_backup_run(connection, finished_at, "finance-bot-x.dump", 1234, False)
    finally:
        await connection.close()
    async with running_bot(settings_for(fake, fresh_database_url)) as bot:
        for _ in range(100):  # the watcher reads the log once at start
            samples = await scrape(bot)
            if value(samples, "finance_bot_last_backup_timestamp_seconds"):
                break
            await asyncio.sleep(0.05)
    assert value(samples, "finance_bot_last_backup_timestamp_seconds") == finished_at.timestamp()
