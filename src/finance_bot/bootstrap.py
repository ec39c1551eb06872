"""The composition root: the only place that builds adapters and wires them together."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from finance_bot.adapters.embedded_postgres import EmbeddedPostgres
from finance_bot.adapters.postgres.migrations import migrate
from finance_bot.adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory, create_pool
from finance_bot.adapters.system import SystemClock, UuidV7Source
from finance_bot.config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Database:
    url: str
    client_bin_dir: Path | None  # pg_dump / pg_restore of the embedded server, if used


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[Database]:
    """The configured PostgreSQL, or an embedded one in DATA_DIR when DATABASE_URL is unset."""
    if settings.database_url is not None:
        yield Database(settings.database_url.get_secret_value(), None)
        return
    embedded = EmbeddedPostgres(settings.data_dir)
    url = embedded.start()
    try:
        yield Database(url, embedded.bin_dir())
    finally:
        embedded.stop()


@dataclass(frozen=True)
class Application:
    settings: Settings
    pool: asyncpg.Pool
    uow_factory: PostgresUnitOfWorkFactory
    ids: UuidV7Source
    clock: SystemClock


@asynccontextmanager
async def application(
    settings: Settings, *, run_migrations: bool = True
) -> AsyncIterator[Application]:
    async with database(settings) as db:
        if run_migrations:
            connection = await asyncpg.connect(db.url)
            try:
                await migrate(connection)
            finally:
                await connection.close()
        pool = await create_pool(db.url)
        try:
            yield Application(
                settings=settings,
                pool=pool,
                uow_factory=PostgresUnitOfWorkFactory(pool),
                ids=UuidV7Source(),
                clock=SystemClock(),
            )
        finally:
            await pool.close()
