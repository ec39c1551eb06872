"""Signing up under pressure (docs/product.md §14, docs/adr/0022, 0025), on real PostgreSQL:
people racing for one invitation, one person's joinings racing each other, an invitation
outliving the member who made it, and the base currency racing the household's first
entry. Judged by the rows the database holds, read as the superuser."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import asyncpg
import pytest

from finance_bot.application import membership
from finance_bot.domain.commands import RecordExpense
from finance_bot.domain.money import Money
from finance_bot.ports.records import Member
from tests.support.household import PostgresWorld

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)
ALICE, CAROL, DAVE, ERIN, MALLORY = 101, 202, 303, 404, 505


@pytest.fixture
def world(bot_world: PostgresWorld) -> PostgresWorld:
    return bot_world


async def founded(world: PostgresWorld, telegram_id: int) -> Member:
    joined = await membership.found_own_household(
        telegram_id,
        currency="UAH",
        timezone="Europe/Kyiv",
        language="en",
        uow_factory=world.uow_factory,
    )
    assert isinstance(joined, membership.Joined)
    return joined.membership.member


async def invited(
    world: PostgresWorld, telegram_id: int, code: str, key: str | None = None
) -> membership.Joined | membership.JoinRefusal:
    return await membership.join_by_invite(
        telegram_id,
        code,
        now=NOW,
        language="en",
        uow_factory=world.uow_factory,
        idempotency_key=key,
    )


async def memberships(admin: asyncpg.Connection) -> list[tuple[int, int, bool]]:
    """(person, household, active) of every row of `members`."""
    rows = await admin.fetch(
        "SELECT telegram_id, household_id, left_at IS NULL AS active FROM members"
        " ORDER BY telegram_id, household_id"
    )
    return [(row["telegram_id"], row["household_id"], row["active"]) for row in rows]


async def test_three_people_with_one_code_at_once_let_exactly_one_in(
    world: PostgresWorld, admin: asyncpg.Connection
) -> None:
    alice = await founded(world, ALICE)
    code = await membership.make_invite(ALICE, now=NOW, uow_factory=world.uow_factory)
    results = await asyncio.gather(
        *(invited(world, person, code, f"tg:1:m:{person}:1") for person in (CAROL, DAVE, ERIN))
    )
    winners = [r.membership.member.telegram_id for r in results if isinstance(r, membership.Joined)]
    assert len(winners) == 1
    assert sorted(r for r in results if isinstance(r, membership.JoinRefusal)) == [
        membership.JoinRefusal.USED,
        membership.JoinRefusal.USED,
    ]
    [winner] = winners
    home = alice.household_id
    assert await memberships(admin) == sorted([(ALICE, home, True), (winner, home, True)])
    used = await admin.fetch("SELECT used_by_telegram_id FROM invites")
    assert [row[0] for row in used] == [winner]
    # The losers own nothing anywhere: no accounts made and rolled back half-way.
    losers = [p for p in (CAROL, DAVE, ERIN) if p != winner]
    assert (
        await admin.fetchval(
            "SELECT count(*) FROM accounts WHERE owner_telegram_id = ANY($1::bigint[])", losers
        )
        == 0
    )


async def test_one_person_starting_three_times_at_once_founds_one_household(
    world: PostgresWorld, admin: asyncpg.Connection
) -> None:
    """Three updates (three keys: a double tap, replicas behind a load balancer) of one
    stranger's bare /start: one household, and every update gets a friendly answer."""
    results = await asyncio.gather(
        *(
            membership.found_own_household(
                MALLORY,
                currency="UAH",
                timezone="Europe/Kyiv",
                language="en",
                uow_factory=world.uow_factory,
                idempotency_key=f"tg:1:m:{MALLORY}:{n}",
            )
            for n in range(3)
        )
    )
    assert all(isinstance(r, membership.Joined) for r in results)
    assert sorted(r.founded for r in results if isinstance(r, membership.Joined)) == [
        False,
        False,
        True,
    ]
    [household] = [row[0] for row in await admin.fetch("SELECT id FROM households")]
    assert await memberships(admin) == [(MALLORY, household, True)]
    assert {r.membership.household.id for r in results if isinstance(r, membership.Joined)} == {
        household
    }


async def test_an_invitation_racing_a_founding_of_one_person_makes_one_membership(
    world: PostgresWorld, admin: asyncpg.Connection
) -> None:
    """Carol opens Alice's link and, at once, sends a bare /start (SIGNUP=open): she ends
    up in exactly one household, and the invitation is used only if it was that one."""
    alice = await founded(world, ALICE)
    code = await membership.make_invite(ALICE, now=NOW, uow_factory=world.uow_factory)
    by_code, by_start = await asyncio.gather(
        invited(world, CAROL, code, "tg:1:m:202:1"),
        membership.found_own_household(
            CAROL,
            currency="UAH",
            timezone="Europe/Kyiv",
            language="en",
            uow_factory=world.uow_factory,
            idempotency_key="tg:1:m:202:2",
        ),
    )
    assert isinstance(by_start, membership.Joined)
    [(_, household, active)] = [m for m in await memberships(admin) if m[0] == CAROL]
    assert active
    used = await admin.fetchval("SELECT count(*) FROM invites WHERE used_at IS NOT NULL")
    if household == alice.household_id:  # the invitation won; the /start found her in
        assert isinstance(by_code, membership.Joined)
        assert used == 1
        assert await admin.fetchval("SELECT count(*) FROM households") == 1
    else:  # the founding won; the invitation stays unused
        assert by_code is membership.JoinRefusal.MEMBER
        assert used == 0
        assert await admin.fetchval("SELECT count(*) FROM households") == 2


async def test_an_invitation_is_withdrawn_when_the_member_who_made_it_leaves(
    world: PostgresWorld, admin: asyncpg.Connection
) -> None:
    """Who leaves keeps nothing: not a link back in for themselves, nor one that lets
    anyone into the books once the last member has gone. A household is never deleted;
    its entries stay, and an invitation of a member still in it keeps working."""
    alice = await founded(world, ALICE)
    home = alice.household_id
    joined = await invited(
        world, CAROL, await membership.make_invite(ALICE, now=NOW, uow_factory=world.uow_factory)
    )
    assert isinstance(joined, membership.Joined)
    carols = await membership.make_invite(CAROL, now=NOW, uow_factory=world.uow_factory)
    alices = await membership.make_invite(ALICE, now=NOW, uow_factory=world.uow_factory)
    last = await membership.make_invite(ALICE, now=NOW, uow_factory=world.uow_factory)
    accounts = await world.accounts(ALICE)
    for author in (ALICE, CAROL):
        await world.record(
            RecordExpense(Money(25000, "UAH"), accounts["cafe"].id, None, date(2026, 12, 1)),
            author,
        )
    entries = await admin.fetch("SELECT id FROM transactions WHERE household_id = $1", home)
    assert len(entries) == 2

    await membership.leave(CAROL, whitelist=frozenset(), uow_factory=world.uow_factory)
    assert await invited(world, CAROL, carols) is membership.JoinRefusal.WITHDRAWN
    assert await invited(world, ERIN, carols) is membership.JoinRefusal.WITHDRAWN
    assert isinstance(await invited(world, DAVE, alices), membership.Joined)  # Alice's works
    for person in (DAVE, ALICE):  # everyone goes; Alice is the last
        await membership.leave(person, whitelist=frozenset(), uow_factory=world.uow_factory)
    assert await invited(world, MALLORY, last) is membership.JoinRefusal.WITHDRAWN

    assert await memberships(admin) == [
        (ALICE, home, False),
        (CAROL, home, False),
        (DAVE, home, False),
    ]
    used = await admin.fetch("SELECT used_by_telegram_id FROM invites WHERE used_at IS NOT NULL")
    assert sorted(row[0] for row in used) == [CAROL, DAVE]
    assert await admin.fetch("SELECT id FROM households") == [(home,)]
    assert await admin.fetch("SELECT id FROM transactions WHERE household_id = $1", home) == (
        entries
    )
    # Who was in it sees none of it: a unit of work for Alice is bound to nothing.
    async with world.uow_factory(transactional=False, person=ALICE) as uow:
        assert await uow.membership.membership(ALICE) is None
        assert await uow.directory.members(home) == []
        assert await uow.directory.accounts(home) == []


async def _until_someone_waits_for_a_lock(admin: asyncpg.Connection) -> None:
    # A deadline, not a count of tries: on a loaded machine the other task may take a
    # while to reach the lock, and only never reaching it is a failure.
    deadline = asyncio.get_running_loop().time() + 30
    while asyncio.get_running_loop().time() < deadline:
        waiting = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("nobody waited")


async def test_a_base_currency_change_racing_the_first_entry_leaves_no_entry_in_the_old_one(
    world: PostgresWorld, admin: asyncpg.Connection
) -> None:
    """Alice's /settings currency EUR has locked the household and moved its accounts;
    Carol's first line, read against the accounts in UAH, is stored meanwhile. The
    database refuses it: no entry in hryvnias on accounts now in euros, nothing half-made."""
    alice = await founded(world, ALICE)
    home = alice.household_id
    joined = await invited(
        world, CAROL, await membership.make_invite(ALICE, now=NOW, uow_factory=world.uow_factory)
    )
    assert isinstance(joined, membership.Joined)
    cafe = (await world.accounts(CAROL))["cafe"].id
    line = RecordExpense(Money(25000, "UAH"), cafe, None, date(2026, 12, 1))
    async with world.uow_factory(person=ALICE) as settings:
        assert await settings.directory.change_base_currency(home, "EUR")
        entry = asyncio.create_task(world.record(line, CAROL))
        await _until_someone_waits_for_a_lock(admin)
        await settings.commit()
    with pytest.raises(asyncpg.IntegrityConstraintViolationError):
        await entry
    assert await admin.fetchval("SELECT currency FROM households WHERE id = $1", home) == "EUR"
    currencies = await admin.fetch(
        "SELECT DISTINCT currency FROM accounts WHERE household_id = $1", home
    )
    assert [row[0] for row in currencies] == ["EUR"]
    assert await admin.fetchval("SELECT count(*) FROM transactions") == 0
    assert await admin.fetchval("SELECT count(*) FROM postings") == 0
    assert await admin.fetchval("SELECT last_transaction_number FROM households") == 0
    # Her next line is read afresh: in euros, #1.
    again = await world.record(
        RecordExpense(Money(25000, "EUR"), cafe, None, line.booked_on), CAROL
    )
    assert again.number == 1
    with pytest.raises(membership.BaseCurrencyFixed):
        await membership.set_base_currency(ALICE, "UAH", uow_factory=world.uow_factory)
