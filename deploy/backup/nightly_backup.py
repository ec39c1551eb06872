"""The compose stack's nightly backup: run `finance-bot backup` every day at BACKUP_AT.

It runs as the `backup` service, in the bot's own image: no cron daemon, no extra package.
Once a day, at BACKUP_AT (default 03:15) on the household's clock (BOT_TIMEZONE), it runs
`finance-bot backup`, which dumps the database, prunes old dumps, uploads when configured,
and records the run so that the bot can publish the time of the last good backup. A run that
fails is tried again after BACKUP_RETRY_MINUTES (default 30), at most BACKUP_RETRIES times
(default 2); then the next night comes. SIGTERM (`docker compose stop`) is passed on to a
backup in progress, which is then waited for.

After each good backup, and once at start when the file is missing, it writes the books
as beancount to BOOKS_EXPORT_FILE (unless empty) for the optional `fava` service:
`finance-bot export --format beancount` into a file beside it, then renamed over it, so that
Fava never reads half a file. A failed export is logged; it does not make the backup fail.

`nightly_backup.py --health` is the container's health check: healthy until a night's
backup has failed for good, and again after the next good one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from types import FrameType
from zoneinfo import ZoneInfo

STATUS_FILE = Path(os.environ.get("BACKUP_STATUS_FILE", "/tmp/finance-bot-nightly-backup.json"))
COMMAND = ("finance-bot", "backup")
EXPORT_COMMAND = ("finance-bot", "export", "--format", "beancount", "--output")


def log(level: str, message: str, **fields: object) -> None:
    record: dict[str, object] = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "level": level,
        "logger": "nightly_backup",
        "message": message,
        **fields,
    }
    print(json.dumps(record), flush=True)


def parse_at(text: str) -> time:
    """'03:15' -> 03:15; anything else is refused loudly at start, not at 3 a.m."""
    hours, _, minutes = text.strip().partition(":")
    try:
        return time(int(hours), int(minutes))
    except ValueError as error:
        raise SystemExit(f"BACKUP_AT must be HH:MM (24-hour), not {text!r}") from error


def next_run(now: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The first moment after `now` whose wall-clock time in `zone` is `at`, in UTC.

    On the night clocks go forward and `at` does not exist, the run happens an hour later
    by the wall clock; on the night they go back and `at` happens twice, it runs once.
    """
    local_now = now.astimezone(zone)
    day = local_now.date()
    while True:
        candidate = datetime.combine(day, at, tzinfo=zone).astimezone(UTC)
        if candidate > now:
            return candidate
        day += timedelta(days=1)


class Runner:
    def __init__(self, command: tuple[str, ...]) -> None:
        self.command = command
        self.stopping = threading.Event()
        self.child: subprocess.Popen[bytes] | None = None

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping.set()
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signum)

    def sleep_until(self, moment: datetime) -> bool:
        """Sleep until `moment`; False if asked to stop first."""
        while not self.stopping.is_set():
            remaining = (moment - datetime.now(UTC)).total_seconds()
            if remaining <= 0:
                return True
            self.stopping.wait(min(remaining, 60.0))
        return False

    def run_backup(self) -> int:
        started = datetime.now(UTC)
        self.child = subprocess.Popen(self.command)
        code = self.child.wait()
        self.child = None
        seconds = round((datetime.now(UTC) - started).total_seconds(), 1)
        write_status(ok=code == 0, exit_code=code)
        if code == 0:
            log("info", "backup done", duration_seconds=seconds)
        else:
            log("error", "backup failed", exit_code=code, duration_seconds=seconds)
        return code


def export_books(target: Path, command: tuple[str, ...] = EXPORT_COMMAND) -> bool:
    """Write the books to `target` whole or not at all; True when it was written."""
    partial = target.with_name(f".{target.name}.partial")
    started = datetime.now(UTC)
    code = subprocess.run([*command, str(partial)], check=False).returncode
    seconds = round((datetime.now(UTC) - started).total_seconds(), 1)
    if code != 0 or not partial.exists():
        partial.unlink(missing_ok=True)
        log("error", "books export failed", exit_code=code, duration_seconds=seconds)
        return False
    partial.replace(target)
    log("info", "books exported", duration_seconds=seconds)
    return True


def write_status(*, ok: bool, exit_code: int) -> None:
    status = {"finished_at": datetime.now(UTC).isoformat(), "ok": ok, "exit_code": exit_code}
    STATUS_FILE.write_text(json.dumps(status), encoding="utf-8")


def healthy() -> bool:
    try:
        status = json.loads(STATUS_FILE.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return True  # nothing has run yet
    except (OSError, ValueError):
        return False
    return bool(status.get("ok"))


def main(argv: list[str]) -> int:
    if argv[1:] == ["--health"]:
        return 0 if healthy() else 1
    if argv[1:]:
        print("usage: nightly_backup.py [--health]", file=sys.stderr)
        return 2
    at = parse_at(os.environ.get("BACKUP_AT", "03:15"))
    zone = ZoneInfo(os.environ.get("BOT_TIMEZONE", "Europe/Kyiv"))
    retries = int(os.environ.get("BACKUP_RETRIES", "2"))
    retry_after = timedelta(minutes=float(os.environ.get("BACKUP_RETRY_MINUTES", "30")))
    books = os.environ.get("BOOKS_EXPORT_FILE", "")
    runner = Runner(COMMAND)
    signal.signal(signal.SIGTERM, runner.on_signal)
    signal.signal(signal.SIGINT, runner.on_signal)
    if books and not Path(books).exists():
        export_books(Path(books))
    while True:
        moment = next_run(datetime.now(UTC), at, zone)
        log("info", "next backup scheduled", at=moment.isoformat())
        if not runner.sleep_until(moment):
            break
        for attempt in range(retries + 1):
            if runner.run_backup() == 0:
                if books and not runner.stopping.is_set():
                    export_books(Path(books))
                break
            if runner.stopping.is_set():
                break
            if attempt < retries:
                log("info", "backup will be retried", after_minutes=retry_after.seconds // 60)
                if not runner.sleep_until(datetime.now(UTC) + retry_after):
                    break
        if runner.stopping.is_set():
            break
    log("info", "nightly backup loop stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
