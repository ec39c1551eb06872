"""Prometheus' configuration and alert rules: promtool accepts them, and every rule is tested.

promtool comes from Debian's `prometheus` package (see scripts/validate-deploy.sh).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tests.deploy.tools import BOT_METRICS, DEPLOY, ROOT, bot_metric_names, run_tool

PROMETHEUS = DEPLOY / "prometheus"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
TEST_FILES = sorted((PROMETHEUS / "tests").glob("*.yml"))
ALERTS: dict[str, dict[str, Any]] = {
    rule["alert"]: rule
    for path in RULE_FILES
    for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
    for rule in group["rules"]
    if "alert" in rule
}


def test_config_is_valid() -> None:
    result = run_tool("promtool", "check", "config", PROMETHEUS / "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(RULE_FILES)} rule files found" in result.stdout


def test_rules_are_valid() -> None:
    result = run_tool("promtool", "check", "rules", *RULE_FILES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_tests_pass() -> None:
    assert TEST_FILES
    result = run_tool("promtool", "test", "rules", *TEST_FILES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alerts_of_the_spec_exist() -> None:
    assert set(ALERTS) == {
        "FinanceBotDown",
        "FinanceBotHandlerErrors",
        "FinanceBotInvariantCheckFailed",
        "FinanceBotInvariantCheckStale",
        "FinanceBotBackupTooOld",
        "FinanceBotUpdatesSkipped",
        "FinanceBotFxRatesStale",
    }


@pytest.mark.parametrize("alert", sorted(ALERTS))
def test_every_alert_has_a_firing_and_a_quiet_test_case(alert: str) -> None:
    cases = [
        case
        for path in TEST_FILES
        for test in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]
        for case in test.get("alert_rule_test", [])
        if case["alertname"] == alert
    ]
    assert any(case.get("exp_alerts") for case in cases), f"{alert} is never seen firing"
    assert any(not case.get("exp_alerts") for case in cases), f"{alert} is never seen quiet"


@pytest.mark.parametrize("alert", sorted(ALERTS))
def test_every_alert_says_how_bad_and_where_the_runbook_is(alert: str) -> None:
    rule = ALERTS[alert]
    assert rule["labels"]["severity"] in ("critical", "warning")
    assert rule["annotations"]["summary"]
    assert rule["annotations"]["description"]
    page, _, anchor = rule["annotations"]["runbook"].partition("#")
    headings = re.findall(r"^#+ (.+)$", (ROOT / page).read_text(encoding="utf-8"), re.MULTILINE)
    slugs = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in headings}
    assert anchor in slugs, f"{page} has no heading for #{anchor}"


@pytest.mark.parametrize("alert", sorted(ALERTS))
def test_alerts_read_only_the_bots_metrics(alert: str) -> None:
    assert bot_metric_names(ALERTS[alert]["expr"]) <= BOT_METRICS


def test_prometheus_scrapes_the_bot_where_compose_serves_it() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text(encoding="utf-8"))
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "finance-bot"]
    # Every replica of the bot service, by Docker's DNS (the `replicas` profile runs several).
    assert job["dns_sd_configs"] == [
        {"names": ["bot"], "type": "A", "port": 9464, "refresh_interval": "30s"}
    ]
    assert "static_configs" not in job
    assert job.get("metrics_path", "/metrics") == "/metrics"
    assert config["rule_files"] == ["rules/*.yml"]
