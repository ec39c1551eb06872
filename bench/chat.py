"""Chat benchmark: the real bot, in a process of its own, answering a fake Telegram over HTTP.

Run as ``python bench/chat.py [--database-url URL] [--messages 2000] [--rate 50]``; with
``--households 50 --replicas 1,2,4`` it runs the bot as replicas in webhook mode behind
HAProxy instead (bench/chat_replicas.py says what that measures).

The bot is ``python -m finance_bot run``, configured by its environment like in production:
it long-polls a fake Bot API server (``FakeTelegram``) that runs in this process on
127.0.0.1, and keeps its books in a throwaway database (``bench_chat_<random>``) that this
script creates on the server — DATABASE_URL / --database-url, else an embedded PostgreSQL in
a temporary directory — and drops at the end. The bot runs the migrations itself at start.

Two whitelisted people write expense lines ("250 кафе", "99,90 такси наличные"…) in turn:

1. Paced: --messages lines at a steady --rate per second. The latency of each is from its
   injection (``send_text``) to the arrival of the bot's sendMessage for that chat: the bot
   handles each chat's updates in order (different chats at once), so the k-th reply in a
   chat answers the k-th line of that chat. Every reply must read "#<number> −<amount> · …",
   the numbers rising within each chat.
2. Throughput: --burst lines injected at once, timed until the last one is answered.
3. The resident memory of the bot process (and of its Python children, if any), sampled
   every 100 ms with psutil.
5. Two ``/chart`` after those: how long each photo takes, and what drawing them (matplotlib,
   loaded at the first chart) adds to the bot's memory; outside the RSS target above.
4. The ledger: one transaction per line, numbered without gaps, the sums exact, every
   invariant of ``finance-bot check`` holding.

Scheduled work runs all along, as in a household that uses it: before the paced run each
person makes repeating entries (five in all, ``/every``) and a daily digest (``/digest``),
and the bot's scheduler looks at them every second (SCHEDULER_INTERVAL_SECONDS=1, thirty
times as often as by default). None of them falls due during the run, so the ledger checks
above stay exact: what is measured is the scheduler's work beside the chat.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import psutil  # type: ignore[import-untyped]  # no types-psutil in the venv

from chat_replicas import ReplicaOptions, benchmark_replicas
from common import (
    Run,
    Server,
    admin,
    backend_pids,
    harness_gc_paused,
    heading,
    line,
    print_header,
    print_total,
    verdict,
)
from finance_bot.adapters.postgres.check import check_ledger
from finance_bot.adapters.postgres.embedded import EmbeddedPostgres
from finance_bot.adapters.telegram.formatting import format_money
from finance_bot.bootstrap import run_async
from finance_bot.domain.money import Money
from finance_bot.sandbox.fake_api import ApiCall, FakeTelegram
from finance_bot.sandbox.process import BotProcess as SandboxBotProcess

TOKEN = "4242:BENCH-TOKEN"
CURRENCY = "UAH"
LANGUAGE = "ru"
TIMEZONE = "Europe/Kyiv"
PEOPLE = {700_000_001: "Алиса", 700_000_002: "Борис"}
# (word written, category code it books to), varied but all known to a new household
WORDS = (
    ("кафе", "cafe"),
    ("продукты", "products"),
    ("кафе", "cafe"),
    ("такси", "taxi"),
    ("кофе", "coffee"),
    ("обед", "lunch"),
    ("кафе", "cafe"),
    ("метро", "transport"),
    ("аптека", "health"),
    ("ресторан", "cafe"),
    ("кино", "entertainment"),
    ("интернет", "internet"),
    ("супермаркет", "products"),
)
# Repeating entries and digests made before the paced run (docs/product.md §9, §10).
SCHEDULER_INTERVAL_SECONDS = 1.0
RULES = 5
LATENCY_TARGET_MS = 50.0
RSS_TARGET_MB = 120.0
SAMPLE_SECONDS = 0.1
MB = 1024 * 1024
REPLY_NUMBER = re.compile(r"#(\d+) ")


# --------------------------------------------------------------------------- the lines


@dataclass(frozen=True, slots=True)
class Expense:
    sequence: int  # 0-based, over every line of the run
    author: int
    minor: int
    code: str
    text: str

    @property
    def fragment(self) -> str:
        """How the confirmation shows the amount: "−1 234,56 ₴"."""
        return "−" + format_money(Money(self.minor, CURRENCY), LANGUAGE)


def expense(sequence: int) -> Expense:
    """The sequence-th line: from each person in turn, amounts from 1,00 to 5 000,99."""
    author = list(PEOPLE)[sequence % len(PEOPLE)]
    minor = 100 + (sequence * 7919 + 13) % 500_000
    if sequence % 3:  # two lines in three have kopecks
        amount = f"{minor // 100},{minor % 100:02d}"
    else:
        minor -= minor % 100
        amount = str(minor // 100)
    word, code = WORDS[sequence % len(WORDS)]
    account = " наличные" if sequence % 5 == 4 else ""  # some from the other account
    return Expense(sequence, author, minor, code, f"{amount} {word}{account}")


# --------------------------------------------------------------------------- the chat


@dataclass(slots=True)
class Line:
    expense: Expense
    update_id: int
    sent_at: float
    # time.perf_counter() of this process, in seconds, all three
    delivered_at: float | None = None  # when the getUpdates that carried it was answered
    replied_at: float | None = None  # when the reply's sendMessage reached the fake

    @property
    def latency(self) -> float:
        assert self.replied_at is not None
        return self.replied_at - self.sent_at


@dataclass
class Chat:
    """The lines in flight, matched with the bot's replies in each chat's order."""

    fake: FakeTelegram
    sent: int = 0
    answered: int = 0
    commands_sent: int = 0
    commands_answered: int = 0
    lines: list[Line] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    _waiting: dict[int, collections.deque[Line]] = field(
        default_factory=lambda: collections.defaultdict(collections.deque)
    )
    _undelivered: dict[int, Line] = field(default_factory=dict)
    _numbers: dict[int, int] = field(default_factory=dict)  # the last number in each chat
    # Commands sent while no line is in flight in that chat: their replies are not lines'.
    _commands: dict[int, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.fake.on_call(self._seen)

    def say(self) -> Line:
        """The next line, from the next person; sent now."""
        item = expense(self.sent)
        sent_at = time.perf_counter()
        update_id = self.fake.send_text(
            item.author, item.text, language_code=LANGUAGE, first_name=PEOPLE[item.author]
        )
        sent = Line(item, update_id, sent_at)
        self.sent += 1
        self.lines.append(sent)
        self._waiting[item.author].append(sent)
        self._undelivered[update_id] = sent
        return sent

    def command(self, author: int, text: str) -> None:
        """A command, not a line: its reply is kept in `command_replies`, not matched."""
        self._commands.setdefault(author, [])
        self.fake.send_text(author, text, language_code=LANGUAGE, first_name=PEOPLE[author])
        self.commands_sent += 1

    def commands_all_answered(self) -> bool:
        return self.commands_answered >= self.commands_sent

    def command_replies(self, author: int) -> list[str]:
        return self._commands.get(author, [])

    def _seen(self, call: ApiCall) -> None:
        if call.status != 200:
            return
        if call.method == "getUpdates":
            self._delivered(call)
        elif call.method == "sendMessage":
            self._replied(call)

    def _delivered(self, call: ApiCall) -> None:
        # Called as the answer leaves, with nothing run in between: the updates pending now at
        # or above the offset asked for are the ones it carries.
        offset = call.params.get("offset")
        limit = int(call.params.get("limit") or 100)
        now = time.perf_counter()
        pending = self.fake.pending_update_ids()
        if offset is not None:
            pending = [i for i in pending if i >= int(offset)]
        for update_id in pending[:limit]:
            carried = self._undelivered.pop(update_id, None)
            if carried is not None:
                carried.delivered_at = now

    def _replied(self, call: ApiCall) -> None:
        chat_id = int(call.params["chat_id"])
        text = str(call.params.get("text", ""))
        queue = self._waiting.get(chat_id)
        if not queue and chat_id in self._commands:
            self._commands[chat_id].append(text)
            self.commands_answered += 1
            return
        if not queue:
            self.problems.append(f"a reply nobody waited for, to {chat_id}: {text!r}")
            return
        answered = queue.popleft()
        # Not call.at: uvloop's loop.time() counts whole milliseconds. The listener runs as
        # the fake has the request in full, before it answers; nothing between is awaited.
        answered.replied_at = time.perf_counter()
        self.answered += 1
        item = answered.expense
        # The two people's lines are handled at once, so their numbers interleave in any
        # order; within one chat they rise, and each reply shows its own line's amount.
        number = REPLY_NUMBER.match(text)
        last = self._numbers.get(chat_id, 0)
        if number is None or int(number[1]) <= last or item.fragment not in text:
            self.problems.append(
                f"line {item.sequence + 1} {item.text!r} answered {text!r}, expected a number"
                f" above #{last} and {item.fragment!r}"
            )
            return
        self._numbers[chat_id] = int(number[1])


# --------------------------------------------------------------------------- the bot process


class BotProcess(SandboxBotProcess):
    """The benchmark's bot process, its memory and CPU sampled."""

    log_errors = "replace"

    def __init__(self, *, api_base: str, database_url: str, data_dir: Path) -> None:
        super().__init__(
            api_base=api_base,
            database_url=database_url,
            data_dir=data_dir,
            token=TOKEN,
            whitelist=PEOPLE,
            log_level="WARNING",
            extra_env={
                "BOT_LANGUAGE": LANGUAGE,
                "DEFAULT_CURRENCY": CURRENCY,
                "BOT_TIMEZONE": TIMEZONE,
                "SCHEDULER_INTERVAL_SECONDS": str(SCHEDULER_INTERVAL_SECONDS),
            },
        )
        self.handle: psutil.Process | None = None
        self.peak_rss = 0  # since the last reset_peak()
        self.overall_peak_rss = 0
        self.samples = 0

    def start(self) -> None:
        super().start()
        self.handle = psutil.Process(self.pid)

    def check_alive(self) -> None:
        code = self.returncode
        if code is not None:
            raise SystemExit(f"the bot exited with {code}; its log:\n{self.log_tail(20)}")

    def rss(self) -> int:
        """Resident memory of the bot and of its Python children (none, normally)."""
        assert self.handle is not None
        total = int(self.handle.memory_info().rss)
        for child in self.handle.children(recursive=True):
            try:
                if "python" in child.name().lower():
                    total += int(child.memory_info().rss)
            except psutil.NoSuchProcess:
                continue
        return total

    def cpu_seconds(self) -> float:
        assert self.handle is not None
        times = self.handle.cpu_times()
        return float(times.user + times.system)

    async def database_cpu_seconds(self) -> dict[int, float]:
        """CPU time of each PostgreSQL backend serving the bot's database, if they are local."""
        seconds: dict[int, float] = {}
        for pid in await backend_pids(self.database_url):
            try:
                backend = psutil.Process(pid)
                if "postgres" not in backend.name():
                    continue  # not ours: the server runs on another machine
                times = backend.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            seconds[pid] = times.user + times.system
        return seconds

    def reset_peak(self) -> None:
        self.peak_rss = self.rss()

    async def sample_memory(self) -> None:
        """Every SAMPLE_SECONDS until cancelled: the peaks since the last reset and overall."""
        while True:
            try:
                rss = self.rss()
            except psutil.NoSuchProcess:
                return
            self.samples += 1
            self.peak_rss = max(self.peak_rss, rss)
            self.overall_peak_rss = max(self.overall_peak_rss, rss)
            await asyncio.sleep(SAMPLE_SECONDS)

    async def stop(self, timeout: float = 15.0) -> str:  # noqa: ASYNC109
        """SIGTERM; SIGKILL if it is still there after timeout seconds. How it ended."""
        process = self._process
        if process is None or process.poll() is not None:
            return "already exited" if process is not None else "never started"
        process.send_signal(signal.SIGTERM)
        started = time.perf_counter()
        try:
            # in a thread: the fake, on this loop, must answer the bot's last getUpdates
            await asyncio.to_thread(process.wait, timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait, 10)
            return f"killed: still running {timeout:g} s after SIGTERM"
        return f"exit code {process.returncode} {time.perf_counter() - started:.2f} s after SIGTERM"


# --------------------------------------------------------------------------- the runs


async def paced(chat: Chat, count: int, rate: float) -> tuple[list[Line], Run]:
    """count lines at rate per second, on a fixed schedule; the lines, and how late each was.

    The lateness is this process's own: how long after its due time the loop got round to
    sending a line. It shows how busy the machine is, bot or no bot.
    """
    start = time.perf_counter()
    sent: list[Line] = []
    lateness: list[float] = []
    for index in range(count):
        due = start + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent.append(chat.say())
        lateness.append(max(0.0, sent[-1].sent_at - due))
    return sent, Run(count, sent[-1].sent_at - start, lateness)


@dataclass(frozen=True, slots=True)
class CpuTimes:
    """CPU seconds so far: the whole machine's (busy and stolen), the bot's, this process's,
    and its database backends', by process id (none when they are not on this machine)."""

    busy: float
    steal: float
    bot: float
    own: float
    database: dict[int, float]

    @classmethod
    async def take(cls, bot: BotProcess) -> CpuTimes:
        database = await bot.database_cpu_seconds()
        machine = psutil.cpu_times()
        busy = sum(
            getattr(machine, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq")
        )
        mine = psutil.Process().cpu_times()
        steal = getattr(machine, "steal", 0.0)
        return cls(busy, steal, bot.cpu_seconds(), mine.user + mine.system, database)

    def __sub__(self, other: CpuTimes) -> CpuTimes:
        # A backend that came meanwhile counts in full; one that went is left out.
        database = {pid: used - other.database.get(pid, 0.0) for pid, used in self.database.items()}
        return CpuTimes(
            self.busy - other.busy,
            self.steal - other.steal,
            self.bot - other.bot,
            self.own - other.own,
            database,
        )


def cpu_lines(used: CpuTimes, count: int, wall: float) -> None:
    line(
        "  bot CPU per line",
        f"{used.bot / count * 1000:8.2f} ms",
        f"bot busy {used.bot / wall * 100:.0f} % of one CPU",
    )
    database_seconds = sum(used.database.values())
    database = f"{database_seconds / wall:.2f}" if used.database else "n/a (not local)"
    others = used.busy - used.bot - used.own - database_seconds
    line(
        "  machine: CPUs busy on average",
        f"{used.busy / wall:8.2f}",
        f"of {os.cpu_count()}: bot {used.bot / wall:.2f}, its PostgreSQL backends {database}, "
        f"this process {used.own / wall:.2f}, anything else {others / wall:.2f}"
        f" (stolen {used.steal / wall:.2f})",
    )


def latencies(lines: list[Line]) -> Run:
    values = [item.latency for item in lines]
    return Run(len(values), sum(values), values)


def latency_summary(run: Run) -> str:
    return (
        f"p50 {run.percentile_ms(50):6.1f}  p95 {run.percentile_ms(95):6.1f}  "
        f"p99 {run.percentile_ms(99):6.1f}  max {max(run.latencies) * 1000:6.1f} ms"
    )


def split_lines(lines: list[Line]) -> None:
    """Where the time went: on the way to the bot, and in the bot until its reply."""
    delivered = [item for item in lines if item.delivered_at is not None]
    if len(delivered) < len(lines):
        line("  (delivery time unknown for some lines)", f"{len(lines) - len(delivered)}")
    if not delivered:
        return
    waits = [item.delivered_at - item.sent_at for item in delivered if item.delivered_at]
    handling = [
        item.replied_at - item.delivered_at
        for item in delivered
        if item.replied_at is not None and item.delivered_at is not None
    ]
    line("  of which: injection -> getUpdates answered", "", latency_summary(Run(0, 0, waits)))
    line("  of which: getUpdates -> reply arrives", "", latency_summary(Run(0, 0, handling)))


def mb(value: int) -> str:
    return f"{value / MB:6.1f} MB"


@dataclass(frozen=True, slots=True)
class Options:
    messages: int
    rate: float
    burst: int
    warmup: int


async def until(
    chat: Chat,
    bot: BotProcess,
    predicate: Callable[[], object],
    timeout: float,  # noqa: ASYNC109
    what: str,
) -> None:
    """Wait for predicate() (re-checked as the fake sees calls), failing should the bot exit."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        bot.check_alive()
        if loop.time() >= deadline:
            raise SystemExit(f"{what}: not in {timeout:g} s; problems: {chat.problems[:3]}")
        with contextlib.suppress(TimeoutError):
            await chat.fake.wait_for(predicate, timeout=min(1.0, deadline - loop.time()))


async def answered(chat: Chat, bot: BotProcess, timeout: float) -> None:  # noqa: ASYNC109
    """Wait until every line sent so far is answered."""
    count = chat.sent
    await until(chat, bot, lambda: chat.answered >= count, timeout, f"{count} lines answered")


async def drive(chat: Chat, bot: BotProcess, options: Options, started: float) -> None:
    loop = asyncio.get_running_loop()
    await until(chat, bot, lambda: chat.fake.calls("deleteWebhook"), 120, "the bot polling")
    line("start-up: spawn -> polling (migrations incl.)", f"{loop.time() - started:8.2f} s")
    idle_rss = bot.rss()
    line("bot RSS once polling, idle", mb(idle_rss))
    await warm_up(chat, bot, options)
    await schedules(chat, bot)
    with harness_gc_paused():
        await paced_run(chat, bot, options)
    with harness_gc_paused():
        await burst_run(chat, bot, options.burst)
    await memory(bot, idle_rss)
    await chart(chat, bot)


async def warm_up(chat: Chat, bot: BotProcess, options: Options) -> None:
    heading(f"0. Warm-up: each person's first line (joins the household), then {options.warmup}")
    for _ in PEOPLE:
        first = chat.say()
        await answered(chat, bot, 60)
        line(f"  first line of {PEOPLE[first.expense.author]}", f"{first.latency * 1000:8.1f} ms")
    if options.warmup:
        warm, _ = await paced(chat, options.warmup, options.rate)
        await answered(chat, bot, 60 + options.warmup / 10)
        line("  warm-up lines", "", latency_summary(latencies(warm)))


def schedule_commands(now: datetime) -> dict[int, list[str]]:
    """Each person's repeating entries and daily digest, none due while the benchmark runs:
    the days named are tomorrow's or later, the digest twelve hours away."""
    tomorrow = now.date() + timedelta(days=1)
    day_after = now.date() + timedelta(days=2)
    weekdays = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    rules = [
        f"/every month {tomorrow.day} 12000 аренда",
        f"/every month {day_after.day} +30000 зарплата",
        f"/every week {weekdays[tomorrow.weekday()]} 500 карта > наличные",
        f"/every year {tomorrow:%d.%m} 1200 страховка",
        f"/every week {weekdays[day_after.weekday()]} 40 кофе",
    ][:RULES]
    digest = f"/digest daily {(now + timedelta(hours=12)):%H:%M}"
    people = list(PEOPLE)
    return {person: [*rules[index :: len(people)], digest] for index, person in enumerate(people)}


async def schedules(chat: Chat, bot: BotProcess) -> None:
    heading(
        f"Scheduled work: {RULES} repeating entries and a daily digest each, looked at every"
        f" {SCHEDULER_INTERVAL_SECONDS:g} s"
    )
    for person, commands in schedule_commands(datetime.now(ZoneInfo(TIMEZONE))).items():
        for text in commands:
            chat.command(person, text)
            await until(chat, bot, chat.commands_all_answered, 60, f"an answer to {text}")
    made = sum(
        1 for person in PEOPLE for reply in chat.command_replies(person) if reply.startswith("🔁")
    )
    line("  repeating entries made", f"{made:8d}", f"of {RULES}")
    if made != RULES:
        chat.problems.append(f"repeating entries: {made} made of {RULES}")


async def paced_run(chat: Chat, bot: BotProcess, options: Options) -> None:
    count, rate = options.messages, options.rate
    heading(f"1. Paced: {count} lines at {rate:g} per second, two people in turn")
    bot.reset_peak()
    cpu_before = await CpuTimes.take(bot)
    lines, lateness = await paced(chat, count, rate)
    await answered(chat, bot, 120 + count / 10)
    used = await CpuTimes.take(bot) - cpu_before
    wall = max(item.replied_at or 0.0 for item in lines) - lines[0].sent_at
    run = latencies(lines)
    p99 = run.percentile_ms(99)
    achieved = (count - 1) / lateness.seconds
    line("injection rate achieved", f"{achieved:8.1f} /s", f"until the last reply {wall:.1f} s")
    line("latency injection -> reply", "", latency_summary(run))
    line(
        f"target p99 <= {LATENCY_TARGET_MS:g} ms at {rate:g} messages/s",
        f"{p99:8.1f} ms",
        verdict(p99 <= LATENCY_TARGET_MS),
    )
    split_lines(lines)
    slow = sum(1 for value in run.latencies if value * 1000 > LATENCY_TARGET_MS)
    line(f"  lines slower than {LATENCY_TARGET_MS:g} ms", f"{slow:8d}", f"of {count}")
    line(
        "  injections late (this process starved)",
        "",
        f"p99 {lateness.percentile_ms(99):6.1f}  max {max(lateness.latencies) * 1000:6.1f} ms",
    )
    cpu_lines(used, count, wall)
    line("  bot peak RSS during the run", mb(bot.peak_rss))


async def burst_run(chat: Chat, bot: BotProcess, burst: int) -> None:
    heading(f"2. Throughput: {burst} lines injected at once, until all are answered")
    fake = chat.fake
    await asyncio.sleep(0.5)
    bot.reset_peak()
    cpu_before = await CpuTimes.take(bot)
    polls_before = len(fake.calls("getUpdates"))
    lines = [chat.say() for _ in range(burst)]
    injected = time.perf_counter() - lines[0].sent_at
    await answered(chat, bot, 120 + burst / 5)
    used = await CpuTimes.take(bot) - cpu_before
    wall = max(item.replied_at or 0.0 for item in lines) - lines[0].sent_at
    line("end to end", f"{burst / wall:8.1f} /s", f"{burst} lines in {wall:.2f} s")
    line("  injecting them took", f"{injected * 1000:8.1f} ms")
    line("  first reply after", f"{min(item.latency for item in lines) * 1000:8.1f} ms")
    line("  getUpdates answered", f"{len(fake.calls('getUpdates')) - polls_before:8d}")
    cpu_lines(used, burst, wall)
    line("  bot peak RSS during the run", mb(bot.peak_rss))


async def memory(bot: BotProcess, idle_rss: int) -> None:
    heading("3. Memory of the bot process (psutil RSS, sampled every 100 ms)")
    await asyncio.sleep(1.0)
    end_rss = bot.rss()
    peak = max(bot.overall_peak_rss, end_rss)
    line("once polling, idle", mb(idle_rss))
    line("peak", mb(peak), f"{bot.samples} samples")
    line("at the end, 1 s after the last reply", mb(end_rss))
    line(f"target RSS <= {RSS_TARGET_MB:g} MB", mb(peak), verdict(peak <= RSS_TARGET_MB * MB))
    children = bot.handle.children(recursive=True) if bot.handle else []
    line("  child processes of the bot", f"{len(children):8d}", "(counted if Python)")


async def chart(chat: Chat, bot: BotProcess) -> None:
    heading("5. /chart of the month, twice (matplotlib loads at the first)")
    before_rss = bot.rss()
    for which in ("first", "second"):
        took, size = await one_chart(chat, bot)
        line(
            f"  {which} /chart -> photo arrives", f"{took * 1000:8.1f} ms", f"PNG {size // 1024} KB"
        )
    await asyncio.sleep(1.0)
    after_rss = bot.rss()
    line("  bot RSS before the charts", mb(before_rss))
    line("  bot RSS 1 s after them", mb(after_rss), f"+{(after_rss - before_rss) / MB:.1f} MB")


async def one_chart(chat: Chat, bot: BotProcess) -> tuple[float, int]:
    """Seconds from /chart to its photo, and the PNG's size in bytes."""
    fake = chat.fake
    author = next(iter(PEOPLE))
    photos = len(fake.calls("sendPhoto"))
    asked = time.perf_counter()
    fake.send_text(author, "/chart", language_code=LANGUAGE, first_name=PEOPLE[author])
    await until(chat, bot, lambda: len(fake.calls("sendPhoto")) > photos, 60, "the chart")
    took = time.perf_counter() - asked
    upload = fake.calls("sendPhoto")[-1].params.get("photo")
    return took, len(getattr(upload, "data", b""))


# --------------------------------------------------------------------------- the ledger


async def verify_ledger(url: str, chat: Chat) -> bool:
    """The books hold every line once, exactly; the replies were all as expected."""
    heading("4. The ledger, and the replies")
    expected_by_code: collections.Counter[str] = collections.Counter()
    expected_by_account: collections.Counter[str] = collections.Counter()
    for item in chat.lines:
        expected_by_code[item.expense.code] += item.expense.minor
        account = "cash" if item.expense.text.endswith("наличные") else "card"
        expected_by_account[account] += item.expense.minor
    total = sum(expected_by_code.values())
    connection = await asyncpg.connect(url)
    try:
        row = await connection.fetchrow(
            "SELECT count(*) AS n, min(number) AS lo, max(number) AS hi,"
            " count(DISTINCT number) AS distinct_numbers,"
            " count(*) FILTER (WHERE kind <> 'expense') AS other_kinds FROM transactions"
        )
        legs = await connection.fetch(
            "SELECT a.type::text AS type, a.code, p.direction::text AS direction,"
            " sum(p.amount_minor) AS total FROM postings p JOIN accounts a ON a.id = p.account_id"
            " GROUP BY 1, 2, 3"
        )
        violations = await check_ledger(connection)
        scheduled = await connection.fetchrow(
            "SELECT (SELECT count(*) FROM recurring_rules) AS rules,"
            " (SELECT count(*) FROM recurring_occurrences) AS occurrences,"
            " (SELECT count(*) FROM digest_settings) AS digests"
        )
    finally:
        await connection.close()
    assert row is not None
    assert scheduled is not None
    by_code: collections.Counter[str] = collections.Counter()
    by_account: collections.Counter[str] = collections.Counter()
    for leg in legs:
        if leg["type"] == "expense" and leg["direction"] == "debit":
            by_code[leg["code"]] += int(leg["total"])
        elif leg["type"] == "asset" and leg["direction"] == "credit":
            by_account[leg["code"]] += int(leg["total"])
        else:
            by_code[f"{leg['type']}/{leg['code']}/{leg['direction']}"] += int(leg["total"])
    sent = chat.sent
    spent = sum(by_code.values())
    checks = (
        ("transactions", row["n"] == sent, f"{row['n']} for {sent} lines sent"),
        (
            "numbered without gaps or repeats",
            row["lo"] == 1 and row["hi"] == sent and row["distinct_numbers"] == sent,
            f"{row['lo']}..{row['hi']}, {row['distinct_numbers']} distinct",
        ),
        ("every one an expense", row["other_kinds"] == 0, f"{row['other_kinds']} other"),
        ("sum spent, exact", spent == total, f"{spent} minor units for {total} sent"),
        (
            "by category, exact",
            by_code == expected_by_code,
            f"{len(expected_by_code)} categories",
        ),
        (
            "by account, exact",
            by_account == expected_by_account,
            f"card {by_account['card']}, cash {by_account['cash']}",
        ),
        ("finance-bot check (every invariant)", not violations, f"{len(violations)} violations"),
        (
            "repeating entries and digests kept, none due",
            scheduled["rules"] == RULES
            and scheduled["occurrences"] == 0
            and scheduled["digests"] == len(PEOPLE),
            f"{scheduled['rules']} rules, {scheduled['occurrences']} recorded,"
            f" {scheduled['digests']} digests",
        ),
        (
            "replies: '#<number> −<amount>' each",
            chat.answered == sent and not chat.problems,
            f"{chat.answered} for {sent} lines, {len(chat.problems)} unexpected",
        ),
    )
    for label, passed, detail in checks:
        line(label, "ok" if passed else "WRONG", detail)
    for problem in chat.problems[:5]:
        print(f"    {problem}", flush=True)
    for violation in violations[:5]:
        print(f"    {violation}", flush=True)
    return all(passed for _, passed, _ in checks)


# --------------------------------------------------------------------------- entry point


async def benchmark(server: Server, options: Options, work_dir: Path) -> bool:
    database = f"bench_chat_{secrets.token_hex(6)}"
    await admin(server.url, f'CREATE DATABASE "{database}"')
    try:
        print(f"database:    {database} (created for this run; the bot migrates it)", flush=True)
        return await run_in(server.url_for(database), options, work_dir)
    finally:
        await admin(server.url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        print(f"dropped database {database}", flush=True)


async def interruptible(work: Coroutine[Any, Any, None]) -> None:
    """Run work; Ctrl-C or SIGTERM cancels it alone, so that the fake still serves the bot
    while it is being stopped; then SystemExit."""
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(work)
    numbers = (signal.SIGINT, signal.SIGTERM)
    for number in numbers:
        loop.add_signal_handler(number, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # cancelled from outside, not by a signal
        raise SystemExit("interrupted: stopping the bot and dropping the database") from None
    finally:
        for number in numbers:
            loop.remove_signal_handler(number)


async def run_in(url: str, options: Options, work_dir: Path) -> bool:
    fake = FakeTelegram()
    await fake.start()
    bot = BotProcess(api_base=fake.base_url, database_url=url, data_dir=work_dir / "bot")
    bot.data_dir.mkdir(parents=True)
    sampler: asyncio.Task[None] | None = None
    chat = Chat(fake)
    try:
        print(f"fake api:    {fake.base_url} (in this process, real HTTP)")
        started = asyncio.get_running_loop().time()
        bot.start()
        print(f"bot:         pid {bot.pid}: {shlex.join(bot.command)}, LOG_LEVEL=WARNING")
        sampler = asyncio.create_task(bot.sample_memory())
        await interruptible(drive(chat, bot, options, started))
    finally:
        if sampler is not None:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
        try:
            how = await bot.stop()
        finally:
            bot.ensure_dead()
            await fake.stop()
        print(f"\nbot process: {how}", flush=True)
        logged = [text for text in bot.log_text().splitlines() if text.strip()]
        print(f"bot log:     {len(logged)} line(s) at WARNING or above", flush=True)
        for text in logged[:5]:
            print(f"             {text[:300]}", flush=True)
    return await verify_ledger(url, chat)


def parse_options(argv: list[str] | None = None) -> tuple[argparse.Namespace, Options]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="any database on the server to use (default: DATABASE_URL, else embedded)",
    )
    parser.add_argument("--messages", type=int, default=2000, help="lines in the paced run")
    parser.add_argument(
        "--rate", type=float, help="lines per second, paced (default 50; 200 with --replicas)"
    )
    parser.add_argument("--burst", type=int, default=1000, help="lines injected at once")
    parser.add_argument("--warmup", type=int, default=100, help="paced lines before measuring")
    parser.add_argument(
        "--replicas",
        type=replica_counts,
        help="webhook mode behind HAProxy, at each of these replica counts (e.g. 1,2,4)",
    )
    parser.add_argument(
        "--households", type=int, default=50, help="with --replicas: households of two"
    )
    parser.add_argument(
        "--no-inline-replies",
        action="store_true",
        help="with --replicas: every reply by request (WEBHOOK_INLINE_REPLIES=false)",
    )
    args = parser.parse_args(argv)
    if args.rate is None:
        args.rate = 50.0 if args.replicas is None else 200.0
    if args.messages < 2 or args.burst < 1 or args.warmup < 0 or args.rate <= 0:
        parser.error("--messages >= 2, --burst >= 1, --warmup >= 0 and --rate > 0, please")
    if args.households < 1:
        parser.error("--households >= 1, please")
    return args, Options(args.messages, args.rate, args.burst, args.warmup)


def replica_counts(text: str) -> tuple[int, ...]:
    counts = tuple(int(part) for part in text.split(",") if part.strip())
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("replica counts like 1,2,4")
    return counts


def main() -> None:
    args, options = parse_options()
    # Outside the runs (see interruptible), SIGTERM and SIGINT (even where a shell left it
    # ignored) as Ctrl-C: every task is cancelled, so the cleanups run on the way out.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")  # the embedded server's
    print(f"command:     {shlex.join(sys.orig_argv)}", flush=True)
    work_dir = Path(tempfile.mkdtemp(prefix="finance-chat-bench-"))
    embedded: EmbeddedPostgres | None = None
    try:
        if args.database_url:
            server = Server(args.database_url, embedded=False)
        else:
            embedded = EmbeddedPostgres(work_dir / "postgres")
            server = Server(embedded.start(), embedded=True)
        if server.embedded:
            kind = (
                f"embedded (temporary, in {work_dir / 'postgres'}), started by this script; "
                "its postgres processes are not the bot's and are not counted in its RSS"
            )
        else:
            kind = "external"
        print_header(server, kind)
        started = time.perf_counter()
        if args.replicas is None:
            ok = run_async(benchmark(server, options, work_dir))
        else:
            replica_options = ReplicaOptions(
                args.households,
                args.replicas,
                args.messages,
                args.rate,
                args.burst,
                args.warmup,
                inline_replies=not args.no_inline_replies,
            )
            ok = run_async(benchmark_replicas(server, replica_options, work_dir))
        print_total(started)
    finally:
        if embedded is not None:
            embedded.stop()
        shutil.rmtree(work_dir, ignore_errors=True)
    if not ok:
        raise SystemExit("the ledger or the replies are not as they should be")


if __name__ == "__main__":
    main()
