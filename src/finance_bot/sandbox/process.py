"""The bot as a separate OS process (`python -m finance_bot run`), for the end-to-end tests
that signal or kill it and for the chat benchmark that measures it.

Its settings come from the environment alone, and none of the caller's own may leak in.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from finance_bot.config import Settings

# Every variable the bot reads: the caller's shell may set any of them for itself.
BOT_VARIABLES = frozenset(name.upper() for name in Settings.model_fields)


class BotProcess:
    """One `python -m finance_bot run`, its stdout and stderr appended to a log file.

    The same object can be started again after it exited or was killed; every run appends
    to the same log, so the log is the whole story of the run.
    """

    log_errors = "strict"  # how log_text decodes what is not UTF-8

    def __init__(
        self,
        *,
        api_base: str,
        database_url: str,
        data_dir: Path,
        token: str,
        whitelist: Iterable[int],
        log_level: str = "INFO",
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self.log_path = data_dir / "bot.log"
        self.command = [sys.executable, "-m", "finance_bot", "run"]
        self.starts = 0
        self._process: subprocess.Popen[bytes] | None = None
        env = {k: v for k, v in os.environ.items() if k not in BOT_VARIABLES}
        self.env = env | {
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_API_BASE": api_base,
            "WHITELIST_TELEGRAM_IDS": ",".join(str(i) for i in whitelist),
            "DATABASE_URL": database_url,
            "DATA_DIR": str(data_dir),
            "BOT_TIMEZONE": "Europe/Kyiv",
            "BOT_LANGUAGE": "ru",
            "LOG_LEVEL": log_level,
            # Any free port: several bots (and other runs) may be up at once.
            "METRICS_HOST": "127.0.0.1",
            "METRICS_PORT": "0",
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        return None if self._process is None else self._process.poll()

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        assert not self.running(), "the bot is already running"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            # cwd: the data dir, so that no `.env` of the developer's is read.
            self._process = subprocess.Popen(
                self.command,
                cwd=self.data_dir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        self.starts += 1

    def stop_and_wait(self, timeout: float = 30.0) -> int | None:
        """SIGTERM and wait (blocking) for the exit; its code, None if it is still running."""
        process = self._process
        if process is None or process.poll() is not None:
            return None if process is None else process.returncode
        process.terminate()
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def log_tail(self, lines: int) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def ensure_dead(self) -> None:
        """Last-resort cleanup of this object's own process (never anyone else's)."""
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(10)

    def log_text(self) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors=self.log_errors)
