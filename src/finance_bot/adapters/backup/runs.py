"""`finance-bot backup`: one backup run, from pg_dump to pruning (docs/adr/0006).

A backup is a `pg_dump` custom-format archive named by its UTC start time, read back end
to end, optionally encrypted (crypto), renamed into place only when whole,
optionally copied to S3-compatible storage (storage), recorded in `backup_runs` for
the "last good backup" metric — and only then are old backups pruned, so that a job that
keeps failing never eats the backups that are left. `restore` is in restoring.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from finance_bot.adapters.backup.crypto import encrypt_stream
from finance_bot.adapters.backup.storage import StorageError, upload
from finance_bot.adapters.backup.tools import (
    TEMP_PREFIX,
    TEMP_SUFFIX,
    BackupError,
    BackupOptions,
    client_tool,
    fsync,
    fsync_directory,
    libpq_address,
    new_temporary,
    remove_all,
    run_tool,
    verify_archive,
)
from finance_bot.adapters.postgres.backup_log import record_backup_run
from finance_bot.adapters.postgres.roles import DUMP, login_for

log = logging.getLogger(__name__)

_NAME = re.compile(r"^finance-bot-(\d{8}T\d{6}Z)\.dump(?:\.enc)?$")
_STAMP = "%Y%m%dT%H%M%SZ"
_STALE_TEMP_AGE = timedelta(days=1)  # far longer than any backup run takes
# How long pg_dump waits for a table's lock at its start. The bot's own role may lock a
# table it deletes from against everyone; waited for without end, a backup would hang
# with nothing failed and nothing retried. A migration holds its locks for seconds.
_LOCK_WAIT = "2min"


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size_bytes: int
    finished_at: datetime
    uploaded_to: str | None  # s3://bucket/key
    pruned: tuple[Path, ...]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def backup_file_name(started_at: datetime, *, encrypted: bool) -> str:
    stamp = started_at.astimezone(UTC).strftime(_STAMP)
    return f"finance-bot-{stamp}.dump" + (".enc" if encrypted else "")


def backup_time(file_name: str) -> datetime | None:
    """The UTC time in a finance-bot backup's name, or None for any other name."""
    match = _NAME.match(file_name)
    if match is None:
        return None
    try:
        return datetime.strptime(match[1], _STAMP).replace(tzinfo=UTC)
    except ValueError:  # shaped like a time but not one, such as month 13
        return None


async def run_backup(
    url: str, options: BackupOptions, *, clock: Callable[[], datetime] = _utc_now
) -> BackupResult:
    """Dump the database at `url` into options.directory, then upload, record and prune.
    As the dump role: a superuser's `url` sets the roles up and is used for nothing else."""
    with contextlib.suppress(OSError, asyncpg.PostgresError):
        url = await login_for(url, DUMP)  # if the server cannot be reached, pg_dump says why
    started = clock()
    name = backup_file_name(started, encrypted=options.passphrase is not None)
    try:
        path = await asyncio.to_thread(_write_backup, url, options, name)
    except OSError as error:  # a missing or read-only BACKUP_DIR, a full disk
        raise BackupError(f"backup could not be written: {error}") from error
    size = path.stat().st_size
    uploaded_to = None
    if options.s3 is not None:
        try:
            key = await asyncio.to_thread(upload, path, options.s3)
        except StorageError as error:
            raise BackupError(f"{error}; the local backup {path} is kept") from error
        uploaded_to = options.s3.url_for(key)
    finished = clock()
    try:
        connection = await asyncpg.connect(url)
        try:
            await record_backup_run(connection, finished, path.name, size, uploaded_to is not None)
        finally:
            await connection.close()
    except (OSError, asyncpg.PostgresError) as error:
        raise BackupError(
            f"backup {path} was written but could not be recorded in backup_runs "
            f"(is the schema migrated? `finance-bot migrate`): {type(error).__name__}: {error}"
        ) from error
    pruned = await asyncio.to_thread(prune, options.directory, options.keep_days, finished)
    log.info(
        "backup written",
        extra={"path": path.name, "seconds": round((finished - started).total_seconds(), 1)},
    )
    return BackupResult(path, size, finished, uploaded_to, tuple(pruned))


def _write_backup(url: str, options: BackupOptions, name: str) -> Path:
    directory = options.directory
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / name
    if final.exists():
        raise BackupError(f"{final} already exists; not overwriting a backup")
    address, env = libpq_address(url)
    temporaries: list[Path] = []
    try:
        plain = new_temporary(directory, temporaries)
        # pg_dump writes a file rather than a pipe: a seekable archive records where each
        # table's data starts, which is what lets pg_restore notice a file cut short.
        pg_dump = client_tool("pg_dump", options.client_bin_dir)
        # Row-level security on (docs/adr/0021): the dump role's own policy shows it every
        # household's rows; off, pg_dump would stop at the first table with policies.
        # -B (--no-blobs, --no-large-objects since PostgreSQL 17): finance-bot keeps nothing
        # in large objects, yet any role may make one that only it can read; one made with
        # the bot's credentials would fail every dump for lack of the right to read it.
        arguments = [
            "--format=custom",
            "--enable-row-security",
            "-B",
            f"--lock-wait-timeout={_LOCK_WAIT}",
            "--no-password",
            f"--file={plain}",
            f"--dbname={address}",
        ]
        run_tool(pg_dump, arguments, env, "pg_dump")
        verify_archive(plain, options.client_bin_dir, name)
        written = plain
        if options.passphrase is not None:
            written = new_temporary(directory, temporaries)
            with plain.open("rb") as source, written.open("wb") as sealed:
                encrypt_stream(source, sealed, options.passphrase)
        fsync(written)
        # Atomic within one file system: the name appears with the whole file or not at all.
        os.replace(written, final)
        fsync_directory(directory)
    finally:
        remove_all(temporaries)
    return final


def prune(directory: Path, keep_days: int, now: datetime) -> list[Path]:
    """Delete finance-bot backups whose name says they are more than `keep_days` old, and
    work files a crashed run left behind; never anything else.

    Age comes from the time in the name, not the file's mtime: copying, downloading or
    restoring a file from elsewhere resets its mtime, and the name is what a person sees."""
    if keep_days < 1:
        raise ValueError("keep_days must be at least 1")
    cutoff = now - timedelta(days=keep_days)
    removed: list[Path] = []
    for entry in sorted(directory.iterdir()):
        if entry.is_symlink() or not entry.is_file():
            continue
        made = backup_time(entry.name)
        if (made is not None and made < cutoff) or _is_stale_temporary(entry):
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def _is_stale_temporary(entry: Path) -> bool:
    if not (entry.name.startswith(TEMP_PREFIX) and entry.name.endswith(TEMP_SUFFIX)):
        return False
    # By mtime: a work file has no time in its name, and one still being written is recent.
    return time.time() - entry.stat().st_mtime > _STALE_TEMP_AGE.total_seconds()
