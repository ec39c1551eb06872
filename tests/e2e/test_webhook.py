"""Webhook mode (SPEC §15): the fake Bot API pushes each update to the real bot over HTTP.

The answer is 200 only once the update's work committed; a forged or missing secret is
refused before anything is written; a repeated update writes once and still answers 200;
the database away for a moment answers 5xx until Telegram's retry succeeds; a bot killed
mid-stream loses and doubles nothing (docs/adr/0020).
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import sys
import uuid
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from finance_bot.adapters.postgres.migrator import migrate
from finance_bot.sandbox.fake_api import FakeTelegram
from finance_bot.sandbox.people import Person
from tests.e2e.processes import BotProcess, DedicatedPostgres, eventually
from tests.e2e.support import ALICE, BOB, spending_of, transaction_count
from tests.e2e.test_delivery import (
    assert_books_hold,
    bot_texts,
    confirmations_of,
    fragment,
    say,
)
from tests.e2e.webhooks import (
    SECRET,
    free_port,
    numbered_amounts,
    post_update,
    webhook_bot,
    webhook_url,
)
from tests.support.databases import DatabaseServer

pytestmark = pytest.mark.postgres

WAIT = 60.0


async def test_lines_in_replies_out_each_entry_once_in_each_chats_order(
    fake: FakeTelegram, fresh_database_url: str, alice: Person
) -> None:
    async with webhook_bot(fake, fresh_database_url, max_connections=4) as (running, url):
        info = await running.chat.bot.get_webhook_info()
        assert info.url == url
        assert info.max_connections == 4
        assert info.allowed_updates == ["message", "edited_message", "callback_query"]

        first = await alice.say("250 кафе")
        assert first.text.startswith("#1 ")
        assert fragment(250, ALICE) in first.text

        # Both write at once: each one's lines are booked in the order they were sent.
        lines = {ALICE: [11, 12, 13, 14, 15], BOB: [21, 22, 23, 24, 25]}
        ids = [
            say(fake, who, f"{units} кафе")
            for pair in zip(lines[ALICE], lines[BOB], strict=True)
            for who, units in zip((ALICE, BOB), pair, strict=True)
        ]
        await fake.wait_for(lambda: not fake.pending_update_ids(), timeout=WAIT)
        assert fake.confirmed_offset > max(ids)

        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{running.metrics_url}/healthz") as response,
        ):
            assert response.status == 200
            assert await response.json() == {
                "status": "ok",
                "checks": {"database": True, "webhook": True},
            }

    await assert_books_hold(fresh_database_url, [250, *lines[ALICE], *lines[BOB]])
    alices = await numbered_amounts(fresh_database_url, ALICE)
    assert [units for _, units in alices] == [250, *lines[ALICE]]  # numbers rise as she wrote
    assert [units for _, units in await numbered_amounts(fresh_database_url, BOB)] == lines[BOB]
    for who in (ALICE, BOB):
        for units in lines[who]:
            assert confirmations_of(fake, who, units) == 1, units
    # Every update came by the webhook, each answered 200 the first time.
    assert fake.calls("getUpdates") == []
    assert fake.calls("deleteWebhook") == []
    assert sorted(post.update_id for post in fake.webhook.posts) == sorted([*ids, ids[0] - 1])
    assert {post.status for post in fake.webhook.posts} == {200}


@pytest.mark.parametrize(
    ("secret", "status"),
    [(None, 401), ("", 403), ("wrong-secret", 403), (SECRET + "x", 403), (SECRET[:-1], 403)],
)
async def test_a_forged_or_missing_secret_is_refused_and_nothing_is_written(
    fake: FakeTelegram, fresh_database_url: str, secret: str | None, status: int
) -> None:
    async with webhook_bot(fake, fresh_database_url) as (_, url):
        fake.webhook.delete()  # the test is Telegram now, and a forger
        update = fake.update_json(fake.send_text(ALICE, "250 кафе", first_name="Алиса"))
        answer, _ = await post_update(url, update, secret=secret)
        assert answer == status

        # The same update with the secret is served: the refusal was the secret's alone. Its
        # reply is in the answer (ADR-0026), where only Telegram would make the call.
        served, body = await post_update(url, update)
        assert served == 200
        assert json.loads(body)["method"] == "sendMessage"

    assert await transaction_count(fresh_database_url) == 1
    assert fake.calls("sendMessage") == []


async def test_a_replayed_update_writes_once_and_still_answers_200(
    fake: FakeTelegram, fresh_database_url: str, alice: Person
) -> None:
    async with webhook_bot(fake, fresh_database_url) as (_, url):
        update_id = say(fake, ALICE, "250 кафе")
        await alice.processed(update_id, timeout=WAIT)
        [first] = fake.messages_to(ALICE)

        # As Telegram's retry after a lost answer: the same update_id posted again. Each
        # answer carries the reply (ADR-0026), as the first time.
        update = fake.update_json(update_id)
        results = [await post_update(url, update)]
        results += await asyncio.gather(*(post_update(url, update) for _ in range(3)))
        assert [status for status, _ in results] == [200, 200, 200, 200]
        assert {json.loads(body)["text"] for _, body in results} == {first["text"]}
        # And the fake's own redelivery of it, through the webhook.
        fake.redeliver(update_id)
        await fake.wait_for(lambda: len(fake.messages_to(ALICE)) == 2, timeout=WAIT)

        second = await alice.say("100 такси")
        assert second.text.startswith("#2 ")

    texts = bot_texts(fake, ALICE)
    assert texts[:2] == [first["text"]] * 2  # the replay answers as the first time
    assert await transaction_count(fresh_database_url) == 2
    assert await spending_of(fresh_database_url, "cafe") == 25_000


async def test_database_away_answers_5xx_until_a_retry_succeeds_and_books_once(
    fake: FakeTelegram, dedicated_postgres: DedicatedPostgres, alice: Person
) -> None:
    server = DatabaseServer(dedicated_postgres.url)
    name = f"finance_bot_webhook_{uuid.uuid4().hex[:8]}"
    await server.create_database(name)
    database_url = server.url_for(name)
    connection = await asyncpg.connect(database_url)
    try:
        await migrate(connection)
    finally:
        await connection.close()

    async with webhook_bot(fake, database_url) as (running, url):
        assert (await alice.say("10 кафе")).text.startswith("#1 ")
        await dedicated_postgres.stop("immediate")
        try:
            update_id = say(fake, ALICE, "250 кафе")
            await eventually(
                lambda: failed_posts(fake, update_id) >= 3,
                timeout=WAIT,
                what="Telegram retrying while the database is down",
            )
            # The 503's body is no Bot API call (ADR-0026): the retry will answer.
            by_hand = await post_update(url, fake.update_json(update_id))
            assert by_hand == (503, "try again")
            assert len(fake.messages_to(ALICE)) == 1  # no reply for what is not booked
            assert update_id in fake.pending_update_ids()
        finally:
            await dedicated_postgres.start()
        await alice.processed(update_id, timeout=WAIT)
        assert not running.task.done()

    statuses = [p.status for p in fake.webhook.posts if p.update_id == update_id]
    assert statuses[-1] == 200
    assert all(status is not None and status >= 500 for status in statuses[:-1]), statuses
    # A 503 carries no call; the 200 carries the reply (ADR-0026).
    answers = [p.answer for p in fake.webhook.posts if p.update_id == update_id]
    assert answers == [None] * (len(answers) - 1) + ["sendMessage"]
    assert confirmations_of(fake, ALICE, 250) == 1
    assert all(text.startswith("#") for text in bot_texts(fake, ALICE))
    await assert_books_hold(database_url, [10, 250])


def failed_posts(fake: FakeTelegram, update_id: int) -> int:
    return sum(1 for p in fake.webhook.posts if p.update_id == update_id and p.status != 200)


async def finance_bot(process: BotProcess, *arguments: str) -> str:
    """`finance-bot ARGUMENTS` with the bot's own environment; its output. Not blocking:
    the fake Telegram it talks to runs on this loop."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "finance_bot",
        *arguments,
        env=process.env,
        cwd=process.data_dir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(child.communicate(), timeout=WAIT)
    assert child.returncode == 0, output.decode()
    return output.decode()


async def test_a_bot_killed_mid_stream_books_every_line_exactly_once(
    fake: FakeTelegram, fresh_database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    process = BotProcess(
        api_base=fake.base_url,
        database_url=fresh_database_url,
        data_dir=tmp_path / "bot",
        extra_env={"BOT_MODE": "webhook", "WEBHOOK_PORT": str(port), "WEBHOOK_SECRET": SECRET},
    )
    try:
        await run_the_stream(fake, process, port, fresh_database_url)
    finally:
        process.ensure_dead()


def started(process: BotProcess) -> int:
    # The log's text, not its records: a process killed mid-line leaves a line cut short.
    return process.log_text().count('"bot started"')


async def run_the_stream(
    fake: FakeTelegram, process: BotProcess, port: int, database_url: str
) -> None:
    rng = random.Random(20_261_202)
    amounts = list(range(1, 61))
    rng.shuffle(amounts)
    senders = [rng.choice((ALICE, BOB)) for _ in amounts]
    (process.data_dir).mkdir(parents=True, exist_ok=True)
    await finance_bot(process, "set-webhook", webhook_url(port), "--max-connections", "4")
    process.start()

    async def stream() -> list[int]:
        ids = []
        for units, who in zip(amounts, senders, strict=True):
            ids.append(say(fake, who, f"{units} кафе"))
            await asyncio.sleep(rng.uniform(0.0, 0.05))
        return ids

    streaming = asyncio.create_task(stream())
    try:
        for threshold in (8, 25, 45):
            await process.wait_until(
                lambda n=threshold: len(fake.calls("sendMessage")) >= n,  # type: ignore[misc]
                timeout=WAIT,
                what=f"{threshold} replies",
            )
            await asyncio.sleep(rng.uniform(0.0, 0.1))
            assert await process.kill() == -signal.SIGKILL
            starts_before = started(process)
            process.start()  # meanwhile the fake keeps retrying against a closed port
        update_ids = await asyncio.wait_for(streaming, timeout=WAIT)
        await process.wait_until(
            lambda: not fake.pending_update_ids(), timeout=WAIT, what="every update delivered"
        )
        # Every update may have been answered before the last start (a start may even be
        # killed before it is done): the last one must be done before the bot is asked to
        # stop, or the SIGTERM comes before the bot handles it and ends the process as the
        # signal's default does.
        await process.wait_until(
            lambda: started(process) > starts_before, timeout=WAIT, what="the last start done"
        )
    finally:
        streaming.cancel()
    assert await process.terminate(timeout=WAIT) == 0

    await assert_books_hold(database_url, amounts)
    for units, who in zip(amounts, senders, strict=True):
        assert confirmations_of(fake, who, units) >= 1, units  # a kill may repeat a reply
    assert all(text.startswith("#") for text in bot_texts(fake, ALICE) + bot_texts(fake, BOB))
    for who in (ALICE, BOB):
        mine = [units for units, sender in zip(amounts, senders, strict=True) if sender == who]
        assert [units for _, units in await numbered_amounts(database_url, who)] == mine
    assert {post.update_id for post in fake.webhook.posts} == set(update_ids)
    assert None in {post.status for post in fake.webhook.posts}  # refused while it was down
    assert fake.calls("getUpdates") == []
    assert fake.calls("deleteWebhook") == []
    assert SECRET not in process.log_text()
    assert process.log_records()

    # Back to polling: the operator deletes the webhook, the bot polls again.
    await finance_bot(process, "delete-webhook")
    process.env["BOT_MODE"] = "polling"
    process.start()
    last = say(fake, ALICE, "999 кафе")
    await process.wait_until(lambda: fake.confirmed_offset > last, timeout=WAIT)
    assert await process.terminate(timeout=WAIT) == 0
    assert fake.calls("getUpdates")
    assert confirmations_of(fake, ALICE, 999) == 1
    assert await transaction_count(database_url) == len(amounts) + 1


async def test_stopping_finishes_the_update_in_hand_and_answers_it(
    fake: FakeTelegram, fresh_database_url: str
) -> None:
    async with webhook_bot(fake, fresh_database_url) as (running, _):
        assert (await Person(fake, ALICE, "Алиса").say("10 кафе")).text.startswith("#1 ")
        # The ledger held: the next line's entry waits for it, its update in hand.
        holder = await asyncpg.connect(fresh_database_url)
        try:
            async with holder.transaction():
                await holder.execute("LOCK TABLE transactions IN SHARE MODE")
                update_id = say(fake, ALICE, "250 кафе")
                await eventually(lambda: lock_waits(holder), timeout=WAIT, what="the entry waiting")
                running.chat.source.stop()  # what SIGTERM does
                await asyncio.sleep(0.2)
                assert not running.task.done()
        finally:
            await holder.close()
        await asyncio.wait_for(running.task, timeout=WAIT)

    [post] = [p for p in fake.webhook.posts if p.update_id == update_id]
    assert (post.status, post.answer) == (200, "sendMessage")  # its reply in the answer
    assert confirmations_of(fake, ALICE, 250) == 1
    assert update_id not in fake.pending_update_ids()
    assert await transaction_count(fresh_database_url) == 2


async def lock_waits(connection: asyncpg.Connection) -> bool:
    waiting = await connection.fetchval(
        "SELECT count(*) FROM pg_locks WHERE NOT granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    return bool(waiting)


async def test_a_reply_answered_by_a_proxys_error_page_is_sent_again(
    fake: FakeTelegram, fresh_database_url: str
) -> None:
    # Replies as calls of their own, not in the webhook's answer: each meets the proxy.
    async with webhook_bot(fake, fresh_database_url, webhook_inline_replies=False):
        fake.page_next("sendMessage", 2)
        update_id = say(fake, ALICE, "15 кафе")
        await fake.wait_for(lambda: update_id not in fake.pending_update_ids(), timeout=WAIT)
        await fake.wait_for(lambda: confirmations_of(fake, ALICE, 15) == 1, timeout=WAIT)

    assert [call.status for call in fake.calls("sendMessage")] == [502, 502, 200]
    assert await transaction_count(fresh_database_url) == 1
    assert confirmations_of(fake, ALICE, 15) == 1
