"""Repeating entries on real PostgreSQL (docs/product.md §9, docs/adr/0016): every due
date recorded once, booked on that date, whoever runs the scheduler and however often."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from finance_bot.adapters.postgres.check import check_ledger
from finance_bot.adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory
from finance_bot.application.budgets import set_budget
from finance_bot.application.directory import add_account, archive_account
from finance_bot.application.membership import set_timezone
from finance_bot.application.recurring import (
    add_rule,
    announce,
    household_days,
    list_rules,
    record_due,
    stop_rule,
)
from finance_bot.application.results import BudgetAlert
from finance_bot.domain.commands import RecordCommand, RecordExpense, RecordIncome, RecordTransfer
from finance_bot.domain.errors import AccountArchived, NoRate
from finance_bot.domain.money import Money
from finance_bot.domain.schedules import Every, RuleText, Schedule, local_day
from finance_bot.ports.records import OccurrenceNotice
from tests.support.household import PostgresWorld, ledger_world, uah

pytestmark = pytest.mark.postgres
KYIV = ZoneInfo("Europe/Kyiv")


@pytest.fixture
async def world(fresh_database_url: str) -> AsyncIterator[PostgresWorld]:
    async with ledger_world(fresh_database_url) as opened:
        assert isinstance(opened, PostgresWorld)
        yield opened


def factory(world: PostgresWorld) -> PostgresUnitOfWorkFactory:
    return PostgresUnitOfWorkFactory(world.pool)


async def new_rule(
    world: PostgresWorld,
    author: int,
    schedule: Schedule,
    command: RecordCommand,
    *,
    starts_on: date,
    line: str = "12000 аренда",
) -> int:
    view = await add_rule(
        author,
        RuleText(schedule, line, starts_on),
        command,
        today=starts_on,
        uow_factory=factory(world),
        ids=world.ids,
    )
    return view.number


def rent(world: PostgresWorld, housing: int, on: date, amount: int = 12000) -> RecordExpense:
    return RecordExpense(amount=uah(amount), category_id=housing, account_id=None, booked_on=on)


async def ledger_of(world: PostgresWorld, rule_id: int) -> list[tuple[date, date, int]]:
    """(due date, booked on, amount) of each entry the rule made, by due date."""
    async with world.pool.acquire() as connection:
        rows = await connection.fetch(
            """
            SELECT o.due_on, t.booked_on,
                   (SELECT sum(p.amount_minor) FROM postings p
                     WHERE p.transaction_id = t.id AND p.direction = 'debit') AS amount
              FROM recurring_occurrences o JOIN transactions t ON t.id = o.transaction_id
             WHERE o.rule_id = $1 ORDER BY o.due_on
            """,
            rule_id,
        )
    return [(r["due_on"], r["booked_on"], r["amount"]) for r in rows]


async def transactions_count(world: PostgresWorld, household_id: int) -> int:
    async with world.pool.acquire() as connection:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM transactions WHERE household_id = $1", household_id
        )
    return count


async def sound(world: PostgresWorld) -> None:
    async with world.pool.acquire() as connection:
        assert await check_ledger(connection) == []


async def test_catch_up_across_months_books_each_due_date_once(world: PostgresWorld) -> None:
    (alice, _) = await world.new_household()
    housing = (await world.accounts(alice))["housing"].id
    rule = await new_rule(
        world,
        alice,
        Schedule(Every.MONTH, 31),
        rent(world, housing, date(2026, 1, 15)),
        starts_on=date(2026, 1, 15),
    )
    recorded = await record_due(date(2026, 5, 2), uow_factory=factory(world), ids=world.ids)
    expected = [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]
    assert recorded == 4
    assert await ledger_of(world, rule) == [(d, d, 1_200_000) for d in expected]
    # Run again, and later: nothing twice, the next month when its day comes.
    assert await record_due(date(2026, 5, 30), uow_factory=factory(world), ids=world.ids) == 0
    assert await record_due(date(2026, 5, 31), uow_factory=factory(world), ids=world.ids) == 1
    assert [d for d, _, _ in await ledger_of(world, rule)] == [*expected, date(2026, 5, 31)]
    await sound(world)


async def test_feb_29_yearly_and_late_monthly_rules(world: PostgresWorld) -> None:
    (alice, _) = await world.new_household()
    housing = (await world.accounts(alice))["housing"].id
    start = date(2027, 1, 1)
    yearly = await new_rule(
        world, alice, Schedule(Every.YEAR, 29, 2), rent(world, housing, start), starts_on=start
    )
    monthly = {
        day: await new_rule(
            world, alice, Schedule(Every.MONTH, day), rent(world, housing, start), starts_on=start
        )
        for day in (29, 30, 31)
    }
    await record_due(date(2029, 3, 1), uow_factory=factory(world), ids=world.ids)
    assert [d for d, _, _ in await ledger_of(world, yearly)] == [
        date(2027, 2, 28),
        date(2028, 2, 29),
        date(2029, 2, 28),
    ]
    for rule in monthly.values():
        february = [d for d, _, _ in await ledger_of(world, rule) if d.month == 2]
        assert february == [date(2027, 2, 28), date(2028, 2, 29), date(2029, 2, 28)]


async def test_two_schedulers_at_once_record_each_date_once(
    world: PostgresWorld, fresh_database_url: str
) -> None:
    """A rolling restart: two processes' schedulers (two pools) catch up the same rules
    at the same time; the (rule, due date) key lets one entry per date through."""
    (alice, bob) = await world.new_household()
    household = await world.household_of(alice)
    accounts = await world.accounts(alice)
    start = date(2026, 6, 1)
    today = date(2026, 11, 30)
    daily = await new_rule(
        world,
        alice,
        Schedule(Every.DAY),
        RecordExpense(uah(40), accounts["coffee"].id, None, start),
        starts_on=start,
    )
    weekly = await new_rule(
        world,
        bob,
        Schedule(Every.WEEK, 0),
        RecordIncome(uah(500), accounts["salary"].id, None, start),
        starts_on=start,
    )
    async with ledger_world(fresh_database_url) as other:
        assert isinstance(other, PostgresWorld)
        done = await asyncio.gather(
            record_due(today, uow_factory=factory(world), ids=world.ids),
            record_due(today, uow_factory=PostgresUnitOfWorkFactory(other.pool), ids=other.ids),
            record_due(today, uow_factory=factory(world), ids=world.ids),
        )
    days = (today - start).days + 1
    mondays = len([d for d in range(days) if (start + timedelta(days=d)).weekday() == 0])
    assert sum(done) == days + mondays
    assert len(await ledger_of(world, daily)) == days
    assert len(await ledger_of(world, weekly)) == mondays
    assert await transactions_count(world, household) == days + mondays
    await sound(world)


async def test_a_second_entry_for_the_same_rule_and_date_is_refused_by_the_database(
    world: PostgresWorld,
) -> None:
    (alice, _) = await world.new_household()
    housing = (await world.accounts(alice))["housing"].id
    day = date(2026, 3, 1)
    rule = await new_rule(
        world, alice, Schedule(Every.MONTH, 1), rent(world, housing, day), starts_on=day
    )
    await record_due(day, uow_factory=factory(world), ids=world.ids)
    recorded = await world.record(rent(world, housing, day), alice)
    async with world.pool.acquire() as connection:
        with pytest.raises(asyncpg.UniqueViolationError):
            await connection.execute(
                "INSERT INTO recurring_occurrences (rule_id, due_on, transaction_id)"
                " VALUES ($1, $2, $3)",
                rule,
                day,
                recorded.transaction_id,
            )


async def test_a_daily_rule_across_kyiv_daylight_saving_changes(world: PostgresWorld) -> None:
    """Ticks every 20 minutes over both changes of 2026: each local day is recorded once,
    at the first tick after local midnight, booked on that day."""
    (alice, _) = await world.new_household()
    coffee = (await world.accounts(alice))["coffee"].id
    for first, last in (
        (date(2026, 3, 28), date(2026, 3, 30)),
        (date(2026, 10, 24), date(2026, 10, 26)),
    ):
        rule = await new_rule(
            world,
            alice,
            Schedule(Every.DAY),
            RecordExpense(uah(40), coffee, None, first),
            starts_on=first,
        )
        moment = datetime(first.year, first.month, first.day, tzinfo=KYIV).astimezone(UTC)
        recorded_at: dict[date, datetime] = {}
        while local_day(moment, KYIV) <= last:
            before = {d for d, _, _ in await ledger_of(world, rule)}
            await record_due(local_day(moment, KYIV), uow_factory=factory(world), ids=world.ids)
            for due, booked, _ in await ledger_of(world, rule):
                assert due == booked
                if due not in before:
                    recorded_at[due] = moment
            moment += timedelta(minutes=20)
        assert sorted(recorded_at) == [first + timedelta(days=n) for n in range(3)]
        for day, at in recorded_at.items():
            local = at.astimezone(KYIV)
            assert (local.date(), local.hour, local.minute) == (day, 0, 0)
        await stop_rule(alice, rule, uow_factory=factory(world))


async def test_an_archived_account_skips_the_date_once_and_stops_the_rule(
    world: PostgresWorld,
) -> None:
    (alice, _) = await world.new_household()
    housing = (await world.accounts(alice))["housing"].id
    savings = await add_account(alice, "копилка", shared=False, uow_factory=world.uow_factory)
    start = date(2026, 1, 1)
    rule = await new_rule(
        world,
        alice,
        Schedule(Every.MONTH, 1),
        RecordExpense(uah(100), housing, savings.id, start),
        starts_on=start,
    )
    await record_due(date(2026, 2, 1), uow_factory=factory(world), ids=world.ids)
    await archive_account(alice, "копилка", uow_factory=world.uow_factory)
    assert await record_due(date(2026, 5, 1), uow_factory=factory(world), ids=world.ids) == 1
    assert [d for d, _, _ in await ledger_of(world, rule)] == [start, date(2026, 2, 1)]
    assert await list_rules(alice, today=date(2026, 5, 1), uow_factory=factory(world)) == []
    told: list[list[OccurrenceNotice]] = []

    async def send(notices: Sequence[OccurrenceNotice]) -> None:
        told.append(list(notices))

    assert await announce(factory(world), send) == 3
    assert await announce(factory(world), send) == 0  # once
    skipped = [n for batch in told for n in batch if n.transaction_id is None]
    assert [(n.due_on, n.skipped) for n in skipped] == [
        (date(2026, 3, 1), f"refused:{AccountArchived.__name__}")
    ]


async def test_a_missing_rate_skips_only_that_date(world: PostgresWorld) -> None:
    """A rule in a currency with no rate (one made before any rate, straight in storage)
    skips each date with the reason and stays live: a rate may come."""
    (alice, _) = await world.new_household()
    household = await world.household_of(alice)
    cafe = (await world.accounts(alice))["cafe"].id
    async with factory(world)() as uow:
        rule = await uow.recurring.add_rule(
            household_id=household,
            author_telegram_id=alice,
            every="day",
            day=0,
            month=0,
            line="$20 кафе",
            entry={
                "kind": "expense",
                "amount_minor": 2000,
                "currency": "USD",
                "note": "",
                "tags": [],
                "category_id": cafe,
                "account_id": None,
            },
            starts_on=date(2026, 4, 1),
        )
        await uow.commit()
    assert await record_due(date(2026, 4, 2), uow_factory=factory(world), ids=world.ids) == 2
    assert await ledger_of(world, rule) == []
    views = await list_rules(alice, today=date(2026, 4, 2), uow_factory=factory(world))
    assert [v.number for v in views] == [rule]
    assert views[0].next_due == date(2026, 4, 3)
    reasons: list[str | None] = []

    async def send(notices: Sequence[OccurrenceNotice]) -> None:
        reasons.extend(n.skipped for n in notices)

    await announce(factory(world), send)
    assert reasons == ["no_rate:USD"] * 2


async def test_a_stopped_rule_records_nothing_more_and_keeps_what_it_did(
    world: PostgresWorld,
) -> None:
    (alice, bob) = await world.new_household()
    accounts = await world.accounts(alice)
    start = date(2026, 9, 1)
    rule = await new_rule(
        world,
        alice,
        Schedule(Every.WEEK, 0),
        RecordTransfer(uah(500), accounts["card"].id, accounts["cash"].id, start),
        starts_on=start,
        line="500 карта > наличные",
    )
    await record_due(date(2026, 9, 14), uow_factory=factory(world), ids=world.ids)
    assert await stop_rule(bob, rule, uow_factory=factory(world))  # a household's rule
    assert not await stop_rule(bob, rule, uow_factory=factory(world))
    await record_due(date(2026, 12, 1), uow_factory=factory(world), ids=world.ids)
    assert [d for d, _, _ in await ledger_of(world, rule)] == [date(2026, 9, 7), date(2026, 9, 14)]
    (stranger, _) = await world.new_household()
    assert not await stop_rule(stranger, rule, uow_factory=factory(world))


async def test_a_refused_line_makes_no_rule(world: PostgresWorld) -> None:
    (alice, _) = await world.new_household()
    cafe = (await world.accounts(alice))["cafe"].id
    day = date(2026, 4, 1)
    with pytest.raises(NoRate):
        await new_rule(
            world,
            alice,
            Schedule(Every.DAY),
            RecordExpense(Money(2000, "USD"), cafe, None, day),
            starts_on=day,
        )
    assert await list_rules(alice, today=day, uow_factory=factory(world)) == []


async def test_a_failed_send_is_sent_again_then_marked(world: PostgresWorld) -> None:
    """The outbox: the rows stay unsent until the send returned and the mark committed."""
    (alice, _) = await world.new_household()
    housing = (await world.accounts(alice))["housing"].id
    start = date(2026, 1, 1)
    await new_rule(
        world, alice, Schedule(Every.MONTH, 1), rent(world, housing, start), starts_on=start
    )
    await record_due(date(2026, 3, 1), uow_factory=factory(world), ids=world.ids)

    async def broken(notices: Sequence[OccurrenceNotice]) -> None:
        raise ConnectionError("Telegram unreachable")

    with pytest.raises(ConnectionError):
        await announce(factory(world), broken)
    sent: list[int | None] = []

    async def send(notices: Sequence[OccurrenceNotice]) -> None:
        sent.extend(n.number for n in notices)

    assert await announce(factory(world), send) == 3
    assert sent == [1, 2, 3]


async def test_a_budget_a_scheduled_entry_crosses_is_announced_with_it(
    world: PostgresWorld,
) -> None:
    (alice, _) = await world.new_household()
    housing = (await world.accounts(alice))["housing"].id
    await set_budget(alice, housing, uah(10000), uow_factory=world.uow_factory)
    day = date(2026, 12, 1)
    await new_rule(world, alice, Schedule(Every.MONTH, 1), rent(world, housing, day), starts_on=day)
    await record_due(day, uow_factory=factory(world), ids=world.ids)
    told: list[OccurrenceNotice] = []

    async def send(notices: Sequence[OccurrenceNotice]) -> None:
        told.extend(notices)

    await announce(factory(world), send)
    [notice] = told
    alerts = [BudgetAlert.from_json(dict(alert)) for alert in notice.alerts]
    assert [(a.category_id, a.threshold_pct) for a in alerts] == [(housing, 100)]


async def rule_ids(world: PostgresWorld, household_id: int) -> dict[int, tuple[int, bool]]:
    """Each rule of the household by its number: (its id, whether it is stopped)."""
    async with world.pool.acquire() as connection:
        rows = await connection.fetch(
            "SELECT number, id, stopped_at IS NOT NULL AS stopped FROM recurring_rules"
            " WHERE household_id = $1",
            household_id,
        )
    return {r["number"]: (r["id"], r["stopped"]) for r in rows}


async def test_a_refused_rule_stops_itself_not_the_rule_numbered_like_its_id(
    world: PostgresWorld,
) -> None:
    """Numbers are each household's own, ids the table's: in a second household rule #1
    has another id. When #1 can never be recorded again it is #1 that stops — not #2, the
    rule whose number happens to equal #1's id — and #2 goes on recording."""
    (alice, _) = await world.new_household()
    alice_coffee = (await world.accounts(alice))["coffee"].id
    start = date(2026, 1, 1)
    await new_rule(
        world,
        alice,
        Schedule(Every.MONTH, 1),
        RecordExpense(uah(40), alice_coffee, None, start),
        starts_on=start,
    )
    (bob, _) = await world.new_household()
    household = await world.household_of(bob)
    accounts = await world.accounts(bob)
    savings = await add_account(bob, "копилка", shared=False, uow_factory=world.uow_factory)
    doomed = await new_rule(
        world,
        bob,
        Schedule(Every.MONTH, 1),
        RecordExpense(uah(100), accounts["housing"].id, savings.id, start),
        starts_on=start,
    )
    rent_rule = await new_rule(
        world,
        bob,
        Schedule(Every.MONTH, 1),
        rent(world, accounts["housing"].id, start),
        starts_on=start,
    )
    ids = await rule_ids(world, household)
    assert (doomed, rent_rule) == (1, 2)
    assert ids[doomed][0] == rent_rule  # the trap: #1's id is #2's number
    await archive_account(bob, "копилка", uow_factory=world.uow_factory)

    await record_due(date(2026, 3, 1), uow_factory=factory(world), ids=world.ids)

    ids = await rule_ids(world, household)
    assert ids[doomed][1]  # stopped
    assert not ids[rent_rule][1]
    views = await list_rules(bob, today=date(2026, 3, 1), uow_factory=factory(world))
    assert [v.number for v in views] == [rent_rule]
    expected = [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    assert await ledger_of(world, ids[rent_rule][0]) == [(d, d, 1_200_000) for d in expected]
    assert await ledger_of(world, ids[doomed][0]) == []
    await sound(world)


async def test_a_household_moving_its_time_zone_back_and_forth_books_each_day_once(
    world: PostgresWorld,
) -> None:
    """The scheduler's round (`household_days`, then `record_due`) while the household
    hops from Kyiv to Kiritimati (UTC+14, a day ahead) to Pago Pago (UTC-11, a day
    behind) and home: a day already booked is never booked again when the household's
    day goes back, and no day is skipped when it jumps ahead."""
    (alice, _) = await world.new_household()
    coffee = (await world.accounts(alice))["coffee"].id
    start = date(2026, 11, 29)
    rule = await new_rule(
        world,
        alice,
        Schedule(Every.DAY),
        RecordExpense(uah(40), coffee, None, start),
        starts_on=start,
    )

    async def tick(now: datetime, zone: str | None) -> list[date]:
        if zone is not None:
            await set_timezone(alice, zone, uow_factory=world.uow_factory)
        days = await household_days(now, uow_factory=factory(world))
        await record_due(local_day(now, KYIV), uow_factory=factory(world), ids=world.ids, days=days)
        return [due for due, _, _ in await ledger_of(world, rule)]

    noon = datetime(2026, 11, 30, 12, tzinfo=UTC)
    assert await tick(noon, None) == [date(2026, 11, 29), date(2026, 11, 30)]
    ahead = [date(2026, 11, 29), date(2026, 11, 30), date(2026, 12, 1)]
    assert await tick(noon, "Pacific/Kiritimati") == ahead  # 1 December there
    assert await tick(noon, "Pacific/Pago_Pago") == ahead  # 30 November there, again
    # `/recurring` there and then: the next date not booked yet, not 1 December again.
    (view,) = await list_rules(alice, today=date(2026, 11, 30), uow_factory=factory(world))
    assert view.next_due == date(2026, 12, 2)
    assert await tick(noon + timedelta(hours=13), "Europe/Kyiv") == ahead  # 1 Dec in Kyiv
    assert await tick(noon + timedelta(days=1), "Pacific/Kiritimati") == [
        *ahead,
        date(2026, 12, 2),  # 2 December, 02:00 there
    ]
    for due, booked, amount in await ledger_of(world, rule):
        assert (booked, amount) == (due, 4000)
    assert await transactions_count(world, await world.household_of(alice)) == 4
    await sound(world)
