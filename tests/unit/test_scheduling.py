"""The scheduler's loop: every job at every tick, a failing job never stops the others."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from finance_bot.adapters.scheduling import NamedJob, Scheduler

NOW = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


async def test_each_tick_runs_every_job_with_the_time_even_after_one_fails() -> None:
    seen: list[tuple[str, datetime]] = []

    async def broken(now: datetime) -> None:
        seen.append(("broken", now))
        raise RuntimeError("database away")

    async def fine(now: datetime) -> None:
        seen.append(("fine", now))

    scheduler = Scheduler(
        jobs=[NamedJob("broken", broken), NamedJob("fine", fine)],
        interval_seconds=30.0,
        now=lambda: NOW,
    )
    await scheduler.tick()
    await scheduler.tick()
    assert seen == [("broken", NOW), ("fine", NOW)] * 2


async def test_the_loop_ticks_at_once_then_once_per_interval_until_cancelled() -> None:
    ticks: list[datetime] = []
    sleeps: list[float] = []

    async def job(now: datetime) -> None:
        ticks.append(now)

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 3:
            raise asyncio.CancelledError

    scheduler = Scheduler(
        jobs=[NamedJob("job", job)], interval_seconds=12.5, now=lambda: NOW, sleep=sleep
    )
    with pytest.raises(asyncio.CancelledError):
        await scheduler.run()
    assert len(ticks) == 3
    assert sleeps == [12.5, 12.5, 12.5]
