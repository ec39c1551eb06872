"""A person's memberships over time (migration 0014, docs/adr/0025), on real PostgreSQL: the
migration keeps every row of a database the previous release filled; the database itself
refuses a second active membership; a leaver joins another household and comes back to a
former one; digests are each household's own."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time

import asyncpg
import pytest

from finance_bot.adapters.postgres.check import check_ledger
from finance_bot.adapters.postgres.migrator import available_migrations, migrate
from finance_bot.adapters.postgres.roles import APP, login_url
from finance_bot.adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory, create_pool
from finance_bot.application import membership
from finance_bot.application.household import join_whitelisted
from finance_bot.domain.digests import DigestKind, DigestSchedule
from finance_bot.ports.records import DigestSubscription
from tests.integration.test_backup import _columns, _tables
from tests.integration.test_household_currency import _household, _reports
from tests.support.databases import migrate_up_to_before
from tests.support.household import PostgresWorld

pytestmark = pytest.mark.postgres

[HISTORY_MIGRATION] = [m.version for m in available_migrations() if m.name.endswith("history")]
NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)
WHITELIST = frozenset({11, 22})


async def test_the_migration_keeps_every_row_and_gives_digests_their_household(
    empty_database_url: str,
) -> None:
    connection = await asyncpg.connect(empty_database_url)
    try:
        await migrate_up_to_before(connection, HISTORY_MIGRATION)
        # As the previous release left a database: two households, one member who left.
        first = await _household(connection, [901, 902], "UAH", currency_column=True)
        second = await _household(connection, [903], "UAH", currency_column=True)
        await connection.execute("UPDATE members SET left_at = now() WHERE telegram_id = 902")
        await connection.execute(
            "INSERT INTO digest_settings (telegram_id, kind, send_at, since)"
            " VALUES (901, 'daily', '21:00', now()), (903, 'weekly', '09:00', now())"
        )
        await connection.execute(
            "INSERT INTO digests_sent (telegram_id, kind, period_start, state)"
            " VALUES (901, 'daily', '2026-11-30', 'sent'), (903, 'weekly', '2026-11-23', 'sent')"
        )
        await connection.execute(
            "INSERT INTO member_shares (household_id, telegram_id, share_pct)"
            " VALUES ($1, 901, 100)",
            first,
        )
        reports_before = {h: await _reports(connection, h, "UAH") for h in (first, second)}
        columns_before = await _columns(empty_database_url)
        tables_before = await _tables(empty_database_url)

        assert (await migrate(connection))[0] == HISTORY_MIGRATION  # and any later ones

        tables_after = await _tables(empty_database_url, columns=columns_before)
        for table, rows in tables_before.items():
            if table != "schema_migrations":
                assert tables_after[table] == rows, table
        for table in ("digest_settings", "digests_sent"):
            rows = await connection.fetch(
                f"SELECT telegram_id, household_id FROM {table} ORDER BY telegram_id"
            )
            assert [tuple(row) for row in rows] == [(901, first), (903, second)], table
        assert await check_ledger(connection) == []
        for household_id in (first, second):
            assert await _reports(connection, household_id, "UAH") == reports_before[household_id]
        keys = await connection.fetch(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'members'::regclass"
            " AND contype IN ('p', 'u') ORDER BY 1"
        )
        assert [row[0] for row in keys] == ["members_household_uq"]
    finally:
        await connection.close()

    # The upgraded database, as the bot's own role: who had left joins the other household.
    pool = await create_pool(login_url(empty_database_url, APP))
    try:
        factory = PostgresUnitOfWorkFactory(pool)
        code = await membership.make_invite(903, now=NOW, uow_factory=factory)
        joined = await membership.join_by_invite(
            902, code, now=NOW, language="ru", uow_factory=factory
        )
        assert isinstance(joined, membership.Joined)
        assert joined.membership.household.id == second
    finally:
        await pool.close()
    admin = await asyncpg.connect(empty_database_url)
    try:
        rows = await admin.fetch(
            "SELECT household_id, left_at IS NULL AS active FROM members"
            " WHERE telegram_id = 902 ORDER BY household_id"
        )
        assert [tuple(row) for row in rows] == [(first, False), (second, True)]
        assert await _reports(admin, first, "UAH") == reports_before[first]
        assert await check_ledger(admin) == []
        # The dashboards name each account once, by its owner's row in its own household.
        labels = await admin.fetch(
            "SELECT account_id, count(*) FROM reporting.accounts GROUP BY 1 HAVING count(*) > 1"
        )
        assert labels == []
        owners = await admin.fetchval(
            "SELECT count(*) FROM reporting.accounts r JOIN accounts a ON a.id = r.account_id"
            " WHERE a.owner_telegram_id = 902"
        )
        assert owners == await admin.fetchval(
            "SELECT count(*) FROM accounts WHERE owner_telegram_id = 902"
        )
    finally:
        await admin.close()


async def test_the_database_refuses_a_second_active_membership(fresh_database_url: str) -> None:
    connection = await asyncpg.connect(fresh_database_url)
    try:
        one, other = [
            await connection.fetchval(
                "INSERT INTO households (currency) VALUES ('UAH') RETURNING id"
            )
            for _ in range(2)
        ]
        person = 8_800_555
        await connection.execute(
            "INSERT INTO members (telegram_id, household_id) VALUES ($1, $2)", person, one
        )
        with pytest.raises(asyncpg.UniqueViolationError, match="members_one_active_uq"):
            await connection.execute(
                "INSERT INTO members (telegram_id, household_id) VALUES ($1, $2)", person, other
            )
        # Left the first: a member of another now, the first row kept.
        await connection.execute(
            "UPDATE members SET left_at = now() WHERE telegram_id = $1 AND household_id = $2",
            person,
            one,
        )
        await connection.execute(
            "INSERT INTO members (telegram_id, household_id) VALUES ($1, $2)", person, other
        )
        # Active in the second, the first row cannot come alive again, nor be made anew.
        with pytest.raises(asyncpg.UniqueViolationError, match="members_one_active_uq"):
            await connection.execute(
                "UPDATE members SET left_at = NULL WHERE telegram_id = $1 AND household_id = $2",
                person,
                one,
            )
        with pytest.raises(asyncpg.UniqueViolationError, match="members_household_uq"):
            await connection.execute(
                "INSERT INTO members (telegram_id, household_id, left_at) VALUES ($1, $2, now())",
                person,
                one,
            )
        rows = await connection.fetch(
            "SELECT household_id, left_at IS NULL AS active FROM members WHERE telegram_id = $1"
            " ORDER BY household_id",
            person,
        )
        assert [tuple(row) for row in rows] == [(one, False), (other, True)]
    finally:
        await connection.close()


@pytest.fixture
def world(bot_world: PostgresWorld) -> PostgresWorld:
    return bot_world


async def test_each_household_sees_only_its_own_digests_of_a_person_who_moved(
    world: PostgresWorld, fresh_database_url: str
) -> None:
    a = await world.household()
    b = await world.household()
    code = await membership.make_invite(a.alice, now=NOW, uow_factory=world.uow_factory)
    carol = 9_100_001
    joined = await membership.join_by_invite(
        carol, code, now=NOW, language="en", uow_factory=world.uow_factory
    )
    assert isinstance(joined, membership.Joined)
    daily = DigestSchedule.of(DigestKind.DAILY, time(21, 0))
    day = date(2026, 12, 2)
    async with world.uow_factory(person=carol) as uow:
        await uow.digests.subscribe(DigestSubscription(carol, daily, NOW))
        assert await uow.digests.claim(carol, DigestKind.DAILY, day)
        await uow.commit()
    await membership.leave(carol, whitelist=frozenset(), uow_factory=world.uow_factory)

    code = await membership.make_invite(b.alice, now=NOW, uow_factory=world.uow_factory)
    moved = await membership.join_by_invite(
        carol, code, now=NOW, language="en", uow_factory=world.uow_factory
    )
    assert isinstance(moved, membership.Joined)
    assert moved.membership.household.id == b.id
    async with world.uow_factory(person=carol) as uow:
        assert await uow.digests.subscription(carol) is None  # leaving A ended A's digest
        await uow.digests.subscribe(DigestSubscription(carol, daily, NOW))
        # The same day's digest of B is another digest than A's, sent once too.
        assert not await uow.digests.logged(carol, DigestKind.DAILY, day)
        assert await uow.digests.claim(carol, DigestKind.DAILY, day)
        assert not await uow.digests.claim(carol, DigestKind.DAILY, day)
        await uow.commit()
    async with world.uow_factory(household=a.id) as uow:
        assert [s.telegram_id for s in await uow.digests.subscriptions()] == []
        assert await uow.digests.households_with_digests() == [b.id]
        names = {m.telegram_id: m.active for m in await uow.directory.members(a.id)}
        assert names[carol] is False  # still A's author, no member of it
    async with world.uow_factory(household=b.id) as uow:
        assert [s.telegram_id for s in await uow.digests.subscriptions()] == [carol]
    admin = await asyncpg.connect(fresh_database_url)
    try:
        sent = await admin.fetch(
            "SELECT household_id FROM digests_sent WHERE telegram_id = $1 ORDER BY 1", carol
        )
        assert [row[0] for row in sent] == sorted([a.id, b.id])
        settings = await admin.fetch(
            "SELECT household_id FROM digest_settings WHERE telegram_id = $1", carol
        )
        assert [row[0] for row in settings] == [b.id]
    finally:
        await admin.close()


async def test_one_start_delivered_twice_at_once_joins_once_and_answers_alike(
    world: PostgresWorld, fresh_database_url: str
) -> None:
    """Two deliveries of one update (one key) racing on two replicas: the second waits for
    the first's key, then answers with its joining; nothing is written twice."""
    home = await world.household()
    code = await membership.make_invite(home.alice, now=NOW, uow_factory=world.uow_factory)
    carol, key = 9_100_002, "tg:42:m:9100002:7"

    async def start(idempotency_key: str, person: int = carol) -> object:
        return await membership.join_by_invite(
            person,
            code,
            now=NOW,
            language="en",
            uow_factory=world.uow_factory,
            idempotency_key=idempotency_key,
        )

    both = await asyncio.gather(start(key), start(key))
    assert all(isinstance(joined, membership.Joined) for joined in both)
    joined = [j for j in both if isinstance(j, membership.Joined)]
    assert sorted(j.replayed for j in joined) == [False, True]
    assert {j.membership.household.id for j in joined} == {home.id}
    assert {j.how for j in joined} == {"invited"}
    # The member's /start of that update, delivered once more, is still the joining one;
    # any other update is not.
    found = await membership.replayed_join(carol, home.id, key, uow_factory=world.uow_factory)
    assert found == "invited"
    other = "tg:42:m:9100002:8"
    assert (
        await membership.replayed_join(carol, home.id, other, uow_factory=world.uow_factory) is None
    )
    assert await start("tg:42:m:9100003:1", person=9_100_003) is membership.JoinRefusal.USED
    # Left since: the same update again joins nobody and writes nothing.
    await membership.leave(carol, whitelist=frozenset(), uow_factory=world.uow_factory)
    assert await start(key) is membership.JoinRefusal.LEFT
    admin = await asyncpg.connect(fresh_database_url)
    try:
        rows = await admin.fetch(
            "SELECT left_at IS NULL AS active FROM members WHERE telegram_id = $1", carol
        )
        assert [row["active"] for row in rows] == [False]
        assert await admin.fetchval("SELECT count(*) FROM invites WHERE used_at IS NOT NULL") == 1
        assert (
            await admin.fetchval(
                "SELECT count(*) FROM accounts WHERE owner_telegram_id = $1", carol
            )
            == 2
        )
    finally:
        await admin.close()


async def test_a_whitelisted_person_who_left_a_household_joins_the_whitelists(
    world: PostgresWorld,
) -> None:
    first = await join_whitelisted(
        11, language="ru", currency="UAH", uow_factory=world.uow_factory, whitelist=WHITELIST
    )
    own = await membership.found_own_household(
        22, currency="UAH", timezone="Europe/Kyiv", language="ru", uow_factory=world.uow_factory
    )
    assert isinstance(own, membership.Joined)
    await membership.leave(22, whitelist=frozenset(), uow_factory=world.uow_factory)
    # Put on the list afterwards: with SIGNUP=invite or open, the whitelist's household.
    second = await join_whitelisted(
        22, language="ru", currency="UAH", uow_factory=world.uow_factory, whitelist=WHITELIST
    )
    assert second.household.id == first.household.id != own.membership.household.id


async def test_with_signup_whitelist_who_left_goes_back_where_they_left_last(
    world: PostgresWorld,
) -> None:
    home = await world.household()
    elsewhere = await world.household()
    for household in (home, elsewhere):
        code = await membership.make_invite(household.alice, now=NOW, uow_factory=world.uow_factory)
        joined = await membership.join_by_invite(
            33, code, now=NOW, language="ru", uow_factory=world.uow_factory
        )
        assert isinstance(joined, membership.Joined)
        await membership.leave(33, whitelist=frozenset(), uow_factory=world.uow_factory)
    back = await join_whitelisted(33, language="ru", currency="UAH", uow_factory=world.uow_factory)
    assert back.household.id == elsewhere.id
