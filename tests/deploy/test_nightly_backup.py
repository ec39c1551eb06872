"""deploy/backup/nightly_backup.py: the backup service's daily schedule, its health, its stop."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, time
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

import pytest

from tests.deploy.tools import DEPLOY

SCRIPT = DEPLOY / "backup" / "nightly_backup.py"
KYIV = ZoneInfo("Europe/Kyiv")
AT = time(3, 15)


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nightly_backup", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


nightly = load()


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Winter, UTC+2: 03:15 in Kyiv is 01:15 UTC.
        (utc(2026, 1, 10, 0, 0), utc(2026, 1, 10, 1, 15)),
        (utc(2026, 1, 10, 1, 15), utc(2026, 1, 11, 1, 15)),  # just ran: tomorrow
        (utc(2026, 1, 10, 12, 0), utc(2026, 1, 11, 1, 15)),
        # Summer, UTC+3.
        (utc(2026, 7, 1, 0, 0), utc(2026, 7, 1, 0, 15)),
        # Clocks go forward at 03:00 on 29 March: 03:15 does not exist; it runs at 04:15
        # by the wall clock, once, and at 03:15 again the night after.
        (utc(2026, 3, 28, 12, 0), utc(2026, 3, 29, 1, 15)),
        (utc(2026, 3, 29, 1, 15), utc(2026, 3, 30, 0, 15)),
        # Clocks go back at 04:00 on 25 October: 03:15 happens twice; it runs once.
        (utc(2026, 10, 24, 12, 0), utc(2026, 10, 25, 0, 15)),
        (utc(2026, 10, 25, 0, 15), utc(2026, 10, 26, 1, 15)),
    ],
)
def test_next_run_is_the_next_0315_on_the_households_clock(
    now: datetime, expected: datetime
) -> None:
    assert nightly.next_run(now, AT, KYIV) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [("3:15", time(3, 15)), ("03:15", time(3, 15)), (" 23:59 ", time(23, 59))]
)
def test_backup_at_accepts_hours_and_minutes(text: str, expected: time) -> None:
    assert nightly.parse_at(text) == expected


@pytest.mark.parametrize("text", ["3", "25:00", "03:61", "quarter past three"])
def test_backup_at_refuses_anything_else(text: str) -> None:
    with pytest.raises(SystemExit, match="BACKUP_AT"):
        nightly.parse_at(text)


def test_health_follows_the_last_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nightly, "STATUS_FILE", tmp_path / "status.json")
    assert nightly.healthy()  # nothing ran yet
    runner = nightly.Runner((sys.executable, "-c", "raise SystemExit(3)"))
    assert runner.run_backup() == 3
    assert not nightly.healthy()
    assert nightly.main(["nightly_backup.py", "--health"]) == 1
    runner = nightly.Runner((sys.executable, "-c", "pass"))
    assert runner.run_backup() == 0
    assert nightly.healthy()
    assert nightly.main(["nightly_backup.py", "--health"]) == 0


def test_sigterm_stops_the_waiting_loop_at_once(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "BACKUP_AT": "03:15",
        "BOT_TIMEZONE": "Europe/Kyiv",
        "BACKUP_STATUS_FILE": str(tmp_path / "status.json"),
    }
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT)], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert "next backup scheduled" in first
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert "stopped" in process.stdout.read()
    finally:
        process.kill()
        process.wait()


def _writer(text: str, code: int = 0) -> tuple[str, ...]:
    """A stand-in for `finance-bot export ... --output FILE`: writes `text`, exits `code`."""
    script = (
        "import sys; open(sys.argv[-1], 'w').write(sys.argv[1]); raise SystemExit(int(sys.argv[2]))"
    )
    return (sys.executable, "-c", script, text, str(code))


def test_the_books_export_replaces_the_file_whole(tmp_path: Path) -> None:
    books = tmp_path / "books.beancount"
    books.write_text("last night's books")

    assert nightly.export_books(books, _writer("tonight's books"))
    assert books.read_text() == "tonight's books"

    # A failed export leaves last night's file as it was, and no half-written one beside it.
    assert not nightly.export_books(books, _writer("half of the", code=1))
    assert books.read_text() == "tonight's books"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["books.beancount"]


def test_the_export_command_is_the_beancount_export() -> None:
    assert nightly.EXPORT_COMMAND == ("finance-bot", "export", "--format", "beancount", "--output")
