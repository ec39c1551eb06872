"""The database side of backups: the log of good runs, read for the "last backup" metric.

Kept apart from the backup machinery so the running bot reads it without importing
pg_dump wrappers, cryptography or the S3 client."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def record_backup_run(
    connection: asyncpg.Connection,
    finished_at: datetime,
    file_name: str,
    size_bytes: int,
    uploaded: bool,
) -> None:
    await connection.execute(
        "INSERT INTO backup_runs (finished_at, file_name, size_bytes, uploaded)"
        " VALUES ($1, $2, $3, $4)",
        finished_at,
        file_name,
        size_bytes,
        uploaded,
    )


async def last_good_backup_at(connection: asyncpg.Connection) -> datetime | None:
    """When the newest good backup finished, or None when there is none yet.

    Also None while backup_runs does not exist (a database restored from a dump older than
    the table and not yet migrated): a metric must not take the bot down."""
    if await connection.fetchval("SELECT to_regclass('backup_runs')") is None:
        return None
    value: datetime | None = await connection.fetchval("SELECT max(finished_at) FROM backup_runs")
    return value
