"""Backups and restores of the ledger database (docs/adr/0006, docs/adr/0009).

This package's face is what the CLI, bootstrap and the tests use; inside, `runs` takes a
backup, `restoring` loads one back, `crypto` seals and opens the files, `storage` copies
them to S3-compatible storage, and `tools` finds and runs pg_dump and pg_restore.
"""

from finance_bot.adapters.backup.restoring import restore
from finance_bot.adapters.backup.runs import (
    BackupResult,
    backup_file_name,
    backup_time,
    prune,
    run_backup,
)
from finance_bot.adapters.backup.storage import S3Target
from finance_bot.adapters.backup.tools import BackupError, BackupOptions
from finance_bot.adapters.postgres.backup_log import last_good_backup_at

__all__ = [
    "BackupError",
    "BackupOptions",
    "BackupResult",
    "S3Target",
    "backup_file_name",
    "backup_time",
    "last_good_backup_at",
    "prune",
    "restore",
    "run_backup",
]
