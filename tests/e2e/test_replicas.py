"""Three replicas behind a real load balancer (SPEC §15, docs/adr/0023).

Three `finance-bot run` processes in webhook mode share one PostgreSQL; HAProxy (the
distribution's package) is in front of them, and the fake Bot API delivers every update to
HAProxy's URL as Telegram does: a POST per update, at most max_connections at once, each
chat's next update after the previous one's 2xx, retried with backoff until a 2xx.
1 000 lines from 50 households arrive at a steady pace; one replica is SIGKILLed mid-stream
and started again. Every entry is in the ledger exactly once, in its own household, every
line is confirmed, the ledger check holds and the webhook queue is empty.

A line is confirmed exactly once, even when a delivery of it failed: its reply travels in
the webhook's answer (docs/adr/0026), so a replica killed before answering has sent no
reply, and the retry's replay sends it once (and never books the entry again).
"""

from __future__ import annotations

import asyncio
import collections
import os
import re
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from finance_bot.adapters.telegram.formatting import format_money
from finance_bot.bootstrap import set_webhook
from finance_bot.domain.money import Money
from finance_bot.sandbox.balancer import Balancer, Replica, free_port
from finance_bot.sandbox.fake_api import FakeTelegram
from tests.e2e.processes import BotProcess, eventually
from tests.e2e.webhooks import SECRET, webhook_settings
from tests.support.haproxy import haproxy
from tests.support.household import ledger_world

pytestmark = pytest.mark.postgres

HOUSEHOLDS = 50
LINES = 1000
RATE = 100.0  # lines per second: ten seconds of steady traffic
KILLED_AT = 350  # replies seen when the second replica is killed
FROZEN = 0.25  # seconds the victim is stopped (SIGSTOP) before it is killed
RESTARTED_AFTER = 1.0  # seconds it stays dead, the stream going on
WAIT = 60.0
UPDATES_SERVED = re.compile(r"^finance_bot_updates_total\{[^}]*\} (\S+)$", re.MULTILINE)


@dataclass(frozen=True)
class Line:
    author: int
    units: int  # unique over the run: the line's marker in the ledger and in the reply
    update_id: int


def fragment(units: int) -> str:
    return " −" + format_money(Money(units * 100, "UAH"), "ru")


async def healthy(session: aiohttp.ClientSession, port: int) -> bool:
    try:
        async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
            return response.status == 200
    except aiohttp.ClientError:
        return False


async def updates_served(session: aiohttp.ClientSession, port: int) -> float:
    async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
        text = await response.text()
    return sum(float(value) for value in UPDATES_SERVED.findall(text))


async def finance_bot_check(process: BotProcess) -> str:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "finance_bot",
        "check",
        env=process.env,
        cwd=process.data_dir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(child.communicate(), timeout=WAIT)
    assert child.returncode == 0, output.decode()
    return output.decode()


async def test_three_replicas_behind_haproxy_one_killed_every_entry_once(
    fake: FakeTelegram, fresh_database_url: str, tmp_path: Path
) -> None:
    executable = haproxy()
    async with ledger_world(fresh_database_url) as world:
        households = [await world.new_household(2) for _ in range(HOUSEHOLDS)]
    people = [person for members in households for person in members]
    replicas = [Replica(free_port(), free_port()) for _ in range(3)]
    processes = [
        BotProcess(
            api_base=fake.base_url,
            database_url=fresh_database_url,
            data_dir=tmp_path / f"replica{number}",
            whitelist=people,
            extra_env={
                "BOT_MODE": "webhook",
                "WEBHOOK_PORT": str(replica.webhook_port),
                "WEBHOOK_SECRET": SECRET,
                "METRICS_PORT": str(replica.health_port),
            },
        )
        for number, replica in enumerate(replicas, 1)
    ]
    balancer = Balancer(replicas, tmp_path / "haproxy", executable=executable)
    try:
        async with aiohttp.ClientSession() as session:
            await run_the_stream(
                fake,
                database_url=fresh_database_url,
                households=households,
                processes=processes,
                balancer=balancer,
                session=session,
            )
    finally:
        balancer.stop()
        for process in processes:
            process.ensure_dead()


async def run_the_stream(
    fake: FakeTelegram,
    *,
    database_url: str,
    households: list[list[int]],
    processes: list[BotProcess],
    balancer: Balancer,
    session: aiohttp.ClientSession,
) -> None:
    for process in processes:
        process.start()
    for process, replica in zip(processes, balancer.replicas, strict=True):
        await process.wait_until(
            lambda port=replica.health_port: healthy(session, port),  # type: ignore[misc]
            timeout=WAIT,
            what="replica healthy",
        )
    await asyncio.to_thread(balancer.start)
    # As the operator does it (`finance-bot set-webhook`): the balancer's URL, not a replica's.
    settings = webhook_settings(fake, database_url)
    await set_webhook(settings, f"{balancer.base_url}/telegram/webhook", max_connections=40)

    lines: list[Line] = []

    def say() -> None:
        """The next line: households in turn, each one's members in turn."""
        index = len(lines)
        members = households[index % HOUSEHOLDS]
        author = members[(index // HOUSEHOLDS) % len(members)]
        units = 1000 + index
        update_id = fake.send_text(author, f"{units} кафе", language_code="ru")
        lines.append(Line(author, units, update_id))

    async def stream() -> None:
        start = asyncio.get_running_loop().time()
        for index in range(LINES):
            delay = start + index / RATE - asyncio.get_running_loop().time()
            if delay > 0:
                await asyncio.sleep(delay)
            say()

    streaming = asyncio.create_task(stream())
    victim = processes[1]
    try:
        await victim.wait_until(
            lambda: len(fake.calls("sendMessage")) >= KILLED_AT, timeout=WAIT, what="replies"
        )
        # The victim frozen for a moment, then killed: it dies with updates in hand — the
        # ones it was working on, before or after their COMMIT, and those the balancer
        # passed it meanwhile — none of them answered, so none of their replies sent.
        os.kill(victim.pid, signal.SIGSTOP)
        await asyncio.sleep(FROZEN)
        assert await victim.kill() == -signal.SIGKILL
        await asyncio.sleep(RESTARTED_AFTER)
        victim.start()
        await asyncio.wait_for(streaming, timeout=WAIT)
        # The balancer puts the restarted replica back: it serves updates again (a line
        # more now and then, should it have come up after the stream on a slow machine).
        port = balancer.replicas[1].health_port
        await victim.wait_until(lambda: healthy(session, port), timeout=WAIT, what="restarted")
        async with asyncio.timeout(WAIT):
            while await updates_served(session, port) == 0:
                say()
                await asyncio.sleep(0.05)
        await eventually(
            lambda: not fake.pending_update_ids() and not fake.webhook.in_flight(),
            timeout=WAIT,
            what="the webhook queue drained",
        )
    finally:
        streaming.cancel()
    for process in processes:
        process.check_alive()
    for replica in balancer.replicas:
        assert await updates_served(session, replica.health_port) > 0

    await assert_every_entry_once(database_url, households, lines)
    assert_every_line_confirmed(fake, lines)
    assert "ledger ok" in await finance_bot_check(processes[0])
    assert fake.calls("getUpdates") == []
    assert fake.calls("deleteWebhook") == []
    for process in processes:
        assert await process.terminate(timeout=WAIT) == 0
        assert SECRET not in process.log_text()


async def assert_every_entry_once(
    database_url: str, households: list[list[int]], lines: list[Line]
) -> None:
    """Each household holds its own lines' amounts, once each, numbered 1..n."""
    expected: dict[int, list[int]] = collections.defaultdict(list)
    household_of = {
        person: number for number, members in enumerate(households) for person in members
    }
    for line in lines:
        expected[household_of[line.author]].append(line.units * 100)
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT t.household_id, t.number, t.author_telegram_id, p.amount_minor"
            " FROM transactions t JOIN postings p ON p.transaction_id = t.id"
            " JOIN accounts a ON a.id = p.account_id"
            " WHERE a.code = 'cafe' AND p.direction = 'debit'"
        )
        total = await connection.fetchval("SELECT count(*) FROM transactions")
    finally:
        await connection.close()
    assert total == len(lines)
    found: dict[int, list[int]] = collections.defaultdict(list)
    numbers: dict[int, list[int]] = collections.defaultdict(list)
    ids: dict[int, int] = {}
    for row in rows:
        household = household_of[row["author_telegram_id"]]
        assert ids.setdefault(household, row["household_id"]) == row["household_id"]
        found[household].append(row["amount_minor"])
        numbers[household].append(row["number"])
    assert len(set(ids.values())) == len(households)  # fifty households, none shared
    for household, amounts in expected.items():
        assert sorted(found[household]) == sorted(amounts), household
        assert sorted(numbers[household]) == list(range(1, len(amounts) + 1)), household


def assert_every_line_confirmed(fake: FakeTelegram, lines: list[Line]) -> None:
    """One confirmation per line, in the answer to its update, however often it was
    delivered."""
    replies: collections.Counter[tuple[int, str]] = collections.Counter()
    for call in fake.calls("sendMessage"):
        text = str(call.params.get("text", ""))
        assert text.startswith("#"), text  # nothing but confirmations: no error, no refusal
        assert call.inline, text  # in the answer, not by a request of the bot's
        assert call.status == 200, text
        replies[(int(call.params["chat_id"]), text)] += 1
    attempts: collections.Counter[int] = collections.Counter()
    failed: set[int] = set()
    for post in fake.webhook.posts:
        attempts[post.update_id] += 1
        if post.status != 200:
            failed.add(post.update_id)
    to_chat: dict[int, list[tuple[str, int]]] = collections.defaultdict(list)
    for (chat, text), count in replies.items():
        to_chat[chat].append((text, count))
    by_line: dict[int, int] = {}
    for line in lines:
        mark = fragment(line.units)
        by_line[line.update_id] = sum(c for text, c in to_chat[line.author] if mark in text)
    assert failed  # the kill cut updates in hand: Telegram's retries brought them through
    for line in lines:
        assert by_line[line.update_id] == 1, (line, attempts[line.update_id])
    assert sum(replies.values()) == sum(by_line.values())  # no reply that is no line's
