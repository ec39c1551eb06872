"""The chat benchmark with replicas: ``python bench/chat.py --households 50 --replicas 1,2,4``.

At each replica count R, from scratch: a throwaway database (migrated, then N households of
two members each seeded directly, as sign-up would make them), R processes of
``python -m finance_bot run`` in webhook mode, HAProxy in front of them
(finance_bot.sandbox.balancer, the distribution's package, as in tests/e2e/test_replicas.py)
and the fake Bot API, in this process, delivering every update to HAProxy's URL by webhook
(max_connections 100, Telegram's most). The people write "<amount> кафе" lines, each
household's two members in turn:

1. Warm-up: each person's first line, then a few hundred more, all answered.
2. Paced: --messages lines at a fixed offered load of --rate per second (200 unless given):
   the latency of each line is from its injection to the arrival of the bot's reply in that
   chat (each chat's replies come in its order); p99 against the 50 ms target.
3. Throughput: --burst lines injected at once, timed until the last reply: messages per
   second end to end. Every entry is durable (each reply follows its COMMIT, and the
   server's synchronous_commit is shown in the header).
4. CPU seconds over the burst, by who spent them: the bot processes (per message), their
   PostgreSQL backends, HAProxy, this process (the fake Bot API and the people; per message
   too), and the rest of the machine; the busiest of them against the machine's CPUs says
   where the ceiling is. And how many replies came in the webhook's answers rather than by
   a request of the bot's (docs/adr/0026: all of them, with WEBHOOK_INLINE_REPLIES on).
5. The ledger: one transaction per line sent, every invariant of ``finance-bot check``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg
import psutil  # type: ignore[import-untyped]  # no types-psutil in the venv
from pydantic import SecretStr

from common import Run, Server, admin, backend_pids, harness_gc_paused, heading, line, verdict
from finance_bot.adapters.postgres.check import check_ledger
from finance_bot.adapters.postgres.migrator import migrate
from finance_bot.adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory, create_pool
from finance_bot.adapters.telegram.formatting import format_money
from finance_bot.adapters.telegram.webhook import WEBHOOK_PATH
from finance_bot.application.household import enroll, found_household
from finance_bot.bootstrap import set_webhook
from finance_bot.config import Settings
from finance_bot.domain.money import Money
from finance_bot.sandbox.balancer import Balancer, Replica, free_port
from finance_bot.sandbox.fake_api import ApiCall, FakeTelegram
from finance_bot.sandbox.process import BotProcess

TOKEN = "4242:BENCH-TOKEN"
SECRET = "bench-webhook-secret-0123456789"
LANGUAGE = "ru"
CURRENCY = "UAH"
MEMBERS = 2
MAX_CONNECTIONS = 100  # Telegram's most
DEFAULT_RATE = 200.0
LATENCY_TARGET_MS = 50.0
THROUGHPUT_TARGET = 450.0
FIRST_PERSON = 800_000_001


@dataclass(frozen=True, slots=True)
class ReplicaOptions:
    households: int
    replicas: tuple[int, ...]
    messages: int
    rate: float
    burst: int
    warmup: int
    inline_replies: bool = True  # WEBHOOK_INLINE_REPLIES of the replicas (docs/adr/0026)


@dataclass(slots=True)
class Figures:
    replicas: int
    throughput: float
    p99_ms: float
    bot_cpu_ms: float  # bot CPU per message in the burst
    fake_cpu_ms: float  # the fake Bot API's (and the people's) CPU per message in the burst
    shares: dict[str, float]  # CPUs busy on average during the burst, by who
    ok: bool


def fragment(units: int) -> str:
    return "−" + format_money(Money(units * 100, CURRENCY), LANGUAGE)


@dataclass
class Traffic:
    """Lines sent by the households' members and the replies matched to them, per chat."""

    fake: FakeTelegram
    people: list[int]
    sent: int = 0
    answered: int = 0
    in_answers: int = 0  # replies carried by the webhook's answers, not requested (ADR-0026)
    problems: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    _waiting: dict[int, collections.deque[tuple[float, int]]] = field(
        default_factory=lambda: collections.defaultdict(collections.deque)
    )

    def __post_init__(self) -> None:
        self.fake.on_call(self._seen)

    def say(self) -> None:
        """The next line: people in turn, so that each household's members alternate."""
        author = self.people[self.sent % len(self.people)]
        units = 1 + (self.sent * 7919) % 9000
        self._waiting[author].append((time.perf_counter(), units))
        self.fake.send_text(author, f"{units} кафе", language_code=LANGUAGE)
        self.sent += 1

    def _seen(self, call: ApiCall) -> None:
        if call.status != 200 or call.method != "sendMessage":
            return
        chat_id = int(call.params["chat_id"])
        text = str(call.params.get("text", ""))
        queue = self._waiting.get(chat_id)
        if not queue:
            self.problems.append(f"a reply nobody waited for, to {chat_id}: {text!r}")
            return
        sent_at, units = queue.popleft()
        self.latencies.append(time.perf_counter() - sent_at)
        self.answered += 1
        self.in_answers += call.inline
        if not text.startswith("#") or fragment(units) not in text:
            self.problems.append(f"{units} кафе answered {text!r}")

    async def until_answered(self, timeout: float, alive: Callable[[], None]) -> None:  # noqa: ASYNC109
        count = self.sent
        deadline = time.perf_counter() + timeout
        while self.answered < count:
            alive()
            if time.perf_counter() > deadline:
                raise SystemExit(f"{count - self.answered} lines unanswered after {timeout:g} s")
            with contextlib.suppress(TimeoutError):
                await self.fake.wait_for(lambda: self.answered >= count, timeout=1.0)

    async def paced(self, count: int, rate: float) -> Run:
        """count lines at rate per second; their latencies."""
        first = len(self.latencies)
        start = time.perf_counter()
        for index in range(count):
            delay = start + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            self.say()
        return Run(count, time.perf_counter() - start, self.latencies[first:])


class Cluster:
    """R replicas, HAProxy in front, on one database; the processes' CPU readable."""

    def __init__(
        self,
        fake: FakeTelegram,
        url: str,
        people: list[int],
        count: int,
        work: Path,
        *,
        inline_replies: bool = True,
    ):
        self.replicas = [Replica(free_port(), free_port()) for _ in range(count)]
        self.processes = [
            BotProcess(
                api_base=fake.base_url,
                database_url=url,
                data_dir=work / f"replica{number}",
                token=TOKEN,
                whitelist=people,
                log_level="WARNING",
                extra_env={
                    "BOT_MODE": "webhook",
                    "WEBHOOK_PORT": str(replica.webhook_port),
                    "WEBHOOK_SECRET": SECRET,
                    "METRICS_PORT": str(replica.health_port),
                    "BOT_LANGUAGE": LANGUAGE,
                    "DEFAULT_CURRENCY": CURRENCY,
                    "WEBHOOK_INLINE_REPLIES": "true" if inline_replies else "false",
                },
            )
            for number, replica in enumerate(self.replicas, 1)
        ]
        self.balancer = Balancer(self.replicas, work / "haproxy")
        self.fake = fake
        self.url = url

    def alive(self) -> None:
        for process in self.processes:
            if not process.running():
                raise SystemExit(f"a replica exited; its log:\n{process.log_tail(20)}")

    async def start(self) -> None:
        for process in self.processes:
            process.data_dir.mkdir(parents=True, exist_ok=True)
            process.start()
        async with aiohttp.ClientSession() as session:
            for replica in self.replicas:
                await self._healthy(session, replica.health_port)
        await asyncio.to_thread(self.balancer.start)
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            telegram_bot_token=SecretStr(TOKEN),
            telegram_api_base=self.fake.base_url,
            webhook_secret=SecretStr(SECRET),
        )
        url = f"{self.balancer.base_url}{WEBHOOK_PATH}"
        await set_webhook(settings, url, max_connections=MAX_CONNECTIONS)

    async def _healthy(self, session: aiohttp.ClientSession, port: int) -> None:
        deadline = time.perf_counter() + 60
        while True:
            self.alive()
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            if time.perf_counter() > deadline:
                raise SystemExit("a replica was not healthy within 60 s")
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        self.balancer.stop()
        for process in self.processes:
            if process.running():
                await asyncio.to_thread(process.stop_and_wait)
            process.ensure_dead()

    async def cpu(self) -> dict[str, float]:
        """CPU seconds so far, by who: bots, database, balancer, this process, machine."""
        bots = sum(_cpu(process.pid) for process in self.processes)
        database = sum(_cpu(pid) for pid in await backend_pids(self.url))
        machine = psutil.cpu_times()
        busy = sum(getattr(machine, n, 0.0) for n in ("user", "nice", "system", "irq", "softirq"))
        return {
            "bots": bots,
            "postgres": database,
            "haproxy": _cpu(self.balancer.pid),
            "fake api": _cpu(os.getpid()),
            "machine": busy,
        }


def _cpu(pid: int) -> float:
    try:
        times = psutil.Process(pid).cpu_times()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0.0
    return float(times.user + times.system)


async def seed(url: str, households: int) -> list[int]:
    """Migrate, then households of MEMBERS people each; every person, household by household."""
    connection = await asyncpg.connect(url)
    try:
        await migrate(connection)
    finally:
        await connection.close()
    pool = await create_pool(url, max_size=2)
    people: list[int] = []
    try:
        factory = PostgresUnitOfWorkFactory(pool)
        for number in range(households):
            members = [FIRST_PERSON + number * MEMBERS + k for k in range(MEMBERS)]
            async with factory() as uow:
                household = await found_household(uow, language=LANGUAGE, currency=CURRENCY)
                for person in members:
                    await enroll(uow, person, household, language=LANGUAGE, currency=CURRENCY)
                await uow.commit()
            people.extend(members)
    finally:
        await pool.close()
    # Members of a household in turn, households interleaved: person k*MEMBERS+j is the
    # j-th member of household k, so taking every household's first, then every second...
    return [people[h * MEMBERS + m] for m in range(MEMBERS) for h in range(households)]


async def one_count(server: Server, options: ReplicaOptions, count: int, work: Path) -> Figures:
    database = f"bench_replicas_{secrets.token_hex(6)}"
    await admin(server.url, f'CREATE DATABASE "{database}"')
    url = server.url_for(database)
    fake = FakeTelegram()
    await fake.start()
    cluster: Cluster | None = None
    try:
        people = await seed(url, options.households)
        heading(
            f"== {count} replica(s) behind HAProxy, {options.households} households of"
            f" {MEMBERS}, database {database},"
            f" replies {'in the answers' if options.inline_replies else 'by request'}"
        )
        cluster = Cluster(
            fake, url, people, count, work / f"r{count}", inline_replies=options.inline_replies
        )
        started = time.perf_counter()
        await cluster.start()
        line("start-up: spawn -> every replica healthy", f"{time.perf_counter() - started:8.2f} s")
        traffic = Traffic(fake, people)
        return await measure(cluster, traffic, options, count)
    finally:
        if cluster is not None:
            await cluster.stop()
        await fake.stop()
        await admin(server.url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


async def measure(
    cluster: Cluster, traffic: Traffic, options: ReplicaOptions, count: int
) -> Figures:
    warm = len(traffic.people) + options.warmup
    await traffic.paced(warm, 100.0)
    await traffic.until_answered(120, cluster.alive)
    line("warm-up (each person's first line, then more)", f"{warm:8d}", "lines answered")

    with harness_gc_paused():
        run = await traffic.paced(options.messages, options.rate)
        await traffic.until_answered(120, cluster.alive)
    p99 = run.percentile_ms(99)
    line(
        f"paced {options.messages} at {options.rate:g}/s: p99 injection -> reply",
        f"{p99:8.1f} ms",
        f"p50 {run.percentile_ms(50):.1f}  max {max(run.latencies) * 1000:.1f} ms"
        f"  target <= {LATENCY_TARGET_MS:g} ms: {verdict(p99 <= LATENCY_TARGET_MS)}",
    )

    await asyncio.sleep(0.5)
    before = await cluster.cpu()
    answered_before, in_answers_before = traffic.answered, traffic.in_answers
    with harness_gc_paused():
        first = time.perf_counter()
        for _ in range(options.burst):
            traffic.say()
        await traffic.until_answered(120 + options.burst / 50, cluster.alive)
        wall = time.perf_counter() - first
    used = {who: spent - before[who] for who, spent in (await cluster.cpu()).items()}
    throughput = options.burst / wall
    line(f"burst of {options.burst}: end to end", f"{throughput:8.1f} /s", f"in {wall:.2f} s")
    bot_cpu_ms = used["bots"] / options.burst * 1000
    line("  bot CPU per message (all replicas)", f"{bot_cpu_ms:8.2f} ms")
    fake_cpu_ms = used["fake api"] / options.burst * 1000
    line("  fake Bot API CPU per message", f"{fake_cpu_ms:8.2f} ms", "with the people")
    line(
        "  replies in the webhook's answers",
        f"{traffic.in_answers - in_answers_before:8d}",
        f"of {traffic.answered - answered_before}, the rest requested by the bot",
    )
    shares = {who: spent / wall for who, spent in used.items()}
    others = shares["machine"] - sum(v for k, v in shares.items() if k != "machine")
    line(
        "  CPUs busy on average",
        f"{shares['machine']:8.2f}",
        f"of {os.cpu_count()}: bots {shares['bots']:.2f}, postgres {shares['postgres']:.2f},"
        f" haproxy {shares['haproxy']:.2f}, fake api {shares['fake api']:.2f},"
        f" else {others:.2f}",
    )
    ok = await verify(cluster.url, traffic)
    return Figures(count, throughput, p99, bot_cpu_ms, fake_cpu_ms, shares, ok)


async def verify(url: str, traffic: Traffic) -> bool:
    connection = await asyncpg.connect(url)
    try:
        count = await connection.fetchval("SELECT count(*) FROM transactions")
        violations = await check_ledger(connection)
    finally:
        await connection.close()
    checks = (
        ("one transaction per line", count == traffic.sent, f"{count} for {traffic.sent}"),
        ("finance-bot check", not violations, f"{len(violations)} violations"),
        ("every reply its line's", not traffic.problems, f"{len(traffic.problems)} unexpected"),
    )
    for label, passed, detail in checks:
        line(f"  {label}", "ok" if passed else "WRONG", detail)
    for problem in traffic.problems[:5]:
        print(f"    {problem}", flush=True)
    return all(passed for _, passed, _ in checks)


async def benchmark_replicas(server: Server, options: ReplicaOptions, work: Path) -> bool:
    figures = [await one_count(server, options, count, work) for count in options.replicas]
    heading("Summary (webhook mode behind HAProxy)")
    print(
        f"  {'replicas':>8} {'msg/s':>8} {'p99 ms':>8} {'bot CPU ms/msg':>15}"
        f" {'fake ms/msg':>12} {'bots':>6} {'pg':>6} {'haproxy':>8} {'fake':>6} {'machine':>8}",
        flush=True,
    )
    for f in figures:
        s = f.shares
        print(
            f"  {f.replicas:>8} {f.throughput:>8.1f} {f.p99_ms:>8.1f} {f.bot_cpu_ms:>15.2f}"
            f" {f.fake_cpu_ms:>12.2f} {s['bots']:>6.2f} {s['postgres']:>6.2f} {s['haproxy']:>8.2f}"
            f" {s['fake api']:>6.2f} {s['machine']:>8.2f}",
            flush=True,
        )
    best = max(figures, key=lambda f: f.throughput)
    # Where the ceiling is: the CPU every message costs along its whole path (bots, their
    # PostgreSQL backends, HAProxy, the fake Bot API), against the machine's CPUs.
    cpus = os.cpu_count() or 1
    path = ("bots", "postgres", "haproxy", "fake api")
    for f in figures:
        per_message = sum(f.shares[who] for who in path) / f.throughput * 1000
        bots = f.shares["bots"] / f.throughput * 1000
        elsewhere = f.shares["machine"] - sum(f.shares[who] for who in path)
        line(
            f"  {f.replicas} replica(s): CPU per message, whole path",
            f"{per_message:8.2f} ms",
            f"bots {bots:.2f} ms: at most {cpus * 1000 / per_message:.0f} msg/s on {cpus} CPUs"
            f" with nothing else running (other processes used {elsewhere:.2f} CPUs)",
        )
    line(
        f"target >= {THROUGHPUT_TARGET:g} msg/s at the best count",
        f"{best.throughput:8.1f} /s",
        f"{best.replicas} replica(s): {verdict(best.throughput >= THROUGHPUT_TARGET)}",
    )
    return all(f.ok for f in figures)
