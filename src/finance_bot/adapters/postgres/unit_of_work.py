"""The PostgreSQL unit of work: one pooled connection, one database transaction."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import asyncpg

from finance_bot.adapters.postgres.budgets import PostgresBudgets, PostgresIdempotency
from finance_bot.adapters.postgres.digests import PostgresDigests
from finance_bot.adapters.postgres.directory import PostgresDirectory
from finance_bot.adapters.postgres.ledger import PostgresLedger
from finance_bot.adapters.postgres.rates import PostgresRates
from finance_bot.adapters.postgres.recurring import PostgresRecurring
from finance_bot.adapters.postgres.reports import PostgresReports
from finance_bot.ports.unit_of_work import (
    BudgetRepository,
    DigestRepository,
    DirectoryRepository,
    IdempotencyRepository,
    LedgerRepository,
    RateRepository,
    RecurringRepository,
    ReportReader,
)


class PostgresUnitOfWork:
    """One pooled connection, one database transaction, bound to at most one household
    (docs/adr/0021): the transaction-local setting finance_bot.household, which the
    row-level security policies compare every row with, is set in the same round trip as
    the BEGIN."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        transactional: bool = True,
        person: int | None = None,
        household: int | None = None,
    ) -> None:
        self._pool = pool
        self._transactional = transactional
        self._person = person
        self._household = household
        self._connection: asyncpg.Connection | None = None
        self._finished = False

    async def __aenter__(self) -> Self:
        self._connection = await self._pool.acquire()
        try:
            # Binding needs a transaction: the setting lives as long as it. Both are sent as
            # one simple query, so a bound unit of work costs no round trip more than the
            # BEGIN did. The ids are integers, formatted by int() and nothing else.
            binding = _binding(self._person, self._household)
            await self._connection.execute(f"BEGIN; {binding}" if binding else "BEGIN")
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
            if not self._finished and self._connection.is_in_transaction():
                # A non-transactional unit of work keeps what its statements did, as if
                # each had committed on its own (a failed statement has already ended the
                # transaction's writes: COMMIT then rolls back).
                await self._connection.execute("ROLLBACK" if self._transactional else "COMMIT")
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            if exc is None:
                raise  # otherwise the original error matters more than this one
        finally:
            await self._pool.release(self._connection)
            self._connection = None

    async def commit(self) -> None:
        assert self._connection is not None
        self._finished = True  # a failed COMMIT has ended the database transaction too
        await self._connection.execute("COMMIT")

    async def bind(self, household_id: int) -> None:
        assert self._connection is not None
        bound = await self._connection.fetchval("SELECT current_household()")
        if bound is not None and bound != household_id:
            raise RuntimeError("a unit of work is bound to one household at most")
        await self._connection.execute(_binding(None, household_id))


def _binding(person: int | None, household: int | None) -> str:
    if household is not None:
        value = f"'{int(household)}'"
    elif person is not None:
        # The one way from a person to their household across the policies: a SECURITY
        # DEFINER function that returns an id and nothing else (migration 0012).
        value = f"coalesce(member_household({int(person)})::text, '')"
    else:
        return ""  # bound to nothing: no household's row is visible
    return f"SELECT set_config('finance_bot.household', {value}, true)"


class PostgresUnitOfWorkFactory:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    def __call__(
        self,
        *,
        transactional: bool = True,
        person: int | None = None,
        household: int | None = None,
    ) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(
            self._pool, transactional=transactional, person=person, household=household
        )


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
