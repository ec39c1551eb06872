"""Which replica runs the scheduled work (SPEC §15): the one holding a session-level
advisory lock on a connection of its own. The lock lives as long as that connection, so
a replica that dies, is killed or loses the database gives it up at once, and the next
replica to ask takes it. Exactly once stays the database's job (the (rule, due date) key,
the digests' sent-log); the lease only keeps the replicas from all doing the same work."""

from __future__ import annotations

import contextlib
import logging

import asyncpg

log = logging.getLogger(__name__)

# A constant of this project's own, apart from the migrator's and the household lock's.
SCHEDULER_LOCK_KEY = 0x66627363  # "fbsc"


class AdvisoryLease:
    def __init__(self, url: str, key: int = SCHEDULER_LOCK_KEY) -> None:
        self._url = url
        self._key = key
        self._connection: asyncpg.Connection | None = None
        self._held = False

    async def held(self) -> bool:
        """Whether this replica leads now: keeps the lock it has, or tries to take it.
        Never raises: a database out of reach means not leading, and asking again later."""
        try:
            connection = await self._connect()
            if self._held:
                # The lock is as alive as its connection; a round trip proves both.
                await connection.fetchval("SELECT 1", timeout=5)
            else:
                self._held = bool(
                    await connection.fetchval(
                        "SELECT pg_try_advisory_lock($1)", self._key, timeout=5
                    )
                )
                if self._held:
                    log.info("leading the scheduled work")
        except Exception as error:
            if self._held:
                log.warning("scheduled work lease lost", extra={"error": type(error).__name__})
            await self.release()
        return self._held

    async def release(self) -> None:
        self._held = False
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close(timeout=5)

    async def _connect(self) -> asyncpg.Connection:
        if self._connection is None or self._connection.is_closed():
            self._held = False
            self._connection = await asyncpg.connect(self._url, timeout=10)
        return self._connection
