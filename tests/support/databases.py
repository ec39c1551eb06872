"""Creating and dropping throwaway databases on a test server."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from finance_bot.adapters.postgres.migrator import available_migrations, migrate
from finance_bot.adapters.postgres.roles import least_privilege_logins
from finance_bot.domain.transactions import Transaction


@dataclass(frozen=True)
class DatabaseServer:
    url: str  # any database on the server; used for CREATE/DROP DATABASE
    bin_dir: Path | None = None  # client tools of an embedded server, if any

    def url_for(self, database: str) -> str:
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(path=f"/{database}"))

    async def create_database(self, name: str, *, template: str | None = None) -> None:
        connection = await asyncpg.connect(self.url)
        try:
            suffix = f' TEMPLATE "{template}"' if template else ""
            await connection.execute(f'CREATE DATABASE "{name}"{suffix}')
        finally:
            await connection.close()

    async def drop_database(self, name: str) -> None:
        connection = await asyncpg.connect(self.url)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


async def migrate_the_new_way(url: str) -> None:
    """As `finance-bot run` does when given a superuser's URL: set the roles up, then
    migrate as finance_bot_owner, logged in anew (docs/adr/0009)."""
    logins = await least_privilege_logins(url, url, url)
    connection = await asyncpg.connect(logins.owner)
    try:
        assert await connection.fetchval("SELECT current_user") == "finance_bot_owner"
        await migrate(connection)
    finally:
        await connection.close()


# The schema the first release shipped: migrations 1-3, applied by its runner as the
# connecting superuser. Upgrade tests start from it and fill it as that release did.
FIRST_RELEASE_MIGRATIONS = 3


async def migrate_as_the_first_release_did(connection: asyncpg.Connection) -> None:
    """The first release's runner in effect: every file of it, as whoever is connected."""
    await connection.execute(
        """
        CREATE TABLE schema_migrations (
            version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now())
        """
    )
    await _apply_in_turn(connection, 0, FIRST_RELEASE_MIGRATIONS)


async def migrate_up_to_before(connection: asyncpg.Connection, version: int) -> None:
    """The schema the release before `version` left: the first release's runner, then every
    later migration before `version`, applied in turn as the previous runner did."""
    await migrate_as_the_first_release_did(connection)
    done = await connection.fetchval("SELECT max(version) FROM schema_migrations")
    await _apply_in_turn(connection, done, version - 1)


async def _apply_in_turn(connection: asyncpg.Connection, start: int, stop: int) -> None:
    for migration in available_migrations()[start:stop]:
        async with connection.transaction():
            await connection.execute(migration.sql)
            await connection.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                migration.checksum,
            )


class FirstReleaseLedger:
    """Stores a transaction as the first release's ledger did (its own SQL, kept here), so
    that an upgrade test fills an old schema the way old code filled it, whatever today's
    ledger writes. Single-currency transactions only: that release knew no other."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def add(self, transaction: Transaction) -> int:
        assert transaction.conversion is None
        postings = sorted(transaction.postings, key=lambda p: p.account_id)
        number: int = await self._connection.fetchval(
            _FIRST_RELEASE_ADD,
            transaction.id,
            transaction.household_id,
            transaction.author_telegram_id,
            transaction.kind.value,
            transaction.booked_on,
            transaction.note,
            list(transaction.tags),
            transaction.voids_transaction_id,
            [p.account_id for p in postings],
            [p.direction.value for p in postings],
            [p.amount.amount_minor for p in postings],
            [p.amount.currency for p in postings],
        )
        return number


_FIRST_RELEASE_ADD = """
    WITH numbered AS (
        UPDATE households SET last_transaction_number = last_transaction_number + 1
         WHERE id = $2 RETURNING last_transaction_number AS number
    ), stored AS (
        INSERT INTO transactions
            (id, household_id, number, author_telegram_id, kind, booked_on, note, tags,
             voids_transaction_id)
        SELECT $1, $2, number, $3, $4, $5, $6, $7, $8 FROM numbered
        RETURNING id, number
    ), legs AS (
        INSERT INTO postings (transaction_id, account_id, direction, amount_minor, currency)
        SELECT stored.id, leg.account_id, leg.direction::posting_direction, leg.amount_minor,
               leg.currency
          FROM stored,
               unnest($9::bigint[], $10::text[], $11::bigint[], $12::text[]) WITH ORDINALITY
                   AS leg(account_id, direction, amount_minor, currency, position)
         ORDER BY leg.position
    )
    SELECT (SELECT number FROM stored) AS number
"""
