"""The Grafana dashboards: sound structure, PromQL that promtool parses, SQL that runs as the
read-only role on real PostgreSQL, and data sources that provisioning defines."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import yaml

from tests.deploy.seed import Seeded, seed_household
from tests.deploy.tools import BOT_METRICS, DEPLOY, bot_metric_names, run_tool
from tests.support.household import ledger_world

GRAFANA = DEPLOY / "grafana"
DASHBOARD_FILES = sorted((GRAFANA / "dashboards").glob("*.json"))
DASHBOARDS: dict[str, dict[str, Any]] = {
    path.name: json.loads(path.read_text(encoding="utf-8")) for path in DASHBOARD_FILES
}
DATASOURCES: dict[str, str] = {
    source["uid"]: source["type"]
    for source in yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "datasources.yml").read_text(encoding="utf-8")
    )["datasources"]
}
PROMETHEUS, POSTGRES = "prometheus", "grafana-postgresql-datasource"


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))  # collapsed rows hold their panels
    return [p for p in found if p.get("type") != "row"]


def queries(kind: str) -> list[tuple[str, str, str, str]]:
    """(dashboard file, panel or variable, query format, query text) of every query of a kind."""
    found = []
    for name, dashboard in DASHBOARDS.items():
        for panel in panels(dashboard):
            for target in panel["targets"]:
                if target["datasource"]["type"] == kind:
                    text = target["expr"] if kind == PROMETHEUS else target["rawSql"]
                    found.append((name, panel["title"], target.get("format", ""), text))
        for variable in dashboard.get("templating", {}).get("list", []):
            if variable.get("type") == "query" and variable["datasource"]["type"] == kind:
                found.append((name, f"${variable['name']}", "table", variable["query"]))
    return found


def test_the_two_dashboards_of_the_spec() -> None:
    titles = {d["title"] for d in DASHBOARDS.values()}
    assert titles == {"Bot health", "Household finances"}
    uids = [d["uid"] for d in DASHBOARDS.values()]
    assert len(set(uids)) == len(uids)
    assert all(re.fullmatch(r"[a-z0-9-]{1,40}", uid) for uid in uids)


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_dashboard_structure(name: str) -> None:
    dashboard = DASHBOARDS[name]
    assert dashboard["title"]
    assert dashboard["uid"]
    assert isinstance(dashboard["schemaVersion"], int)
    assert "id" not in dashboard or dashboard["id"] is None  # provisioning assigns it
    found = panels(dashboard)
    assert found
    ids = [p["id"] for p in found]
    assert len(set(ids)) == len(ids), "panel ids repeat"
    for panel in found:
        where = f"{name}: panel {panel.get('title')!r}"
        assert panel["title"], where
        assert panel["type"], where
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"]), where
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, where
        source = panel["datasource"]
        assert DATASOURCES.get(source["uid"]) == source["type"], f"{where}: unknown data source"
        assert panel["targets"], f"{where}: no query"
        refs = [t["refId"] for t in panel["targets"]]
        assert len(set(refs)) == len(refs), where
        for target in panel["targets"]:
            assert target["datasource"] == source, where
            if source["type"] == PROMETHEUS:
                assert target["expr"].strip(), where
            else:
                assert target["rawQuery"] is True, where
                assert target["rawSql"].strip(), where
                assert target["format"] in ("time_series", "table"), where


def test_queries_read_the_reporting_views_and_the_bots_metrics() -> None:
    for name, title, _, sql in queries(POSTGRES):
        relations = re.findall(r"\b(?:FROM|JOIN)\s+([\w.]+)", sql, re.IGNORECASE)
        assert relations, f"{name} {title}: reads nothing"
        assert all(r.startswith("reporting.") for r in relations), f"{name} {title}: {relations}"
    for name, title, _, expr in queries(PROMETHEUS):
        unknown = bot_metric_names(expr) - BOT_METRICS
        assert not unknown, f"{name} {title}: not metrics of the bot: {unknown}"


GRAFANA_PROMQL_VARIABLES = {
    "$__rate_interval": "2m",
    "$__interval": "1m",
    "$__range": "1h",
}


def test_every_promql_expression_parses(tmp_path: Path) -> None:
    """promtool has no bare PromQL parser: each expression becomes a recording rule, and
    `promtool check rules` parses it."""
    rules = []
    for index, (name, title, _, expr) in enumerate(queries(PROMETHEUS)):
        filled = expr
        for variable, value in GRAFANA_PROMQL_VARIABLES.items():
            filled = filled.replace(variable, value)
        assert "$" not in filled, f"{name} {title}: unknown Grafana variable in {expr}"
        rules.append({"record": f"dashboard:query_{index}", "expr": filled})
    assert len(rules) >= 10
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = run_tool("promtool", "check", "rules", path)
    assert result.returncode == 0, result.stdout + result.stderr


def grafana_sql(sql: str, seeded: Seeded, now: datetime) -> str:
    """The query as Grafana would send it: macros and variables filled in."""
    start = "'2000-01-01T00:00:00Z'"
    end = f"'{now.strftime('%Y-%m-%dT%H:%M:%SZ')}'"
    sql = re.sub(r"\$__timeFilter\(([^)]*)\)", rf"\1 BETWEEN {start} AND {end}", sql)
    sql = sql.replace("$__timeFrom()", start).replace("$__timeTo()", end)
    sql = re.sub(r"\$\{household\}|\$household\b", str(seeded.household_id), sql)
    sql = re.sub(r"\$\{currency\}|\$currency\b", "UAH", sql)
    assert "$" not in sql, f"a Grafana macro or variable the test does not know: {sql}"
    return sql


@pytest.fixture
async def seeded(fresh_database_url: str) -> AsyncIterator[tuple[str, Seeded]]:
    async with ledger_world(fresh_database_url, max_size=2) as world:
        yield fresh_database_url, await seed_household(world, date.today())


@pytest.mark.postgres
async def test_every_sql_query_runs_as_the_read_only_role(seeded: tuple[str, Seeded]) -> None:
    url, household = seeded
    now = datetime.now(UTC) + timedelta(days=1)
    connection = await asyncpg.connect(url)
    try:
        for name, title, query_format, sql in queries(POSTGRES):
            async with connection.transaction():
                await connection.execute("SET LOCAL ROLE finance_bot_reader")
                rows = await connection.fetch(grafana_sql(sql, household, now))
            assert rows, f"{name} {title}: no rows from a household with data"
            if query_format == "time_series":
                columns = list(rows[0].keys())
                assert columns[0] == "time", f"{name} {title}: first column is not time"
                assert isinstance(rows[0]["time"], datetime)
                assert "value" in columns, f"{name} {title}"
                assert "metric" in columns, f"{name} {title}"
    finally:
        await connection.close()
