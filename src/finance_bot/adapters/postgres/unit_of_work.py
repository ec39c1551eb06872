"""The PostgreSQL unit of work: one pooled connection, one database transaction."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import asyncpg

from finance_bot.adapters.postgres.budgets import PostgresBudgets, PostgresIdempotency
from finance_bot.adapters.postgres.digests import PostgresDigests
from finance_bot.adapters.postgres.directory import PostgresDirectory
from finance_bot.adapters.postgres.ledger import PostgresLedger
from finance_bot.adapters.postgres.membership import PostgresMembership
from finance_bot.adapters.postgres.rates import PostgresRates
from finance_bot.adapters.postgres.recurring import PostgresRecurring
from finance_bot.adapters.postgres.reports import PostgresReports
from finance_bot.ports.unit_of_work import (
    BudgetRepository,
    DigestRepository,
    DirectoryRepository,
    IdempotencyRepository,
    LedgerRepository,
    MembershipRepository,
    RateRepository,
    RecurringRepository,
    ReportReader,
)


class PostgresUnitOfWork:
    def __init__(self, pool: asyncpg.Pool, *, transactional: bool = True) -> None:
        self._pool = pool
        self._transactional = transactional
        self._connection: asyncpg.Connection | None = None
        self._transaction: asyncpg.transaction.Transaction | None = None
        self._finished = False

    async def __aenter__(self) -> Self:
        self._connection = await self._pool.acquire()
        if self._transactional:
            try:
                self._transaction = self._connection.transaction()
                await self._transaction.start()
            except BaseException:
                await self._pool.release(self._connection)
                raise
        self.ledger: LedgerRepository = PostgresLedger(self._connection)
        self.directory: DirectoryRepository = PostgresDirectory(self._connection)
        self.budgets: BudgetRepository = PostgresBudgets(self._connection)
        self.idempotency: IdempotencyRepository = PostgresIdempotency(self._connection)
        self.reports: ReportReader = PostgresReports(self._connection)
        self.rates: RateRepository = PostgresRates(self._connection)
        self.recurring: RecurringRepository = PostgresRecurring(self._connection)
        self.digests: DigestRepository = PostgresDigests(self._connection)
        self.membership: MembershipRepository = PostgresMembership(self._connection)
        self._finished = False
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._connection is not None
        try:
            # A failed COMMIT has already ended the database transaction.
            if self._transaction is not None and not self._finished:
                await self._transaction.rollback()
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            if exc is None:
                raise  # otherwise the original error matters more than this one
        finally:
            await self._pool.release(self._connection)
            self._connection = None
            self._transaction = None

    async def commit(self) -> None:
        if self._transaction is None:
            return  # every statement has committed on its own already
        self._finished = True
        await self._transaction.commit()


class PostgresUnitOfWorkFactory:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    def __call__(self, *, transactional: bool = True) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(self._pool, transactional=transactional)


async def _reset(connection: asyncpg.Connection) -> None:
    # Every unit of work ends its transaction and sets no session state, so the default
    # reset (a round trip per release) buys nothing; only an unfinished transaction is undone.
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool: asyncpg.Pool = await asyncpg.create_pool(
        url, min_size=min_size, max_size=max_size, command_timeout=60, reset=_reset
    )
    return pool
