"""Many households on one database (docs/product.md §14, docs/adr/0022), on real PostgreSQL:
the migration that numbers repeating rules per household and leaves existing households
as they behaved, invitations used once, the base currency fixed once used, leaving, and
scheduled entries on each household's own day."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg
import pytest

from finance_bot.adapters.postgres.migrator import available_migrations, migrate
from finance_bot.adapters.postgres.roles import APP, login_url
from finance_bot.adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory
from finance_bot.application import membership
from finance_bot.application.directory import add_account
from finance_bot.application.household import join_whitelisted
from finance_bot.application.rates import set_rate
from finance_bot.application.recurring import (
    add_rule,
    household_days,
    list_rules,
    record_due,
    stop_rule,
)
from finance_bot.domain.commands import RecordExpense
from finance_bot.domain.money import Money
from finance_bot.domain.schedules import Every, RuleText, Schedule
from finance_bot.ports.records import Member
from tests.support.databases import migrate_up_to_before
from tests.support.household import PostgresWorld, ledger_world

pytestmark = pytest.mark.postgres

[SIGNUP_MIGRATION] = [m.version for m in available_migrations() if m.name.endswith("membership")]
[CONVERSIONS_MIGRATION] = [
    m.version for m in available_migrations() if m.name.endswith("keep_their_currency")
]


async def test_the_migration_numbers_rules_per_household_in_id_order(
    empty_database_url: str,
) -> None:
    connection = await asyncpg.connect(empty_database_url)
    try:
        await migrate_up_to_before(connection, SIGNUP_MIGRATION)
        first = await connection.fetchval(
            "INSERT INTO households (currency) VALUES ('UAH') RETURNING id"
        )
        second = await connection.fetchval(
            "INSERT INTO households (currency) VALUES ('UAH') RETURNING id"
        )
        await connection.execute(
            "INSERT INTO members (telegram_id, household_id) VALUES (11, $1), (22, $2)",
            first,
            second,
        )
        for household, author in (
            (first, 11),
            (second, 22),
            (first, 11),
            (second, 22),
            (first, 11),
        ):
            await connection.execute(
                "INSERT INTO recurring_rules (household_id, author_telegram_id, every, line, entry,"
                " starts_on) VALUES ($1, $2, 'day', 'x', $3::jsonb, '2026-01-01')",
                household,
                author,
                json.dumps({}),
            )
        await migrate(connection)
        rows = await connection.fetch(
            "SELECT household_id, number FROM recurring_rules ORDER BY id"
        )
        assert [(r["household_id"], r["number"]) for r in rows] == [
            (first, 1),
            (second, 1),
            (first, 2),
            (second, 2),
            (first, 3),
        ]
        # Households as they were: the deployment's zone and language, nobody left.
        settings = await connection.fetch("SELECT timezone, language FROM households")
        assert {tuple(row) for row in settings} == {(None, None)}
        assert (
            await connection.fetchval("SELECT count(*) FROM members WHERE left_at IS NOT NULL") == 0
        )
    finally:
        await connection.close()


@pytest.fixture
def world(bot_world: PostgresWorld) -> PostgresWorld:
    return bot_world


async def founded(world: PostgresWorld, telegram_id: int, zone: str = "Europe/Kyiv") -> Member:
    joined = await membership.found_own_household(
        telegram_id, currency="UAH", timezone=zone, language="ru", uow_factory=world.uow_factory
    )
    assert isinstance(joined, membership.Joined)
    return joined.membership.member


async def test_an_invitation_joins_one_person_once_and_refusals_write_nothing(
    world: PostgresWorld,
    admin: asyncpg.Connection,
) -> None:
    now = datetime(2026, 12, 3, 12, tzinfo=UTC)
    alice = await founded(world, 101)
    code = await membership.make_invite(101, now=now, uow_factory=world.uow_factory)
    assert len(code) >= 22
    assert membership.looks_like_code(code)
    late = now + membership.INVITE_VALIDITY
    expired = await membership.join_by_invite(
        202, code, now=late, language="en", uow_factory=world.uow_factory
    )
    assert expired is membership.JoinRefusal.EXPIRED
    joined = await membership.join_by_invite(
        202, code, now=now, language="en", uow_factory=world.uow_factory
    )
    assert isinstance(joined, membership.Joined)
    assert joined.membership.member.household_id == alice.household_id
    again = await membership.join_by_invite(
        303, code, now=now, language="en", uow_factory=world.uow_factory
    )
    assert again is membership.JoinRefusal.USED
    forged = await membership.join_by_invite(
        303,
        code[:-1] + ("A" if code[-1] != "A" else "B"),
        now=now,
        language="en",
        uow_factory=world.uow_factory,
    )
    assert forged is membership.JoinRefusal.UNKNOWN
    assert await admin.fetchval("SELECT count(*) FROM members WHERE telegram_id = 303") == 0


async def test_a_leaver_may_join_another_household_and_come_back_to_the_first(
    world: PostgresWorld, admin: asyncpg.Connection
) -> None:
    now = datetime(2026, 12, 3, 12, tzinfo=UTC)
    await founded(world, 101)
    other = await founded(world, 404)
    code = await membership.make_invite(101, now=now, uow_factory=world.uow_factory)
    joined = await membership.join_by_invite(
        202, code, now=now, language="ru", uow_factory=world.uow_factory
    )
    assert isinstance(joined, membership.Joined)
    code_household = joined.membership.household.id
    await membership.leave(202, whitelist=frozenset(), uow_factory=world.uow_factory)
    assert [
        m.telegram_id for m in await membership.active_members(101, uow_factory=world.uow_factory)
    ] == [101]
    # Who left is no member: a unit of work for them is bound to nothing and sees nothing.
    async with world.uow_factory(transactional=False, person=202) as uow:
        assert await uow.membership.membership(202) is None
        assert await uow.directory.members(code_household) == []
    elsewhere = await membership.make_invite(404, now=now, uow_factory=world.uow_factory)
    moved = await membership.join_by_invite(
        202, elsewhere, now=now, language="ru", uow_factory=world.uow_factory
    )
    assert isinstance(moved, membership.Joined)
    assert moved.membership.household.id == other.household_id
    assert await admin.fetchval("SELECT count(*) FROM invites WHERE used_at IS NOT NULL") == 2
    rows = await admin.fetch(
        "SELECT household_id, left_at IS NULL AS active FROM members WHERE telegram_id = 202"
        " ORDER BY created_at"
    )
    assert [tuple(row) for row in rows] == [(code_household, False), (other.household_id, True)]

    await membership.leave(202, whitelist=frozenset(), uow_factory=world.uow_factory)
    back = await membership.make_invite(101, now=now, uow_factory=world.uow_factory)
    rejoined = await membership.join_by_invite(
        202, back, now=now, language="ru", uow_factory=world.uow_factory
    )
    assert isinstance(rejoined, membership.Joined)
    assert rejoined.membership.household.id == code_household
    # Back in their own row, with the accounts they had: no second row, no new accounts.
    assert (
        rejoined.membership.member.default_account_id == joined.membership.member.default_account_id
    )
    assert await admin.fetchval("SELECT count(*) FROM members WHERE telegram_id = 202") == 2
    with pytest.raises(membership.LeaveRefused):
        await membership.leave(101, whitelist=frozenset({101}), uow_factory=world.uow_factory)


async def test_whitelisted_ids_keep_to_their_own_household_when_anyone_may_found_one(
    world: PostgresWorld,
) -> None:
    stranger = await founded(world, 909)  # founded first: the lowest household id
    first = await join_whitelisted(
        11,
        language="ru",
        currency="UAH",
        uow_factory=world.uow_factory,
        whitelist=frozenset({11, 22}),
    )
    second = await join_whitelisted(
        22,
        language="ru",
        currency="UAH",
        uow_factory=world.uow_factory,
        whitelist=frozenset({11, 22}),
    )
    assert first.member.household_id == second.member.household_id != stranger.household_id


async def test_the_base_currency_changes_only_while_nothing_is_recorded(
    world: PostgresWorld,
    admin: asyncpg.Connection,
) -> None:
    await founded(world, 101)
    assert await membership.set_base_currency(101, "eur", uow_factory=world.uow_factory) == "EUR"
    household = await world.household()  # another household, with an entry
    await household.spend(100, "cafe")
    with pytest.raises(membership.BaseCurrencyFixed):
        await membership.set_base_currency(household.alice, "USD", uow_factory=world.uow_factory)
    with pytest.raises(membership.CurrencyUnsupported):
        await membership.set_base_currency(101, "XYZ", uow_factory=world.uow_factory)
    rows = await admin.fetch(
        "SELECT h.id, array_agg(DISTINCT a.currency) AS currencies, h.currency"
        "  FROM households h JOIN accounts a ON a.household_id = h.id"
        " GROUP BY h.id ORDER BY h.id"
    )
    assert [(r["currencies"], r["currency"]) for r in rows] == [(["EUR"], "EUR"), (["UAH"], "UAH")]
    with pytest.raises(membership.ZoneUnknown):
        await membership.set_timezone(101, "Europe/Atlantis", uow_factory=world.uow_factory)


async def test_a_base_currency_change_keeps_each_conversion_account_in_its_own_currency(
    world: PostgresWorld,
    admin: asyncpg.Connection,
) -> None:
    """A dollar account made before the first entry brings the conversion accounts for
    USD and the base, UAH. /settings currency EUR moves the accounts in UAH, but the UAH
    conversion account is UAH's: moved, it kept its code, and every later entry from an
    account in hryvnias was refused by the database (its leg in UAH on an EUR account)."""
    await founded(world, 101)
    await add_account(101, "dollars", shared=False, currency="USD", uow_factory=world.uow_factory)
    assert await membership.set_base_currency(101, "EUR", uow_factory=world.uow_factory) == "EUR"
    assert await _conversion_accounts(admin) == [
        ("conversion:UAH", "UAH"),
        ("conversion:USD", "USD"),
    ]
    await _hryvnias_are_spent_through_their_conversion_account(world, admin)


async def test_a_conversion_account_an_earlier_base_change_moved_is_put_back(
    empty_database_url: str,
) -> None:
    """A database the release before left: its /settings currency EUR had moved the UAH
    conversion account into EUR, code and all. The migration puts it back in UAH and moves
    nothing else; hryvnias are spent again; and the database refuses such a move from now on,
    whoever asks."""
    admin = await asyncpg.connect(empty_database_url)
    try:
        await migrate_up_to_before(admin, CONVERSIONS_MIGRATION)
        async with ledger_world(empty_database_url) as previous:
            await founded(previous, 101)
            await add_account(
                101, "dollars", shared=False, currency="USD", uow_factory=previous.uow_factory
            )
        household = await admin.fetchval("SELECT household_id FROM members WHERE telegram_id = 101")
        # What the release before did on /settings currency EUR.
        await admin.execute(
            "UPDATE accounts SET currency = 'EUR' WHERE household_id = $1 AND currency = 'UAH'",
            household,
        )
        await admin.execute("UPDATE households SET currency = 'EUR' WHERE id = $1", household)
        assert await _conversion_accounts(admin) == [
            ("conversion:UAH", "EUR"),
            ("conversion:USD", "USD"),
        ]
        others = "SELECT id, currency FROM accounts WHERE code IS DISTINCT FROM 'conversion:UAH'"
        untouched = await admin.fetch(others)
        await migrate(admin)
        assert await _conversion_accounts(admin) == [
            ("conversion:UAH", "UAH"),
            ("conversion:USD", "USD"),
        ]
        assert await admin.fetch(others) == untouched
        async with ledger_world(login_url(empty_database_url, APP)) as bot:
            await _hryvnias_are_spent_through_their_conversion_account(bot, admin)
        for change in ("currency = 'EUR'", "code = 'conversion:EUR'"):
            with pytest.raises(asyncpg.CheckViolationError):
                await admin.execute(f"UPDATE accounts SET {change} WHERE code = 'conversion:USD'")
    finally:
        await admin.close()


async def _conversion_accounts(admin: asyncpg.Connection) -> list[tuple[str, str]]:
    rows = await admin.fetch(
        "SELECT code, currency FROM accounts WHERE type = 'equity' ORDER BY code"
    )
    return [(row["code"], row["currency"]) for row in rows]


async def _hryvnias_are_spent_through_their_conversion_account(
    world: PostgresWorld, admin: asyncpg.Connection
) -> None:
    """Member 101, in a household on EUR, spends 1 000 hryvnias from a new account in them:
    entry #1, its UAH legs on the UAH conversion account."""
    hryvnias = await add_account(
        101, "hryvnias", shared=False, currency="UAH", uow_factory=world.uow_factory
    )
    await set_rate(
        101,
        "UAH",
        Decimal("0.02"),
        today=date(2026, 12, 1),
        idempotency_key=None,
        uow_factory=world.uow_factory,
    )
    cafe = (await world.accounts(101))["cafe"].id
    spent = RecordExpense(Money(100000, "UAH"), cafe, hryvnias.id, date(2026, 12, 2))
    assert (await world.record(spent, 101)).number == 1
    legs = await admin.fetch(
        "SELECT a.code, p.currency, p.amount_minor FROM postings p"
        "  JOIN accounts a ON a.id = p.account_id ORDER BY p.currency, a.code NULLS FIRST"
    )
    assert [tuple(row) for row in legs] == [
        ("cafe", "EUR", 2000),
        ("conversion:EUR", "EUR", 2000),
        (None, "UAH", 100000),
        ("conversion:UAH", "UAH", 100000),
    ]


async def test_rules_are_numbered_per_household_and_due_on_each_households_own_day(
    world: PostgresWorld,
    admin: asyncpg.Connection,
) -> None:
    kyiv = await founded(world, 101, "Europe/Kyiv")
    kiritimati = await founded(world, 202, "Pacific/Kiritimati")  # UTC+14
    factory = PostgresUnitOfWorkFactory(world.pool)
    numbers = []
    for author in (101, 202, 202):
        accounts = await world.accounts(author)
        command = RecordExpense(
            amount=Money(70000, "UAH"),
            category_id=accounts["housing"].id,
            account_id=None,
            booked_on=date(2026, 12, 1),
        )
        view = await add_rule(
            author,
            RuleText(Schedule(Every.MONTH, day=1), "700 аренда", date(2026, 12, 1)),
            command,
            today=date(2026, 11, 30),
            uow_factory=factory,
            ids=world.ids,
        )
        numbers.append(view.number)
    assert numbers == [1, 1, 2]
    assert not await stop_rule(101, 2, uow_factory=factory)  # Kiritimati's rule 2 is not Kyiv's
    assert await stop_rule(202, 2, uow_factory=factory)
    # 30 November 12:00 UTC: still the 30th in Kyiv, already 1 December in Kiritimati.
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    days = await household_days(now, uow_factory=factory)
    assert days == {
        kyiv.household_id: date(2026, 11, 30),
        kiritimati.household_id: date(2026, 12, 1),
    }
    assert await record_due(date(2026, 11, 30), uow_factory=factory, ids=world.ids, days=days) == 1
    booked = await admin.fetch("SELECT household_id, booked_on FROM transactions")
    assert [tuple(row) for row in booked] == [(kiritimati.household_id, date(2026, 12, 1))]
    listed = await list_rules(202, today=date(2026, 12, 1), uow_factory=factory)
    assert [view.number for view in listed] == [1]
    later = now + timedelta(hours=12)  # the 1st in Kyiv too
    days = await household_days(later, uow_factory=factory)
    assert await record_due(date(2026, 12, 1), uow_factory=factory, ids=world.ids, days=days) == 1
