"""`finance-bot restore FILE` (docs/adr/0006, docs/adr/0009).

Everything that can be checked without the database is checked first — the file is there,
is encrypted when a passphrase is configured, decrypts and authenticates under it, and
pg_restore can read it to the end — then that the database is empty; only then does
pg_restore run, in one transaction, as the owner role, never a superuser: SQL planted in a
file (`COPY ... TO PROGRAM`, a function that reads the server's files) fails for lack of
the privilege. Then the migration runner brings the schema up to date and sets every
role's grants, and `check` re-verifies every ledger invariant on what was loaded.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from pathlib import Path

import asyncpg

from finance_bot.adapters.backup.crypto import BackupDecryptionError, decrypt_stream, is_encrypted
from finance_bot.adapters.backup.storage import StorageError, download
from finance_bot.adapters.backup.tools import (
    BackupError,
    BackupOptions,
    client_tool,
    libpq_address,
    new_temporary,
    remove_all,
    run_tool,
    verify_archive,
)
from finance_bot.adapters.postgres.check import Violation, check_ledger
from finance_bot.adapters.postgres.migrator import migrate
from finance_bot.adapters.postgres.roles import OWNER, login_for

log = logging.getLogger(__name__)

_ARCHIVE_MAGIC = b"PGDMP"  # how every pg_dump custom-format archive begins


async def restore(
    url: str, source: str, options: BackupOptions, *, allow_unencrypted: bool = False
) -> list[Violation]:
    """Load the backup `source` (a path, or s3://bucket/key) into the empty database at
    `url`, as the owner role; return what `check` finds in it (nothing when sound).

    Raises BackupError, with the database untouched, when the file is missing, not a
    whole backup, encrypted under another passphrase, not encrypted although a passphrase
    is set (unless `allow_unencrypted`), or the database is not empty."""
    try:
        url = await _restore(url, source, options, allow_unencrypted=allow_unencrypted)
    except (OSError, asyncpg.PostgresError) as error:  # unreachable server, unwritable dir
        raise BackupError(f"{type(error).__name__}: {error}") from error
    log.info("backup restored", extra={"path": Path(source).name})
    connection = await asyncpg.connect(url)
    try:
        return await check_ledger(connection)
    finally:
        await connection.close()


async def _restore(
    url: str, source: str, options: BackupOptions, *, allow_unencrypted: bool
) -> str:
    options.directory.mkdir(parents=True, exist_ok=True)
    temporaries: list[Path] = []
    try:
        local = await asyncio.to_thread(_fetch, source, options, temporaries)
        archive = await asyncio.to_thread(
            _readable_archive, local, options, temporaries, allow_unencrypted
        )
        pg_restore = client_tool("pg_restore", options.client_bin_dir)
        connection = await asyncpg.connect(url)
        try:
            await _require_empty(connection)
        finally:
            await connection.close()
        url = await login_for(url, OWNER)
        address, env = libpq_address(url)
        # --single-transaction: a failure leaves the database as empty as it was.
        # --no-owner, --no-privileges: the owner role owns everything, as after `migrate`,
        # and the grants are the migration runner's, not whatever the file says.
        # No --disable-triggers: pg_dump puts triggers (and foreign keys) after the data,
        # so the ledger's append-only and balance triggers never see the COPY, and the
        # cached balances and totals come back exactly as they were dumped.
        arguments = [
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "--no-password",
            f"--dbname={address}",
            str(archive),
        ]
        await asyncio.to_thread(run_tool, pg_restore, arguments, env, "pg_restore")
    finally:
        remove_all(temporaries)
    connection = await asyncpg.connect(url)
    try:
        await migrate(connection)  # a dump of an older schema is brought up to date
    finally:
        await connection.close()
    return url


def _fetch(source: str, options: BackupOptions, temporaries: list[Path]) -> Path:
    if not source.startswith("s3://"):
        path = Path(source)
        if not path.is_file():
            raise BackupError(f"no backup file at {path}")
        return path
    bucket, _, key = source.removeprefix("s3://").partition("/")
    if options.s3 is None or not bucket or not key:
        raise BackupError(
            "restoring from s3://bucket/key needs BACKUP_S3_BUCKET and the storage's "
            "endpoint and keys (BACKUP_S3_*)"
        )
    downloaded = new_temporary(options.directory, temporaries)
    try:
        download(key, downloaded, replace(options.s3, bucket=bucket))
    except StorageError as error:
        raise BackupError(str(error)) from error
    return downloaded


def _readable_archive(
    local: Path, options: BackupOptions, temporaries: list[Path], allow_unencrypted: bool
) -> Path:
    """A pg_dump archive proven whole: decrypted (and so authenticated) if need be, then
    read end to end by pg_restore."""
    with local.open("rb") as file:
        head = file.read(16)
    if options.passphrase is not None and not is_encrypted(head) and not allow_unencrypted:
        # Every backup made with the passphrase is encrypted: a plain file is someone
        # else's, and a restore runs the SQL inside it.
        raise BackupError(
            f"{local.name} is not encrypted, but BACKUP_PASSPHRASE is set: backups made "
            "here are encrypted. If you trust this file, restore it with --allow-unencrypted"
        )
    if is_encrypted(head):
        if options.passphrase is None:
            raise BackupError(f"{local.name} is encrypted: set BACKUP_PASSPHRASE to restore it")
        # Decrypted to a file, not piped into pg_restore: a bad chunk at the end must be
        # found before the first row reaches the database.
        archive = new_temporary(options.directory, temporaries)
        try:
            with local.open("rb") as source, archive.open("wb") as plain:
                decrypt_stream(source, plain, options.passphrase)
        except BackupDecryptionError as error:
            raise BackupError(f"{local.name}: {error}") from error
    elif head.startswith(_ARCHIVE_MAGIC):
        archive = local
    else:
        raise BackupError(
            f"{local.name} is neither an encrypted finance-bot backup nor a pg_dump archive"
        )
    verify_archive(archive, options.client_bin_dir, local.name)
    return archive


async def _require_empty(connection: asyncpg.Connection) -> None:
    found = await connection.fetch(
        r"""
        SELECT n.nspname || '.' || c.relname AS name
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
           AND n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
         ORDER BY 1 LIMIT 5
        """
    )
    if found:
        names = ", ".join(row["name"] for row in found)
        raise BackupError(
            f"refusing to restore: the target database is not empty (it has {names}); "
            "restore into a newly created, empty database"
        )
