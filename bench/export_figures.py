"""The export's figures for bench/ledger.py --export: each format of a loaded household
written to a file, timed, with the peak memory of the process that wrote it, and hledger's
own time to report on the journal beside the bot's month report on the database.

Each export runs in a process of its own (this file run as a script), so that its peak
resident memory is the export's and not the benchmark's: ``python bench/export_figures.py
URL HOUSEHOLD FORMAT FILE`` prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from finance_bot.adapters.export.files import FORMATS, open_text, writer
from finance_bot.adapters.postgres.export import PostgresExport
from finance_bot.adapters.postgres.unit_of_work import create_pool
from finance_bot.application.export import export_books

THROUGHPUT_TARGET = 20_000  # transactions per second, each format
MEMORY_TARGET_MB = 100.0  # peak resident memory of the exporting process


def _peak_mb() -> float:
    """The process's own peak resident memory. Linux's ru_maxrss would carry the parent's
    peak over the fork; VmHWM belongs to this program's memory alone."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    kilobytes = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))
    return int(kilobytes) / 1024


async def _export_one(url: str, household: int, name: str, output: Path) -> dict[str, float]:
    pool = await create_pool(url, min_size=1, max_size=1)
    try:
        ready_mb = _peak_mb()  # Python, asyncpg and the bot's modules, before any row
        started, cpu_started = time.perf_counter(), time.process_time()
        with open_text(output) as out:
            exported = await export_books(
                PostgresExport(pool), household, None, [writer(name, out)]
            )
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        out_size = os.path.getsize(output)  # noqa: ASYNC240 - after the work, once
    finally:
        await pool.close()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "transactions": exported.transactions,
        "postings": exported.postings,
        "ready_mb": ready_mb,
        "peak_mb": _peak_mb(),
        "bytes": out_size,
    }


def _run_worker(url: str, household: int, name: str, output: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, url, str(household), name, str(output)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the {name} export failed:\n{done.stderr}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def _timed_tool(*command: str) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return seconds


async def export_figures(
    url: str,
    household: int,
    month: str,
    month_report: Callable[[], Awaitable[object]],
) -> None:
    # Here, not at the top: the exporting process must not load what the report needs
    # (common imports the bot's composition root, aiogram and all).
    from common import Run, heading, latency_line, line, verdict

    heading("4. Export (each format to a file, in a process of its own)")
    with tempfile.TemporaryDirectory(prefix="finance-bench-export-") as folder:
        journal: Path | None = None
        for name, suffix in FORMATS:
            output = Path(folder) / f"books{suffix}"
            figures = await asyncio.to_thread(_run_worker, url, household, name, output)
            rate = figures["transactions"] / max(figures["seconds"], 1e-9)
            line(
                f"export {name}",
                f"{rate:8.0f} tx/s",
                f"{figures['transactions']:.0f} tx, {figures['postings']:.0f} postings in "
                f"{figures['seconds']:.2f} s, {figures['bytes'] / 2**20:.1f} MiB; "
                f"target >= {THROUGHPUT_TARGET}: {verdict(rate >= THROUGHPUT_TARGET)}",
            )
            # On a busy machine the wall clock says more about the neighbours than the code.
            cpu = figures["cpu_seconds"]
            line(
                "  the exporting process's own CPU time",
                f"{cpu:8.2f} s",
                f"{figures['transactions'] / max(cpu, 1e-9):.0f} tx per CPU second",
            )
            peak = figures["peak_mb"]
            line(
                "  peak resident memory",
                f"{peak:8.1f} MB",
                f"{figures['ready_mb']:.1f} MB before the first row; "
                f"target <= {MEMORY_TARGET_MB:g}: {verdict(peak <= MEMORY_TARGET_MB)}",
            )
            if name == "ledger":
                journal = output
        hledger = shutil.which("hledger")
        if hledger is None or journal is None:
            line("hledger balance", "not installed", "apt-get install hledger")
        else:
            whole = _timed_tool(hledger, "-f", str(journal), "balance")
            one_month = _timed_tool(hledger, "-f", str(journal), "balance", "-p", month, "--cost")
            line("hledger balance, the whole journal", f"{whole * 1000:8.0f} ms", "one run")
            line(f"hledger balance -p {month} --cost", f"{one_month * 1000:8.0f} ms", "one run")
        runs = []
        for _ in range(20):
            started = time.perf_counter()
            await month_report()
            runs.append(time.perf_counter() - started)
        latency_line(f"the bot's month report {month}, same data", Run(len(runs), sum(runs), runs))


if __name__ == "__main__":
    url, household, name, output = sys.argv[1:5]
    result = asyncio.run(_export_one(url, int(household), name, Path(output)))
    print(json.dumps(result))
