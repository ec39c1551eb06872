"""The repository's deployment files, and the command-line tools that check them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

# The bot's metrics: the contract in docs/adr/0007-observability.md.
BOT_METRICS = frozenset(
    {
        "finance_bot_updates_total",
        "finance_bot_handler_latency_seconds",
        "finance_bot_ledger_writes_total",
        "finance_bot_ledger_voids_total",
        "finance_bot_telegram_api_errors_total",
        "finance_bot_updates_skipped_total",
        "finance_bot_polling_lag_seconds",
        "finance_bot_invariant_check_ok",
        "finance_bot_invariant_check_violations",
        "finance_bot_invariant_check_last_run_timestamp_seconds",
        "finance_bot_invariant_check_duration_seconds",
        "finance_bot_last_backup_timestamp_seconds",
        "finance_bot_fx_rates_fetches_total",
        "finance_bot_fx_rates_last_success_timestamp_seconds",
        "finance_bot_build_info",
    }
)


def bot_metric_names(expr: str) -> set[str]:
    """The finance_bot_* metrics an expression reads, histogram series named by their family."""
    names = set(re.findall(r"\bfinance_bot_[a-z_]+", expr))
    return {n if n in BOT_METRICS else re.sub(r"_(bucket|sum|count)$", "", n) for n in names}


def tool(name: str) -> str:
    """The path of a command-line tool, on PATH or beside this Python.

    The Python tools come with the dev extra; promtool is Debian's `prometheus` package,
    which a laptop with only Python lacks. There a missing tool skips the test, with the
    command that brings it; in CI (CI set, and .ci/run installs everything) it fails.
    """
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        message = f"{name} is not installed (see scripts/validate-deploy.sh for how CI gets it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def run_tool(*arguments: str | Path) -> subprocess.CompletedProcess[str]:
    command = [tool(str(arguments[0])), *map(str, arguments[1:])]
    return subprocess.run(
        command, capture_output=True, text=True, check=False, cwd=ROOT, timeout=120
    )
