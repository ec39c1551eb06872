"""The PostgreSQL unit of work: one pooled connection, one database transaction."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Self

import asyncpg

from finance_bot.adapters.postgres.budgets import PostgresBudgets, PostgresIdempotency
from finance_bot.adapters.postgres.digests import PostgresDigests
from finance_bot.adapters.postgres.directory import PostgresDirectory
from finance_bot.adapters.postgres.ledger import PostgresLedger
from finance_bot.adapters.postgres.lent_connection import LentConnection
from finance_bot.adapters.postgres.membership import PostgresMembership
from finance_bot.adapters.postgres.rates import PostgresRates
from finance_bot.adapters.postgres.recurring import PostgresRecurring
from finance_bot.adapters.postgres.reports import PostgresReports
from finance_bot.adapters.postgres.words_cache import WordsCache
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
    Every unit of work is a database transaction that binds its household for itself,
    in the BEGIN's round trip; nothing is ever bound for the session, so a transaction
    pooler may sit in between (ADR-0024). A non-transactional unit of work commits right
    after each write instead of once at its end (`lent_connection.durable`)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        transactional: bool = True,
        person: int | None = None,
        household: int | None = None,
        words: WordsCache | None = None,
    ) -> None:
        self._pool = pool
        self._transactional = transactional
        self._person = person
        self._household = household
        self._words = words  # the process's, kept across units of work (ADR-0028)
        self._connection: LentConnection | None = None
        self._shared: SharedConnection | None = None

    async def __aenter__(self) -> Self:
        # Bound in the first round trip, an unbound unit of work to nothing. The ids are
        # integers, formatted by int() and nothing else.
        opening = f"BEGIN; {_binding(self._person, self._household)}"
        shared = _shared.get()
        self._shared = shared if shared is not None and shared.free() else None
        if self._shared is not None:
            connection = await self._shared.lend(opening, transactional=self._transactional)
        else:
            raw = await self._pool.acquire()
            connection = LentConnection(raw, opening, transactional=self._transactional)
            try:
                await connection.begin()
            except BaseException:
                await self._pool.release(raw)
                raise
        self._connection = connection
        self.ledger: LedgerRepository = PostgresLedger(connection)
        self.directory: DirectoryRepository = PostgresDirectory(connection, self._words)
        self.budgets: BudgetRepository = PostgresBudgets(connection)
        self.idempotency: IdempotencyRepository = PostgresIdempotency(connection)
        self.reports: ReportReader = PostgresReports(connection)
        self.rates: RateRepository = PostgresRates(connection)
        self.recurring: RecurringRepository = PostgresRecurring(connection)
        self.digests: DigestRepository = PostgresDigests(connection)
        self.membership: MembershipRepository = PostgresMembership(connection, self._words)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._connection is not None
        connection, self._connection = self._connection, None
        if self._shared is not None:
            await self._shared.returned(connection, failed=exc is not None)
            return
        try:
            if connection.open and connection.raw.is_in_transaction():
                connection.open = False
                # A non-transactional unit of work ends what it read (its writes were
                # committed as they were made); a transactional one not committed is undone.
                ending = "COMMIT" if exc is None and not self._transactional else "ROLLBACK"
                await connection.raw.execute(ending)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            if exc is None:
                raise  # otherwise the original error matters more than this one
        finally:
            await self._pool.release(connection.raw)

    async def commit(self) -> None:
        assert self._connection is not None
        if not self._transactional:
            return  # each write committed when it was made
        self._connection.open = False  # a failed COMMIT has ended the transaction too
        await self._connection.raw.execute("COMMIT")

    async def bind(self, household_id: int) -> None:
        assert self._connection is not None
        bound = await self._connection.fetchval("SELECT current_household()")
        if bound is not None and bound != household_id:
            raise RuntimeError("a unit of work is bound to one household at most")
        await self._connection.execute(_binding(None, household_id))
        # A non-transactional unit of work's next transaction binds this household too.
        self._connection.opening = f"BEGIN; {_binding(None, household_id)}"


def _binding(person: int | None, household: int | None) -> str:
    if household is not None:
        value = f"'{int(household)}'"
    elif person is not None:
        # The one way from a person to their household across the policies: a SECURITY
        # DEFINER function that returns an id and nothing else (migration 0012).
        value = f"coalesce(member_household({int(person)})::text, '')"
    else:
        value = "''"  # bound to nothing: no household's row is visible
    return f"SELECT set_config('finance_bot.household', {value}, true)"


class SharedConnection:
    """One pooled connection that the units of work of one update take in turn
    (`PostgresUnitOfWorkFactory.sharing`), so that a chat line costs one BEGIN with its
    binding, not one per unit of work (docs/adr/0027).

    What a unit of work leaves open for the next is only ever reads: a non-transactional
    unit of work commits each write as it is made (`durable`), a transactional one commits
    or is rolled back on leaving. Reads at READ COMMITTED see what each statement's own
    snapshot sees, in one transaction or in several, so continuing a read transaction
    changes no answer. A unit of work bound otherwise (another household, a person now
    a member) ends it first; so does a write, whose COMMIT the next unit's BEGIN follows —
    and that BEGIN binds the person anew, after a sign-up too. A unit of work opened while
    the connection is lent (nested, or concurrent in the same update) takes a pooled
    connection of its own, as without sharing."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._connection: LentConnection | None = None
        self._lent = False
        self._closed = False

    def free(self) -> bool:
        return not self._lent and not self._closed

    async def lend(self, opening: str, *, transactional: bool) -> LentConnection:
        self._lent = True
        try:
            connection = self._connection
            if connection is None:
                raw = await self._pool.acquire()
                # Opened by its first statement (`LentConnection._reopen`).
                connection = self._connection = LentConnection(
                    raw, opening, transactional=transactional
                )
            elif connection.open and connection.opening != opening:
                await self._end(connection, "COMMIT")  # reads only: nothing to keep or undo
        except BaseException:
            self._lent = False
            raise
        connection.opening = opening
        connection.transactional = transactional
        connection.failed = False
        return connection

    async def returned(self, connection: LentConnection, *, failed: bool) -> None:
        try:
            if failed or connection.failed:
                # Whatever failed, the next unit of work starts on a fresh connection: this
                # one may be mid-transaction, aborted or broken.
                self._connection = None
                await self._release(connection, "ROLLBACK")
            elif connection.transactional and connection.open:
                await self._end(connection, "ROLLBACK")  # not committed: undone
        finally:
            self._lent = False
        if self._closed:
            await self.park()  # a task the update started outlived it: nothing is kept

    async def park(self) -> None:
        """Give the connection back to the pool between units of work (before a request
        to Telegram, which may be slow): the next unit of work takes one again."""
        if self._connection is not None and not self._lent:
            connection, self._connection = self._connection, None
            await self._release(connection, "COMMIT")

    async def close(self) -> None:
        self._closed = True
        await self.park()

    async def _end(self, connection: LentConnection, ending: str) -> None:
        connection.open = False  # a failed COMMIT or ROLLBACK has ended it too
        try:
            await connection.raw.execute(ending)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            self._connection = None
            await self._pool.release(connection.raw)
            raise

    async def _release(self, connection: LentConnection, ending: str) -> None:
        try:
            if connection.open and connection.raw.is_in_transaction():
                connection.open = False
                await connection.raw.execute(ending)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            pass  # the pool's reset ends or drops it
        finally:
            await self._pool.release(connection.raw)


# The connection the units of work of the update being handled share, if any.
_shared: contextvars.ContextVar[SharedConnection | None] = contextvars.ContextVar(
    "finance_bot_shared_connection", default=None
)


class PostgresUnitOfWorkFactory:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.words = WordsCache()

    @contextlib.asynccontextmanager
    async def sharing(self) -> AsyncIterator[None]:
        """Inside, the units of work of this task share one connection (`SharedConnection`)."""
        shared = SharedConnection(self._pool)
        token = _shared.set(shared)
        try:
            yield
        finally:
            _shared.reset(token)
            await shared.close()

    async def park(self) -> None:
        """Give the shared connection of this task, if any, back to the pool for now."""
        shared = _shared.get()
        if shared is not None:
            await shared.park()

    def __call__(
        self,
        *,
        transactional: bool = True,
        person: int | None = None,
        household: int | None = None,
    ) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(
            self._pool,
            transactional=transactional,
            person=person,
            household=household,
            words=self.words,
        )


async def _reset(connection: asyncpg.Connection) -> None:
    # Every unit of work ends its transaction and binds its household transaction-locally,
    # so a released connection carries no session state of ours: the default reset (a
    # round trip per release) buys nothing; only an unfinished transaction is undone. Code
    # that takes a pooled connection without a unit of work binds inside a transaction of
    # its own (`export`, `check`).
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool: asyncpg.Pool = await asyncpg.create_pool(
        url, min_size=min_size, max_size=max_size, command_timeout=60, reset=_reset
    )
    return pool
