"""The deployment's shell scripts are executable and pass shellcheck."""

from __future__ import annotations

import os

import pytest

from tests.deploy.tools import DEPLOY, ROOT, run_tool

SCRIPTS = sorted(
    [
        *DEPLOY.glob("postgres/initdb/*.sh"),
        DEPLOY / "wait-healthy.sh",
        DEPLOY / "fava" / "start.sh",
        ROOT / "scripts" / "validate-deploy.sh",
    ]
)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_is_executable(script: os.PathLike[str]) -> None:
    # The postgres image runs an executable init script in its own shell; one without the
    # bit would be sourced into the image's entrypoint instead.
    assert os.access(script, os.X_OK)


def test_shellcheck_finds_nothing() -> None:
    result = run_tool("shellcheck", *SCRIPTS)
    assert result.returncode == 0, result.stdout + result.stderr
