"""deploy/wait-healthy.sh, which `make deploy` runs after `docker compose up -d`, against a
stand-in for `docker compose ps` (no Docker engine is needed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.deploy.tools import DEPLOY

SCRIPT = DEPLOY / "wait-healthy.sh"
UP = [
    "postgres|running|healthy|0",
    "migrate|exited||0",
    "bot|running|healthy|0",
    "backup|running|healthy|0",
    "prometheus|running|healthy|0",
    "grafana|running|healthy|0",
]


def wait(tmp_path: Path, lines: list[str], timeout: int = 0) -> subprocess.CompletedProcess[str]:
    (tmp_path / "ps.txt").write_text("".join(f"{line}\n" for line in lines))
    docker = tmp_path / "docker"
    docker.write_text(f'#!/bin/sh\ncat "{tmp_path / "ps.txt"}"\n')
    docker.chmod(0o755)
    return subprocess.run(
        [str(SCRIPT), str(timeout)],
        env={"PATH": "/usr/bin:/bin", "COMPOSE": f"{docker} compose"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_everything_healthy_and_the_migration_done(tmp_path: Path) -> None:
    result = wait(tmp_path, UP)
    assert result.returncode == 0, result.stderr
    assert "all services are up" in result.stdout


def test_a_failed_migration_fails_at_once(tmp_path: Path) -> None:
    result = wait(tmp_path, [*UP[:1], "migrate|exited||1", *UP[2:]], timeout=60)
    assert result.returncode == 1
    assert "migrate: exited with status 1" in result.stderr


@pytest.mark.parametrize(
    ("line", "reported"),
    [
        ("bot|running|starting|0", "bot: starting"),
        ("bot|running|unhealthy|0", "bot: unhealthy"),
        ("bot|restarting||1", "bot: restarting"),
    ],
)
def test_a_service_not_yet_healthy_is_named_when_time_runs_out(
    tmp_path: Path, line: str, reported: str
) -> None:
    result = wait(tmp_path, [line if x.startswith("bot|") else x for x in UP])
    assert result.returncode == 1
    assert reported in result.stderr


def test_a_long_running_service_that_exited_is_a_failure(tmp_path: Path) -> None:
    result = wait(tmp_path, [*UP[:2], "bot|exited||0", *UP[3:]], timeout=60)
    assert result.returncode == 1
    assert "bot: exited with status 0 but should keep running" in result.stderr


def test_no_containers_at_all(tmp_path: Path) -> None:
    result = wait(tmp_path, [])
    assert result.returncode == 1
    assert "no containers" in result.stderr
