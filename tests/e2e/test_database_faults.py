"""The database drops connections and cancels statements while both members write.

The real bot process, long-polling the fake Telegram over HTTP, gets hundreds of lines and
some Undo presses while a superuser connection terminates (or cancels) the bot's backends at
random moments — before, inside and after its COMMITs. Then both sides are checked: every
line is booked exactly once and confirmed once, nobody is told "not recorded", the ledger
check is green (docs/adr/0008).

The bot's backends are found by database name, not by role: whichever role the bot connects
as, it is the only other client of its test database.
"""

from __future__ import annotations

import asyncio
import collections
import random
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import asyncpg
import pytest

from finance_bot.adapters.telegram.i18n import Catalog
from finance_bot.sandbox.fake_api import FakeTelegram
from tests.e2e.processes import BotProcess
from tests.e2e.support import ALICE, BOB, ledger_rows, spending_of
from tests.e2e.test_delivery import (
    bot_texts,
    cafe_amounts,
    confirmations_of,
    fragment,
    ledger_violations,
    say,
    transaction_numbers,
)
from tests.support.databases import DatabaseServer

pytestmark = pytest.mark.postgres

WAIT = 60.0
_CATALOG = Catalog.load()
NOT_RECORDED = tuple(_CATALOG.raw(lang, "something_went_wrong") for lang in ("ru", "en"))
UNCONFIRMED = tuple(
    str(_CATALOG.raw(lang, "recorded_unconfirmed")).split("#")[0] for lang in ("ru", "en")
)

_BOT_BACKENDS = """
    SELECT pid FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid()
       AND backend_type = 'client backend' {extra}
"""


@pytest.fixture
def admin_url(database_server: DatabaseServer, fresh_database_url: str) -> str:
    """The server's administrator on the bot's database, whichever role the bot uses."""
    return database_server.url_for(urlsplit(fresh_database_url).path.lstrip("/"))


@dataclass
class Saboteur:
    """Terminates or cancels the bot's backends at random intervals, a bounded number of
    times, until told to stop."""

    database_url: str
    rng: random.Random
    action: str  # "pg_terminate_backend" or "pg_cancel_backend"
    only_active: bool = False  # cancel only what is running: a cancel of an idle one is void
    interval_seconds: tuple[float, float] = (0.02, 0.2)
    max_hits: int = 150
    max_seconds: float = 30.0
    hits: int = 0
    stopped: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        connection = await asyncpg.connect(self.database_url)
        extra = "AND state = 'active'" if self.only_active else ""
        query = (
            f"SELECT count(*) FILTER (WHERE {self.action}(pid)) AS hits"
            f" FROM ({_BOT_BACKENDS.format(extra=extra)}) AS bot"
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_seconds
        try:
            while self.hits < self.max_hits and loop.time() < deadline:
                try:
                    async with asyncio.timeout(self.rng.uniform(*self.interval_seconds)):
                        await self.stopped.wait()
                    return
                except TimeoutError:
                    pass
                self.hits += int(await connection.fetchval(query))
        finally:
            await connection.close()


@dataclass(frozen=True)
class Line:
    who: int
    units: int  # unique across the test: a line is found in the books by its amount


def plan_lines(rng: random.Random, per_member: int) -> list[Line]:
    amounts = list(range(1, 2 * per_member + 1))
    rng.shuffle(amounts)
    lines = [Line(ALICE, units) for units in amounts[:per_member]]
    lines += [Line(BOB, units) for units in amounts[per_member:]]
    rng.shuffle(lines)
    return lines


async def stream(fake: FakeTelegram, lines: list[Line], rng: random.Random) -> list[int]:
    """Bursts of lines from both members, never far ahead of what the bot acknowledged."""
    ids: list[int] = []
    position = 0
    while position < len(lines):
        ahead = rng.randint(2, 10)
        await fake.wait_for(
            lambda ahead=ahead: not ids or ids[-1] - fake.confirmed_offset < ahead,  # type: ignore[misc]
            timeout=WAIT,
        )
        burst = lines[position : position + rng.randint(1, 5)]
        ids.extend(say(fake, line.who, f"{line.units} кафе") for line in burst)
        position += len(burst)
        await asyncio.sleep(rng.uniform(0.0, 0.02))
    return ids


def confirmation_message(fake: FakeTelegram, line: Line) -> dict[str, object] | None:
    for message in fake.messages_to(line.who):
        text = str(message.get("text", ""))
        if text.startswith("#") and fragment(line.units, line.who) in text:
            return message
    return None


async def press_undo(fake: FakeTelegram, lines: list[Line]) -> list[int]:
    """Each member presses Undo under some of their confirmations, as they arrive."""
    ids = []
    for line in lines:
        await fake.wait_for(lambda line=line: confirmation_message(fake, line), timeout=WAIT)  # type: ignore[misc]
        message = confirmation_message(fake, line)
        assert message is not None
        buttons = [
            button["callback_data"]
            for row in message["reply_markup"]["inline_keyboard"]  # type: ignore[index]
            for button in row
        ]
        [undo] = [data for data in buttons if data.startswith("u:")]
        ids.append(fake.press_button(line.who, int(message["message_id"]), undo))  # type: ignore[call-overload]
    return ids


async def run_traffic(
    fake: FakeTelegram,
    bot_process: BotProcess,
    saboteur: Saboteur,
    *,
    lines: list[Line],
    undone: list[Line],
    rng: random.Random,
) -> float:
    """Start the bot, write everything under sabotage, wait until all is acknowledged."""
    bot_process.start()
    # Sabotage starts once the bot is up: a start-up migration killed is another test.
    warm_up = say(fake, ALICE, "/help")
    await bot_process.wait_until(lambda: fake.confirmed_offset > warm_up, timeout=WAIT)
    loop = asyncio.get_running_loop()
    started = loop.time()
    sabotage = asyncio.create_task(saboteur.run())
    sending = asyncio.create_task(stream(fake, lines, rng))
    pressing = asyncio.create_task(press_undo(fake, undone))
    try:
        await bot_process.wait_until(
            lambda: sending.done() and pressing.done(), timeout=WAIT, what="all lines sent"
        )
        last = max([*sending.result(), *pressing.result()])
        await bot_process.wait_until(
            lambda: fake.confirmed_offset > last and not fake.pending_update_ids(),
            timeout=WAIT,
            what="every update acknowledged",
        )
    finally:
        saboteur.stopped.set()
        for task in (sending, pressing):
            task.cancel()
        await sabotage
    elapsed = loop.time() - started
    assert await bot_process.terminate(timeout=WAIT) == 0
    return elapsed


async def assert_every_line_booked_once_and_confirmed(
    fake: FakeTelegram, database_url: str, lines: list[Line], undone: list[Line]
) -> None:
    everyone = sorted(line.units * 100 for line in lines)
    assert await cafe_amounts(database_url) == everyone  # once each, none lost or doubled
    reversals = await ledger_rows(
        database_url,
        "SELECT p.amount_minor FROM transactions t JOIN postings p ON p.transaction_id ="
        " t.voids_transaction_id JOIN accounts a ON a.id = p.account_id"
        " WHERE t.kind = 'reversal' AND a.code = 'cafe' ORDER BY 1",
    )
    assert [row["amount_minor"] for row in reversals] == sorted(line.units * 100 for line in undone)
    voided = await ledger_rows(
        database_url,
        "SELECT count(*) AS n FROM transactions WHERE voided_by_transaction_id IS NOT NULL",
    )
    assert voided[0]["n"] == len(undone)
    live = sum(line.units for line in lines) - sum(line.units for line in undone)
    assert await spending_of(database_url, "cafe") == live * 100
    # Every number taken was kept: a write cut short took none.
    assert await transaction_numbers(database_url) == list(range(1, len(lines) + len(undone) + 1))
    assert await ledger_violations(database_url) == []

    for line in lines:
        assert confirmations_of(fake, line.who, line.units) == 1, line
    for line in undone:
        message = confirmation_message(fake, line)
        assert message is not None
        assert "\n\n" in str(message["text"]), f"Undo of {line} not shown"
    said = bot_texts(fake, ALICE) + bot_texts(fake, BOB)
    said += [str(call.params.get("text", "")) for call in fake.calls("answerCallbackQuery")]
    for text in said:
        assert not any(apology in text for apology in NOT_RECORDED), text
        assert not any(text.startswith(unconfirmed) for unconfirmed in UNCONFIRMED), text


def retries_by_error(bot_process: BotProcess) -> collections.Counter[str]:
    records = bot_process.log_records()
    failed = [r for r in records if r.get("message") == "update failed"]
    assert failed == [], failed  # nothing was given up on
    return collections.Counter(
        str(r.get("error")) for r in records if r.get("message") == "update will be retried"
    )


async def test_backends_killed_during_traffic_lose_and_double_nothing(
    fake: FakeTelegram, bot_process: BotProcess, fresh_database_url: str, admin_url: str
) -> None:
    rng = random.Random(20_261_202)
    lines = plan_lines(rng, per_member=150)
    undone = [line for line in lines if line.who == ALICE][10:60:10]
    undone += [line for line in lines if line.who == BOB][15:75:12]
    saboteur = Saboteur(admin_url, random.Random(7), "pg_terminate_backend")

    elapsed = await run_traffic(fake, bot_process, saboteur, lines=lines, undone=undone, rng=rng)

    await assert_every_line_booked_once_and_confirmed(fake, fresh_database_url, lines, undone)
    retries = retries_by_error(bot_process)
    print(
        f"\n{len(lines)} lines + {len(undone)} undos in {elapsed:.1f}s,"
        f" {saboteur.hits} backends terminated, retries: {dict(retries)}"
    )
    assert saboteur.hits >= 20  # the sabotage did happen, during the traffic
    assert sum(retries.values()) >= 1


async def test_statements_cancelled_during_traffic_lose_and_double_nothing(
    fake: FakeTelegram, bot_process: BotProcess, fresh_database_url: str, admin_url: str
) -> None:
    rng = random.Random(20_261_203)
    lines = plan_lines(rng, per_member=50)
    undone = [line for line in lines if line.who == BOB][5:25:5]
    saboteur = Saboteur(
        admin_url,
        random.Random(11),
        "pg_cancel_backend",
        only_active=True,
        interval_seconds=(0.002, 0.02),
        max_hits=60,
    )

    elapsed = await run_traffic(fake, bot_process, saboteur, lines=lines, undone=undone, rng=rng)

    await assert_every_line_booked_once_and_confirmed(fake, fresh_database_url, lines, undone)
    retries = retries_by_error(bot_process)
    print(
        f"\n{len(lines)} lines + {len(undone)} undos in {elapsed:.1f}s,"
        f" {saboteur.hits} running statements cancelled, retries: {dict(retries)}"
    )
    assert retries["QueryCanceledError"] >= 1  # some cancel did land inside a statement
