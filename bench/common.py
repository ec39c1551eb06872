"""What both benchmarks share: timed runs and their figures, the PostgreSQL server they use,
and the header and footer of their reports.

Imported by bench/ledger.py and bench/chat.py, which Python runs as scripts with bench/ on
the path, so this module is importable as ``common`` there.
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from finance_bot.bootstrap import run_async

# --------------------------------------------------------------------------- figures


@dataclass(frozen=True, slots=True)
class Run:
    """Some timed operations: how many, how long in all, and each one's latency."""

    count: int
    seconds: float
    latencies: list[float]
    cpu_seconds: float = 0.0  # this process's CPU time over the run, where it was measured

    @property
    def per_second(self) -> float:
        return self.count / self.seconds

    @property
    def cpu_ms_each(self) -> float:
        return self.cpu_seconds / self.count * 1000 if self.count else 0.0

    def __add__(self, other: Run) -> Run:
        return Run(
            self.count + other.count,
            self.seconds + other.seconds,
            self.latencies + other.latencies,
            self.cpu_seconds + other.cpu_seconds,
        )

    def percentile_ms(self, pct: float) -> float:
        """Nearest-rank percentile of the latencies, in milliseconds."""
        ordered = sorted(self.latencies)
        rank = max(1, math.ceil(pct / 100 * len(ordered)))
        return ordered[rank - 1] * 1000


@contextlib.contextmanager
def harness_gc_paused() -> Iterator[None]:
    """No garbage collection in this process (the fake Bot API and the people) while a phase
    is timed: a full collection here held every update and reply up to ~150 ms, which the
    figures would have charged to the bot. What exists before is frozen out of later
    collections; the cycles the phase makes wait for its end."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def verdict(passed: bool) -> str:
    return "PASS" if passed else "MISS"


def line(label: str, value: str, note: str = "") -> None:
    print(f"  {label:<44} {value:>14}  {note}".rstrip(), flush=True)


def latency_line(label: str, run: Run, target_ms: float | None = None) -> None:
    p50, p99 = run.percentile_ms(50), run.percentile_ms(99)
    note = f"max {max(run.latencies) * 1000:.2f} ms, n={len(run.latencies)}"
    if target_ms is not None:
        note = f"target p99 <= {target_ms:g} ms: {verdict(p99 <= target_ms)}  ({note})"
    line(label, f"p50 {p50:6.2f} ms  p99 {p99:6.2f} ms", note)


def heading(title: str) -> None:
    print(f"\n{title}", flush=True)


# --------------------------------------------------------------------------- the server


@dataclass(frozen=True, slots=True)
class Server:
    url: str  # any database on the server, for CREATE / DROP DATABASE
    embedded: bool

    def url_for(self, database: str) -> str:
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(path=f"/{database}"))


def shown_url(url: str) -> str:
    """The URL without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


async def describe_server(url: str) -> dict[str, str]:
    connection = await asyncpg.connect(url)
    try:
        settings = ("server_version", "fsync", "synchronous_commit", "shared_buffers", "jit")
        return {name: str(await connection.fetchval(f"SHOW {name}")) for name in settings}
    finally:
        await connection.close()


async def admin(url: str, sql: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


# --------------------------------------------------------------------------- the report


def print_header(server: Server, kind: str) -> None:
    """Which server and machine the figures below come from."""
    settings = run_async(describe_server(server.url))
    print(f"server:      {kind}: {shown_url(server.url)}")
    print(f"postgresql:  {settings.pop('server_version')}")
    print("settings:    " + ", ".join(f"{k}={v}" for k, v in settings.items()))
    print(
        f"machine:     {os.cpu_count()} CPUs, python {sys.version.split()[0]}, "
        f"load average {os.getloadavg()[0]:.2f} at the start",
        flush=True,
    )


def print_total(started: float) -> None:
    print(
        f"total time:  {time.perf_counter() - started:.1f} s, "
        f"load average {os.getloadavg()[0]:.2f} at the end",
        flush=True,
    )


async def backend_pids(url: str) -> list[int]:
    """The PostgreSQL backends serving the database of `url`, other than this query's own."""
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await connection.close()
    return [row["pid"] for row in rows]
