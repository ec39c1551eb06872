"""The bot exports exactly the metrics the alert rules and dashboards read, and promtool's
linter accepts its exposition."""

from __future__ import annotations

import subprocess

from prometheus_client import generate_latest

from finance_bot.adapters.observability.metrics import BotMetrics
from tests.deploy.tools import BOT_METRICS, tool


def test_the_bot_exports_the_metrics_of_the_contract() -> None:
    families = set()
    for family in BotMetrics().registry.collect():
        families.add(f"{family.name}_total" if family.type == "counter" else family.name)
    assert families == BOT_METRICS


def test_promtool_lints_the_exposition_clean() -> None:
    metrics = BotMetrics()
    metrics.ledger_written("expense")
    metrics.telegram_failed("sendMessage", "network")
    metrics.invariants_checked(0, 0.25)
    result = subprocess.run(
        [tool("promtool"), "check", "metrics"],
        input=generate_latest(metrics.registry).decode(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
