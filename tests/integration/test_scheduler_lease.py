"""One replica at a time runs the scheduled work (SPEC §15): three schedulers on one
database, each with its own lease, and the work done by exactly one of them at each round —
until the leader's connection dies or it stops, when another takes over."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from finance_bot.adapters.postgres.leadership import SCHEDULER_LOCK_KEY, AdvisoryLease
from finance_bot.adapters.scheduling import Job, NamedJob, Scheduler
from finance_bot.application.recurring import Announce, announce, record_due
from finance_bot.domain.schedules import Every, Schedule
from finance_bot.ports.records import OccurrenceNotice
from tests.integration.test_recurring import factory, new_rule, rent
from tests.support.household import PostgresWorld, ledger_world

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
            # Advisory locks are per database, and other tests' bots lead in theirs.
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


# The leader cut off in the middle of its work: the lease guards against doing the work
# twice only at the start of a round, so the database must when two rounds overlap.


def repeating_entries(world: PostgresWorld, send: Announce) -> Job:
    """What the recurring job does (adapters/telegram/recurring_notices.py): record what is
    due, then tell the authors."""

    async def run(now: datetime) -> None:
        await record_due(now.date(), uow_factory=factory(world), ids=world.ids)
        await announce(factory(world), send)

    return run


async def booked_days(world: PostgresWorld, household_id: int) -> list[date]:
    """The booking date of every entry of the household, a date as often as it is booked."""
    async with world.pool.acquire() as connection:
        rows = await connection.fetch(
            "SELECT booked_on FROM transactions WHERE household_id = $1 ORDER BY booked_on",
            household_id,
        )
    return [row["booked_on"] for row in rows]


async def test_a_leader_cut_off_mid_round_and_its_successor_book_and_tell_each_date_once(
    fresh_database_url: str,
) -> None:
    start = date(2026, 3, 1)
    async with (
        ledger_world(fresh_database_url) as first_world,
        ledger_world(fresh_database_url) as second_world,
    ):
        assert isinstance(first_world, PostgresWorld)
        assert isinstance(second_world, PostgresWorld)
        (alice, _) = await first_world.new_household()
        household = await first_world.household_of(alice)
        housing = (await first_world.accounts(alice))["housing"].id
        await new_rule(
            first_world,
            alice,
            Schedule(Every.DAY),
            rent(first_world, housing, start),
            starts_on=start,
        )
        told: list[date] = []
        in_send, go_on = asyncio.Event(), asyncio.Event()

        async def held_send(notices: Sequence[OccurrenceNotice]) -> None:
            in_send.set()
            await go_on.wait()  # the leader is telling Alice when its lease goes
            told.extend(n.due_on for n in notices)

        async def send(notices: Sequence[OccurrenceNotice]) -> None:
            told.extend(n.due_on for n in notices)

        leases = [AdvisoryLease(fresh_database_url) for _ in range(2)]
        first = Scheduler(
            [NamedJob("recurring", repeating_entries(first_world, held_send))],
            30.0,
            now=lambda: datetime(2026, 3, 3, 12, tzinfo=UTC),
            lease=leases[0].held,
        )
        second = Scheduler(
            [NamedJob("recurring", repeating_entries(second_world, send))],
            30.0,
            now=lambda: datetime(2026, 3, 6, 12, tzinfo=UTC),  # a later round
            lease=leases[1].held,
        )
        try:
            first_round = asyncio.create_task(first.tick())
            await asyncio.wait_for(in_send.wait(), timeout=30)
            pid = await leader_pid(fresh_database_url)
            assert pid is not None
            admin = await asyncpg.connect(fresh_database_url)
            try:
                assert await admin.fetchval("SELECT pg_terminate_backend($1, 10000)", pid)
            finally:
                await admin.close()

            # The successor leads and does a whole round while the first is still in its.
            await second.tick()
            assert await leader_pid(fresh_database_url) not in (None, pid)
            # It booked and told the dates after the first's; those the first holds, not.
            assert sorted(told) == [date(2026, 3, 4), date(2026, 3, 5), date(2026, 3, 6)]
            go_on.set()
            await first_round
            assert not await leases[0].held()  # cut off, it does not lead again
            await second.tick()
        finally:
            for lease in leases:
                await lease.release()

        days = [start + timedelta(days=n) for n in range(6)]
        assert await booked_days(first_world, household) == days
        assert sorted(told) == days
