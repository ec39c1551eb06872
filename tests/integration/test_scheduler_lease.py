"""One replica at a time runs the scheduled work (SPEC §15): three schedulers on one
database, each with its own lease, and the work done by exactly one of them at each round —
until the leader's connection dies or it stops, when another takes over."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from finance_bot.adapters.postgres.leadership import SCHEDULER_LOCK_KEY, AdvisoryLease
from finance_bot.adapters.scheduling import NamedJob, Scheduler

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 12, 2, 21, 0, tzinfo=UTC)


def replicas(url: str, ran: list[int]) -> tuple[list[Scheduler], list[AdvisoryLease]]:
    leases = [AdvisoryLease(url) for _ in range(3)]
    schedulers = []
    for index, lease in enumerate(leases):

        async def job(now: datetime, index: int = index) -> None:
            ran.append(index)

        schedulers.append(
            Scheduler([NamedJob("work", job)], 30.0, now=lambda: NOW, lease=lease.held)
        )
    return schedulers, leases


async def leader_pid(url: str) -> int | None:
    connection = await asyncpg.connect(url)
    try:
        pid: int | None = await connection.fetchval(
            # This database's lock only: replicas in other tests' databases hold theirs.
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = 0 AND objid = $1"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            SCHEDULER_LOCK_KEY,
        )
        return pid
    finally:
        await connection.close()


async def round_of(schedulers: list[Scheduler], ran: list[int]) -> list[int]:
    ran.clear()
    for scheduler in schedulers:
        await scheduler.tick()
    return list(ran)


async def test_three_replicas_one_leader_and_a_takeover_when_it_dies_or_stops(
    fresh_database_url: str,
) -> None:
    ran: list[int] = []
    schedulers, leases = replicas(fresh_database_url, ran)
    try:
        first = await round_of(schedulers, ran)
        assert len(first) == 1
        for _ in range(3):
            assert await round_of(schedulers, ran) == first  # the same one, every round

        # The leader is killed: its connection dies with it, and the others take over.
        pid = await leader_pid(fresh_database_url)
        assert pid is not None
        admin = await asyncpg.connect(fresh_database_url)
        try:
            # Returns once the server process has ended, and its locks with it.
            assert await admin.fetchval("SELECT pg_terminate_backend($1, 10000)", pid)
        finally:
            await admin.close()
        alive = [s for index, s in enumerate(schedulers) if index != first[0]]
        second = await round_of(alive, ran)
        assert len(second) == 1
        assert second != first
        assert await round_of(alive, ran) == second

        # The new leader stops (a rolling restart): the lock goes with it, the last leads.
        await leases[second[0]].release()
        last = [s for index, s in enumerate(schedulers) if index not in (*first, *second)]
        third = await round_of(last, ran)
        assert len(third) == 1
        assert third not in (first, second)
    finally:
        for lease in leases:
            await lease.release()
    assert await leader_pid(fresh_database_url) is None
