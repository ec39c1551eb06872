"""The migration runner: the numbered SQL files of migrations/ applied in order, each in its own
unit of work.

Deliberately tiny (docs/adr/0003): forward-only files, a table of what ran with each
file's checksum, and an advisory lock so that two processes starting at once (the
compose migration step and a bot restart) never apply the same file twice. After every
run, grants.sql sets each role's privileges afresh (docs/adr/0009).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

from finance_bot.adapters.postgres.roles import OWNER, is_superuser, setup_roles

log = logging.getLogger(__name__)

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# Any fixed number will do; it only has to be the same in every finance-bot process.
_ADVISORY_LOCK_KEY = 0x66696E616E6365  # "finance"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


class MigrationError(RuntimeError):
    pass


def available_migrations() -> list[Migration]:
    folder = resources.files("finance_bot.adapters.postgres") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise MigrationError(f"migration files must be numbered 1..n without gaps: {versions}")
    return found


def grants_sql() -> str:
    return (resources.files("finance_bot.adapters.postgres") / "grants.sql").read_text("utf-8")


async def migrate(connection: asyncpg.Connection) -> list[int]:
    """Apply every pending migration, then the grants; return the versions applied now.

    Run as the owner role. Given a superuser's connection, it sets the roles up and
    migrates as the owner all the same, so that the owner owns what the files create."""
    if not await is_superuser(connection):
        return await _migrate(connection)
    await setup_roles(connection)
    await connection.execute(f"SET ROLE {OWNER}")
    try:
        return await _migrate(connection)
    finally:
        await connection.execute("RESET ROLE")


async def _migrate(connection: asyncpg.Connection) -> list[int]:
    applied_now: list[int] = []
    await connection.execute("SELECT pg_advisory_lock($1)", _ADVISORY_LOCK_KEY)
    try:
        await connection.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """
        )
        rows = await connection.fetch("SELECT version, name, checksum FROM schema_migrations")
        done = {row["version"]: row["checksum"] for row in rows}
        for migration in available_migrations():
            if migration.version in done:
                if done[migration.version] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.version:04d}_{migration.name} was edited after "
                        "it was applied; add a new migration instead"
                    )
                continue
            async with connection.transaction():
                await connection.execute(migration.sql)
                await connection.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
            log.info("migration applied", extra={"version": migration.version})
            applied_now.append(migration.version)
        async with connection.transaction():
            await connection.execute(grants_sql())
    finally:
        await connection.execute("SELECT pg_advisory_unlock($1)", _ADVISORY_LOCK_KEY)
    return applied_now


async def pending_versions(connection: asyncpg.Connection) -> list[int]:
    exists = await connection.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    done: set[int] = set()
    if exists:
        done = {
            r["version"] for r in await connection.fetch("SELECT version FROM schema_migrations")
        }
    return [m.version for m in available_migrations() if m.version not in done]


async def can_migrate(connection: asyncpg.Connection) -> bool:
    """Whether this login may apply migrations: the owner role (or a superuser). The bot's
    own role may not; it only checks that someone has."""
    value: bool = await connection.fetchval(
        "SELECT pg_has_role(current_user, nspowner, 'USAGE') FROM pg_namespace"
        " WHERE nspname = 'public'"
    )
    return value
