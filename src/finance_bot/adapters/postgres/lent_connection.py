"""The connection a unit of work lends its repositories, and the one rule of their writes:
a write in a unit of work that is not one database transaction is durable when the
repository method that made it returns (docs/adr/0021, ADR-0008)."""

from __future__ import annotations

from typing import Any

import asyncpg


class LentConnection:
    """A pooled connection inside a unit of work. Every unit of work is a database
    transaction with its household bound transaction-locally (docs/adr/0021, ADR-0024); a
    non-transactional one commits right after each write (`durable`) and opens its next
    transaction, binding included, only when another statement comes: no round trip is
    spent on a transaction nothing uses."""

    def __init__(self, connection: asyncpg.Connection, opening: str, *, transactional: bool):
        self.raw = connection
        self.opening = opening  # "BEGIN; SELECT set_config(…, true)", one simple query
        self.transactional = transactional  # of the unit of work it is lent to now
        self.open = False
        self.failed = False  # a statement raised since it was last lent

    async def begin(self) -> None:
        await self.raw.execute(self.opening)
        self.open = True

    async def written(self) -> None:
        if self.transactional or not self.open:
            return  # a transactional unit of work commits once, at its end
        self.open = False  # a failed COMMIT has ended the transaction too
        await self.raw.execute("COMMIT")

    async def execute(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._run(self.raw.execute, query, *args, **kwargs)

    async def executemany(self, query: str, args: Any, **kwargs: Any) -> Any:
        return await self._run(self.raw.executemany, query, args, **kwargs)

    async def fetch(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._run(self.raw.fetch, query, *args, **kwargs)

    async def fetchrow(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._run(self.raw.fetchrow, query, *args, **kwargs)

    async def fetchval(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._run(self.raw.fetchval, query, *args, **kwargs)

    async def _run(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        await self._reopen()
        try:
            return await method(*args, **kwargs)
        except BaseException:
            # The transaction may be aborted now, even if the caller goes on: no later unit
            # of work may continue it (unit_of_work.SharedConnection).
            self.failed = True
            raise

    async def _reopen(self) -> None:
        if not self.open:
            await self.begin()


async def durable(connection: Any) -> None:
    """Called by a repository right after each writing statement: in a non-transactional
    unit of work the write is committed before the method returns, so a later failure in
    the same unit of work never undoes it (ADR-0008: "recorded as #N"). A no-op in a
    transactional unit of work and on a bare connection (tests, commands)."""
    if isinstance(connection, LentConnection):
        await connection.written()
