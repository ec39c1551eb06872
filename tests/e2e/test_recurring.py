"""Bills that repeat, end to end (docs/product.md §9): the real bot and its scheduler
against the fake Bot API and real PostgreSQL."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from finance_bot.bootstrap import scheduled_work
from finance_bot.sandbox.fake_api import FakeTelegram
from finance_bot.sandbox.people import Person
from tests.e2e.processes import BotProcess
from tests.e2e.support import ALICE, RunningBot, ledger_rows, running_bot, settings_for

pytestmark = pytest.mark.postgres
KYIV = ZoneInfo("Europe/Kyiv")
WAIT = 60.0


def today() -> date:
    return datetime.now(UTC).astimezone(KYIV).date()


@contextlib.asynccontextmanager
async def bot_with_scheduler(fake: FakeTelegram, url: str) -> AsyncIterator[RunningBot]:
    settings = settings_for(fake, url, scheduler_interval_seconds=0.2)
    async with running_bot(settings) as running, scheduled_work(running.app, running.chat):
        yield running


async def occurrences(url: str) -> list[tuple[int, date, date | None, int]]:
    """(rule, due date, booked on, entries for that rule and date) per occurrence row."""
    rows = await ledger_rows(
        url,
        """
        SELECT o.rule_id, o.due_on, t.booked_on,
               (SELECT count(*) FROM recurring_occurrences x
                 WHERE x.rule_id = o.rule_id AND x.due_on = o.due_on) AS n
          FROM recurring_occurrences o LEFT JOIN transactions t ON t.id = o.transaction_id
         ORDER BY o.rule_id, o.due_on
        """,
    )
    return [(r["rule_id"], r["due_on"], r["booked_on"], r["n"]) for r in rows]


async def counts(url: str) -> tuple[int, int]:
    """(rules, transactions)."""
    [row] = await ledger_rows(
        url,
        "SELECT (SELECT count(*) FROM recurring_rules) AS rules,"
        " (SELECT count(*) FROM transactions) AS entries",
    )
    return int(row["rules"]), int(row["entries"])


async def test_rules_are_made_listed_recorded_confirmed_and_stopped(
    fake: FakeTelegram, fresh_database_url: str
) -> None:
    alice = Person(fake, ALICE, "Алиса")
    url = fresh_database_url
    async with bot_with_scheduler(fake, url):
        reply = await alice.say("/every month 1 12000 аренда")
        assert "Правило #1" in reply.text
        assert "каждый месяц 1-го" in reply.text
        since = today() - timedelta(days=2)
        before = len(fake.messages_to(ALICE))
        reply = await alice.say(f"/every day 40 кофе from {since:%d.%m.%Y}")
        assert "Правило #2" in reply.text
        assert "Все даты с" in reply.text
        # Three dates, three confirmations, each with Undo, each booked on its date.
        await fake.wait_for(lambda: len(fake.messages_to(ALICE)) >= before + 4, timeout=WAIT)
        confirmations = fake.messages_to(ALICE)[before + 1 :]
        assert [m["text"].splitlines()[0] for m in confirmations] == ["🔁 Правило #2:"] * 3
        assert all("Отменить" in str(m["reply_markup"]) for m in confirmations)
        rows = await occurrences(url)
        assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
            (2, since + timedelta(days=n), since + timedelta(days=n), 1) for n in range(3)
        ]
        # Undo works on a scheduled entry as on a typed one.
        undo = next(
            b["callback_data"]
            for row in confirmations[0]["reply_markup"]["inline_keyboard"]
            for b in row
            if b["text"] == "Отменить"
        )
        update_id = fake.press_button(ALICE, confirmations[0]["message_id"], undo)
        await alice.processed(update_id)
        [voided] = await ledger_rows(
            url, "SELECT count(*) AS n FROM transactions WHERE kind = 'reversal'"
        )
        assert voided["n"] == 1

        listed = await alice.say("/recurring")
        assert "#1 каждый месяц 1-го: 12000 аренда" in listed.text
        assert f"#2 каждый день: 40 кофе — следующая {today() + timedelta(days=1):%d.%m.%Y}" in (
            listed.text
        )
        assert "Правило #2 остановлено" in (await alice.say("/every off 2")).text
        assert "нет" in (await alice.say("/every off 2")).text
        assert "#2" not in (await alice.say("/recurring")).text
        # Stopping keeps what the rule recorded.
        assert len(await occurrences(url)) == 3


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("/every", "Например:"),
        ("/every month 32 100 кафе", "День месяца — число от 1 до 31"),
        ("/every fortnight 100 кафе", "«fortnight» — не расписание"),
        ("/every week someday 100 кафе", "День недели — пн"),
        ("/every year 31.02 100 кафе", "День года пишется как 01.03"),
        ("/every day 40 кофе from 31.02", "«31.02» — не дата начала"),
        ("/every day вчера 40 кофе", "В повторяющейся строке нет даты"),
        ("/every day 0 кофе", "больше нуля"),
        ("/every month 5", "Например:"),
        ("/every month", "Например:"),
        ("/every week", "Например:"),
        ("/every off x", "Например: /every off 3"),
        ("/every off 99", "Действующего правила #99 нет"),
    ],
)
async def test_a_bad_rule_gets_a_clear_answer_and_writes_nothing(
    fake: FakeTelegram, bot: RunningBot, line: str, said: str
) -> None:
    alice = Person(fake, ALICE, "Алиса")
    reply = await alice.say(line)
    assert said in reply.text
    assert await counts(bot.database_url) == (0, 0)


async def test_english_texts(fake: FakeTelegram, bot: RunningBot) -> None:
    bob = Person(fake, 1002, "Bob", language_code="en")
    assert "Like this" in (await bob.say("/every fortnight 5 x")).text
    assert "No repeating entries yet" in (await bob.say("/recurring")).text
    reply = await bob.say("/every week mon 5 coffee")
    assert "Rule #1: every Mon — 5 coffee" in reply.text


async def test_a_bot_killed_while_catching_up_records_every_date_once(
    fake: FakeTelegram, fresh_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Hundreds of past dates at once; SIGKILL in the middle; a restart finishes the rest,
    none twice, each booked on its date."""
    url = fresh_database_url
    process = BotProcess(
        api_base=fake.base_url,
        database_url=url,
        data_dir=tmp_path_factory.mktemp("bot"),
        extra_env={"SCHEDULER_INTERVAL_SECONDS": "0.2", "BOT_TIMEZONE": "Europe/Kyiv"},
    )
    alice = Person(fake, ALICE, "Алиса")
    since = today() - timedelta(days=899)
    expected = 900
    try:
        process.start()
        reply = await alice.say(f"/every day 40 кофе from {since:%d.%m.%Y}")
        assert "Правило #1" in reply.text

        async def recorded() -> int:
            return len(await occurrences(url))

        async def some() -> bool:
            return await recorded() >= 30

        await process.wait_until(some, timeout=WAIT, what="the catch-up under way")
        assert await process.kill() == -signal.SIGKILL
        at_kill = await recorded()
        assert 0 < at_kill < expected, "killed too late to test anything"

        process.start()

        async def all_of_them() -> bool:
            return await recorded() >= expected

        await process.wait_until(all_of_them, timeout=WAIT * 2, what="every date recorded")
        # The author hears of them once it is done, in one summary.
        await fake.wait_for(
            lambda: any("записано" in str(m.get("text")) for m in fake.messages_to(ALICE)),
            timeout=WAIT,
        )
        assert await process.terminate(timeout=WAIT) == 0
    finally:
        process.ensure_dead()
    rows = await occurrences(url)
    assert [r[1] for r in rows] == [since + timedelta(days=n) for n in range(expected)]
    assert all(r[3] == 1 and r[2] == r[1] for r in rows)
    assert await counts(url) == (1, expected)


async def test_two_bot_processes_catching_up_at_once_record_every_date_once(
    fake: FakeTelegram,
    bot: RunningBot,
    fresh_database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A rolling restart: two `finance-bot run` processes, each with a Telegram of its own,
    run the scheduler on one database at the same time."""
    url = fresh_database_url
    alice = Person(fake, ALICE, "Алиса")
    expected = 1200
    since = today() - timedelta(days=expected - 1)
    # The bot in this process has no scheduler: the rule waits for the two processes.
    assert "Правило #1" in (await alice.say(f"/every day 40 кофе from {since:%d.%m.%Y}")).text
    fakes = [FakeTelegram(), FakeTelegram()]
    processes = []
    try:
        for other in fakes:
            await other.start()
            processes.append(
                BotProcess(
                    api_base=other.base_url,
                    database_url=url,
                    data_dir=tmp_path_factory.mktemp("bot"),
                    extra_env={"SCHEDULER_INTERVAL_SECONDS": "0.2"},
                )
            )
        for process in processes:
            process.start()

        async def all_recorded() -> bool:
            return len(await occurrences(url)) >= expected

        await processes[0].wait_until(all_recorded, timeout=WAIT * 2, what="every date")
        for process in processes:
            process.check_alive()
            assert await process.terminate(timeout=WAIT) == 0
    finally:
        for process in processes:
            process.ensure_dead()
        for other in fakes:
            await other.stop()
    rows = await occurrences(url)
    assert [r[1] for r in rows] == [since + timedelta(days=n) for n in range(expected)]
    assert all(r[3] == 1 and r[2] == r[1] for r in rows)
    assert await counts(url) == (1, expected)
