"""`finance-bot restore FILE` (docs/adr/0006).

Everything that can be checked without the database is checked first — the file is there,
decrypts and authenticates under the passphrase, and pg_restore can read it to the end —
then that the database is empty; only then does pg_restore run, in one transaction, and
`check` re-verifies every ledger invariant on what it loaded.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import replace
from pathlib import Path

import asyncpg

from finance_bot.adapters.backup_crypto import BackupDecryptionError, decrypt_stream, is_encrypted
from finance_bot.adapters.backup_storage import StorageError, download
from finance_bot.adapters.backup_tools import (
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

log = logging.getLogger(__name__)

_ARCHIVE_MAGIC = b"PGDMP"  # how every pg_dump custom-format archive begins
_GRANTEE = re.compile(r'^GRANT .+ TO ("(?:[^"]|"")+"|[^\s";]+)(?: WITH GRANT OPTION)?;$', re.M)


async def restore(url: str, source: str, options: BackupOptions) -> list[Violation]:
    """Load the backup `source` (a path, or s3://bucket/key) into the empty database at
    `url`; return what `check` finds in it (nothing when the ledger is sound).

    Raises BackupError, with the database untouched, when the file is missing, not a
    whole backup, encrypted under another passphrase, or the database is not empty."""
    try:
        await _restore(url, source, options)
    except (OSError, asyncpg.PostgresError) as error:  # unreachable server, unwritable dir
        raise BackupError(f"{type(error).__name__}: {error}") from error
    log.info("backup restored", extra={"path": Path(source).name})
    connection = await asyncpg.connect(url)
    try:
        return await check_ledger(connection)
    finally:
        await connection.close()


async def _restore(url: str, source: str, options: BackupOptions) -> None:
    options.directory.mkdir(parents=True, exist_ok=True)
    temporaries: list[Path] = []
    try:
        local = await asyncio.to_thread(_fetch, source, options, temporaries)
        archive = await asyncio.to_thread(_readable_archive, local, options, temporaries)
        pg_restore = client_tool("pg_restore", options.client_bin_dir)
        grantees = await asyncio.to_thread(_grantees, pg_restore, archive, temporaries, options)
        connection = await asyncpg.connect(url)
        try:
            await _require_empty(connection)
            await _create_missing_roles(connection, grantees)
        finally:
            await connection.close()
        address, env = libpq_address(url)
        # --single-transaction: a failure leaves the database as empty as it was.
        # --no-owner: the restoring role owns everything, as after `migrate`; the owner on
        # the old server need not exist here. Privileges are kept: the reporting views'
        # grants to the read-only role are part of the schema (migration 0003).
        # No --disable-triggers: pg_dump puts triggers (and foreign keys) after the data,
        # so the ledger's append-only and balance triggers never see the COPY, and the
        # cached balances and totals come back exactly as they were dumped.
        arguments = [
            "--no-owner", "--exit-on-error", "--single-transaction", "--no-password",
            f"--dbname={address}", str(archive),
        ]  # fmt: skip
        await asyncio.to_thread(run_tool, pg_restore, arguments, env, "pg_restore")
    finally:
        remove_all(temporaries)


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


def _readable_archive(local: Path, options: BackupOptions, temporaries: list[Path]) -> Path:
    """A pg_dump archive proven whole: decrypted (and so authenticated) if need be, then
    read end to end by pg_restore."""
    with local.open("rb") as file:
        head = file.read(16)
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


def _grantees(
    pg_restore: Path, archive: Path, temporaries: list[Path], options: BackupOptions
) -> set[str]:
    """The roles the archive grants privileges to (the reporting role, for one)."""
    entries = run_tool(pg_restore, ["--list", str(archive)], None, "pg_restore --list")
    acl_entries = [line for line in entries.splitlines() if " ACL " in line]
    if not acl_entries:
        return set()
    listing = new_temporary(options.directory, temporaries)
    listing.write_text("\n".join(acl_entries) + "\n", encoding="utf-8")
    script = run_tool(
        pg_restore, [f"--use-list={listing}", "--file=-", str(archive)], None, "pg_restore"
    )
    names = set()
    for quoted in _GRANTEE.findall(script):
        if quoted.startswith('"'):
            names.add(quoted[1:-1].replace('""', '"'))
        elif quoted.upper() != "PUBLIC":
            names.add(quoted)
    return names


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


async def _create_missing_roles(connection: asyncpg.Connection, names: set[str]) -> None:
    """Roles belong to the server, not the database, so a dump carries grants to roles a
    new server lacks. Create them the way migration 0003 creates the reporting role: with
    no login and no privileges beyond the grants the restore brings back."""
    if not names:
        return
    rows = await connection.fetch(
        "SELECT rolname FROM pg_roles WHERE rolname = ANY($1::text[])", sorted(names)
    )
    for name in sorted(names - {row["rolname"] for row in rows}):
        quoted = '"' + name.replace('"', '""') + '"'
        try:
            await connection.execute(f"CREATE ROLE {quoted} NOLOGIN")
        except (asyncpg.DuplicateObjectError, asyncpg.UniqueViolationError):
            pass  # created meanwhile by someone else: just as good
        except asyncpg.InsufficientPrivilegeError as error:
            raise BackupError(
                f"the backup grants privileges to role {name}, which this server lacks and "
                f"this user may not create; create it (CREATE ROLE {quoted} NOLOGIN) and "
                "run the restore again"
            ) from error
        log.info("role created for the restore's grants")
