"""Scheduled work beside the chat: each tick runs every job once, in order, with the
current time. A job decides for itself what is due (recurring entries, digests) and makes
it happen exactly once through the database; the loop only keeps calling. A job that fails
is logged and tried again at the next tick, and never stops the others or the chat."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

log = logging.getLogger(__name__)

Job = Callable[[datetime], Awaitable[None]]  # called with the current time, in UTC
Lease = Callable[[], Awaitable[bool]]  # whether this replica runs the jobs now
Sleep = Callable[[float], Awaitable[None]]
Now = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class NamedJob:
    name: str  # for logs and metrics: no household, no person, no amount
    run: Job


@dataclass(frozen=True)
class Scheduler:
    jobs: Sequence[NamedJob]
    interval_seconds: float
    now: Now = utc_now
    sleep: Sleep = asyncio.sleep
    lease: Lease | None = None  # None: the only replica, always leading

    async def run(self) -> None:
        """Until cancelled: a tick at once (catching up after downtime), then one per
        interval."""
        while True:
            await self.tick()
            await self.sleep(self.interval_seconds)

    async def tick(self) -> None:
        """Every job once, if this replica leads (one replica at a time does the work)."""
        if self.lease is not None and not await self.lease():
            return
        for job in self.jobs:
            try:
                await job.run(self.now())
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning(
                    "scheduled job failed", extra={"job": job.name, "error": type(error).__name__}
                )
