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
    """One pooled connection, bound to at most one household (docs/adr/0021): the setting
    finance_bot.household, which the row-level security policies compare every row with.
    A transactional unit of work is one database transaction and sets it for that
    transaction, in the BEGIN's round trip; a non-transactional one autocommits each
    statement and sets it for the session, in a round trip of its own."""

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
            # Every unit of work binds in its first round trip, unbound ones to nothing, so
            # no binding a pooled connection still carries reaches it. A transaction binds
            # for itself, in the same simple query as its BEGIN; a non-transactional unit
            # of work runs each statement in autocommit, as before row-level security, and
            # binds the session instead (docs/adr/0021): no BEGIN and no COMMIT round trip.
            # The ids are integers, formatted by int() and nothing else.
            binding = _binding(self._person, self._household, local=self._transactional)
            await self._connection.execute(f"BEGIN; {binding}" if self._transactional else binding)
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
            if not self._finished and self._connection.is_in_transaction():
                await self._connection.execute("ROLLBACK")
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            if exc is None:
                raise  # otherwise the original error matters more than this one
        finally:
            await self._pool.release(self._connection)
            self._connection = None

    async def commit(self) -> None:
        assert self._connection is not None
        if not self._transactional:
            return  # each statement committed on its own
        self._finished = True  # a failed COMMIT has ended the database transaction too
        await self._connection.execute("COMMIT")

    async def bind(self, household_id: int) -> None:
        assert self._connection is not None
        bound = await self._connection.fetchval("SELECT current_household()")
        if bound is not None and bound != household_id:
            raise RuntimeError("a unit of work is bound to one household at most")
        await self._connection.execute(_binding(None, household_id, local=self._transactional))


def _binding(person: int | None, household: int | None, *, local: bool) -> str:
    if household is not None:
        value = f"'{int(household)}'"
    elif person is not None:
        # The one way from a person to their household across the policies: a SECURITY
        # DEFINER function that returns an id and nothing else (migration 0012).
        value = f"coalesce(member_household({int(person)})::text, '')"
    else:
        value = "''"  # bound to nothing: no household's row is visible
    return f"SELECT set_config('finance_bot.household', {value}, {'true' if local else 'false'})"


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
    # Every unit of work ends its transaction, and the one session state it may leave, a
    # household binding, is replaced by the next unit of work's first round trip: the
    # default reset (a round trip per release) buys nothing; only an unfinished transaction
    # is undone. Code that takes a pooled connection without a unit of work must bind it
    # (or unbind it: `unbind`) before reading household tables.
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


async def unbind(connection: asyncpg.Connection) -> None:
    """Clear a binding a pooled connection may still carry from a unit of work."""
    await connection.execute("SELECT set_config('finance_bot.household', '', false)")


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool: asyncpg.Pool = await asyncpg.create_pool(
        url, min_size=min_size, max_size=max_size, command_timeout=60, reset=_reset
    )
    return pool
