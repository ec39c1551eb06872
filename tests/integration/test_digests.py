"""Digests against real PostgreSQL (docs/product.md §10, docs/adr/0017): the job sends each
person's digest once per period — with two schedulers at once, after a restart, never
late by a day or more, across DST in Kyiv — and a person who blocked the bot holds up
nobody. The sender records what would have gone to Telegram."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter
from aiogram.methods import SendMessage

from finance_bot.adapters.postgres.roles import APP, login_url
from finance_bot.adapters.telegram.digests import DigestJob
from finance_bot.adapters.telegram.i18n import Catalog
from finance_bot.application.budgets import set_budget
from finance_bot.application.digests import pending_digests, set_digest
from finance_bot.application.membership import set_timezone
from finance_bot.domain.digests import DigestKind, DigestSchedule
from tests.support.household import Household, PostgresWorld, ledger_world, uah

pytestmark = pytest.mark.postgres

KYIV = ZoneInfo("Europe/Kyiv")
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
DAILY = DigestSchedule.of(DigestKind.DAILY)
WEEKLY = DigestSchedule.of(DigestKind.WEEKLY)
MONTHLY = DigestSchedule.of(DigestKind.MONTHLY)
CATALOG = Catalog.load()


def kyiv(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=KYIV).astimezone(UTC)


class Recorder:
    """Telegram as the job sees it: what was sent to whom; some people refuse."""

    def __init__(self, refusals: dict[int, list[Exception]] | None = None) -> None:
        self.sent: list[tuple[int, str]] = []
        self.refusals = refusals or {}

    async def __call__(self, chat_id: int, text: str) -> None:
        await asyncio.sleep(0.01)  # a request's round trip: another scheduler may run
        queued = self.refusals.get(chat_id)
        if queued:
            raise queued.pop(0)
        self.sent.append((chat_id, text))

    def to(self, chat_id: int) -> list[str]:
        return [text for who, text in self.sent if who == chat_id]


def job(world: PostgresWorld, send: Recorder, *, whitelist: set[int] | None = None) -> DigestJob:
    return DigestJob(
        uow_factory=world.uow_factory,
        catalog=CATALOG,
        timezone=KYIV,
        fallback_language="ru",
        send=send,
        serves=(lambda _: True) if whitelist is None else whitelist.__contains__,
    )


def runtime(url: str) -> str:
    """The bot's own least-privilege login: the job works within its grants."""
    return login_url(url, APP)


@pytest.fixture
async def world(fresh_database_url: str) -> AsyncIterator[PostgresWorld]:
    # A database of the test's own: the job serves every subscriber it finds.
    async with ledger_world(runtime(fresh_database_url)) as opened:
        yield opened


@pytest.fixture
async def home(world: PostgresWorld) -> Household:
    household = await world.household()
    async with world.uow_factory(person=household.bob) as uow:
        await uow.directory.set_language(household.bob, "en")
        await uow.commit()
    return household


async def subscribe(
    world: PostgresWorld, who: int, schedule: DigestSchedule, since: datetime = LONG_AGO
) -> None:
    await set_digest(who, schedule, now=since, uow_factory=world.uow_factory)


async def log_rows(world: PostgresWorld) -> list[tuple[int, str, date, str]]:
    rows = []
    async with world.pool.acquire() as connection:
        # The bot's role sees one household at a time (docs/adr/0021).
        for (household_id,) in await connection.fetch("SELECT household_ids()"):
            async with connection.transaction():
                await connection.execute(
                    "SELECT set_config('finance_bot.household', $1::bigint::text, true)",
                    household_id,
                )
                rows += await connection.fetch(
                    "SELECT telegram_id, kind, period_start, state FROM digests_sent"
                )
    return sorted((r["telegram_id"], r["kind"], r["period_start"], r["state"]) for r in rows)


# --- what a digest says ---


async def test_a_daily_digest_is_the_days_report_and_the_budgets_in_each_persons_language(
    world: PostgresWorld, home: Household
) -> None:
    await home.spend(250, "cafe", on=date(2026, 12, 2))
    await home.spend(100, "taxi", who=home.bob, on=date(2026, 12, 2))
    await home.spend(999, "cafe", on=date(2026, 12, 1))  # another day: not in it
    await set_budget(home.alice, None, uah(5000), uow_factory=world.uow_factory)
    await subscribe(world, home.alice, DAILY)
    await subscribe(world, home.bob, DAILY)
    sent = Recorder()

    await job(world, sent).run(kyiv(2026, 12, 2, 21, 0))

    (alice,) = sent.to(home.alice)
    assert alice.startswith("📬 Сводка за день\nСегодня, 02.12.2026")
    assert "350,00" in alice
    assert "999" not in alice
    assert "Бюджеты на декабрь 2026:" in alice
    (bob,) = sent.to(home.bob)
    assert bob.startswith("📬 Daily digest\n")
    assert "350.00" in bob
    assert "Budgets for December 2026:" in bob
    assert await log_rows(world) == [
        (home.alice, "daily", date(2026, 12, 2), "sent"),
        (home.bob, "daily", date(2026, 12, 2), "sent"),
    ]


async def test_an_empty_period_still_gets_its_digest_saying_nothing_was_spent(
    world: PostgresWorld, home: Household
) -> None:
    await subscribe(world, home.bob, DAILY)
    sent = Recorder()
    await job(world, sent).run(kyiv(2026, 12, 2, 21, 0))
    (bob,) = sent.to(home.bob)
    assert CATALOG.translator("en")("report_nothing") in bob
    assert "Budgets" not in bob  # no budgets set: no section, not a "set one" hint


async def test_a_weekly_digest_reports_the_week_before_and_a_monthly_the_month_before(
    world: PostgresWorld, home: Household
) -> None:
    await home.spend(111, "cafe", on=date(2026, 11, 25))  # Wednesday of the week before
    await home.spend(222, "cafe", on=date(2026, 12, 7))  # the Monday the digest goes
    await home.spend(333, "cafe", on=date(2026, 11, 2))  # November, not that week
    await subscribe(world, home.bob, WEEKLY)
    # Asked for after 1 November's digest fell due: December's is the first hers.
    await subscribe(world, home.alice, MONTHLY, since=kyiv(2026, 11, 2, 12, 0))
    sent = Recorder()

    await job(world, sent).run(kyiv(2026, 11, 30, 9, 0))  # a Monday
    (week,) = sent.to(home.bob)
    assert week.startswith("📬 Weekly digest\n")
    assert "111.00" in week
    assert "222" not in week
    assert "333" not in week

    await job(world, sent).run(kyiv(2026, 12, 1, 9, 0))
    (month,) = sent.to(home.alice)
    assert month.startswith("📬 Сводка за месяц\nНоябрь 2026")
    assert "444,00" in month
    assert "222" not in month


# --- exactly once ---


async def test_two_schedulers_at_once_send_each_digest_once(
    world: PostgresWorld, fresh_database_url: str
) -> None:
    people = await world.new_household(6)
    for who in people:
        await subscribe(world, who, DAILY)
    sent = Recorder()
    async with ledger_world(runtime(fresh_database_url)) as other:  # a second process's own pool
        first, second = job(world, sent), job(other, sent)
        for day in range(1, 6):
            now = kyiv(2026, 12, day, 21, 0)
            await asyncio.gather(first.run(now), second.run(now))
        # The race made certain: both saw every digest pending, one sent them all, then
        # the other tried each from its stale list.
        now = kyiv(2026, 12, 6, 21, 0)
        stale = await pending_digests(now, KYIV, uow_factory=other.uow_factory)
        assert len(stale) == len(people)
        await first.run(now)
        for pending in stale:
            await second.deliver(pending)
    for who in people:
        assert len(sent.to(who)) == 6, who
    assert len(await log_rows(world)) == 6 * len(people)


async def test_a_restart_after_the_digest_went_out_sends_nothing_again(
    world: PostgresWorld, home: Household, fresh_database_url: str
) -> None:
    await subscribe(world, home.alice, DAILY)
    sent = Recorder()
    await job(world, sent).run(kyiv(2026, 12, 2, 21, 0))
    async with ledger_world(runtime(fresh_database_url)) as restarted:
        again = job(restarted, sent)
        for minutes in (0, 1, 30, 179):
            await again.run(kyiv(2026, 12, 2, 21, 0) + timedelta(minutes=minutes))
        assert len(sent.to(home.alice)) == 1
        await again.run(kyiv(2026, 12, 3, 21, 0))
    assert [text.splitlines()[1] for text in sent.to(home.alice)] == [
        "Сегодня, 02.12.2026",
        "Сегодня, 03.12.2026",
    ]


async def test_downtime_skips_what_was_missed_by_more_than_its_period(
    world: PostgresWorld, home: Household
) -> None:
    await subscribe(world, home.alice, DAILY)
    await subscribe(world, home.bob, WEEKLY)
    sent = Recorder()
    digests = job(world, sent)
    # Up on Saturday 28 November, then down until Wednesday 9 December at noon.
    await digests.run(kyiv(2026, 11, 28, 21, 0))
    assert len(sent.to(home.bob)) == 1  # Monday 23 November's, five days late, within its week
    await digests.run(kyiv(2026, 12, 9, 12, 0))
    await digests.run(kyiv(2026, 12, 9, 21, 0))
    # Monday 30 November's was missed by more than a week: skipped. Monday 7 December's,
    # two days late, went out when the bot came back.
    assert [text.splitlines()[1] for text in sent.to(home.bob)] == [
        "Week 2026-11-16 — 2026-11-22",
        "Week 2026-11-30 — 2026-12-06",
    ]
    assert [text.splitlines()[1] for text in sent.to(home.alice)] == [
        "Сегодня, 28.11.2026",
        # Every day from Sunday to Monday was missed by a day or more; Tuesday's, 15 hours
        # late, went out when the bot came back.
        "Сегодня, 08.12.2026",
        "Сегодня, 09.12.2026",
    ]
    assert [(row[1], row[2], row[3]) for row in await log_rows(world)] == [
        ("daily", date(2026, 11, 28), "sent"),
        ("daily", date(2026, 12, 8), "sent"),
        ("daily", date(2026, 12, 9), "sent"),
        ("weekly", date(2026, 11, 16), "sent"),
        ("weekly", date(2026, 11, 30), "sent"),
    ]


async def test_a_digest_late_within_its_period_is_sent_late(
    world: PostgresWorld, home: Household
) -> None:
    await subscribe(world, home.bob, WEEKLY)
    sent = Recorder()
    await job(world, sent).run(kyiv(2026, 12, 13, 23, 0))  # Monday 09:00's, six days late
    assert len(sent.to(home.bob)) == 1


@pytest.mark.parametrize("day", [date(2026, 3, 29), date(2026, 10, 25)])
async def test_on_the_days_the_clocks_move_21_00_is_sent_once(
    world: PostgresWorld, home: Household, day: date
) -> None:
    start = datetime.combine(day, time(0, 0), tzinfo=KYIV).astimezone(UTC)
    await subscribe(world, home.alice, DAILY, since=start)
    sent = Recorder()
    digests = job(world, sent)
    sent_at = []
    for tick in range(0, 27 * 4):  # every quarter of an hour, 27 hours
        now = start + timedelta(minutes=15 * tick)
        before = len(sent.sent)
        await digests.run(now)
        if len(sent.sent) > before:
            sent_at.append(now.astimezone(KYIV))
    assert [moment.time() for moment in sent_at] == [time(21, 0)]
    assert sent_at[0].date() == day
    assert len(sent.to(home.alice)) == 1


# --- Telegram says no ---


async def test_a_person_who_blocked_the_bot_holds_up_nobody_and_their_digest_goes_off(
    world: PostgresWorld, home: Household
) -> None:
    blocked = TelegramForbiddenError(
        method=SendMessage(chat_id=home.alice, text="…"),
        message="Forbidden: bot was blocked by the user",
    )
    sent = Recorder({home.alice: [blocked]})
    await subscribe(world, home.alice, DAILY)
    await subscribe(world, home.bob, DAILY)
    digests = job(world, sent)

    await digests.run(kyiv(2026, 12, 2, 21, 0))

    assert sent.to(home.alice) == []
    assert len(sent.to(home.bob)) == 1
    assert await log_rows(world) == [
        (home.alice, "daily", date(2026, 12, 2), "refused"),
        (home.bob, "daily", date(2026, 12, 2), "sent"),
    ]
    async with home.factory() as uow:
        assert await uow.digests.subscription(home.alice) is None
        assert await uow.digests.subscription(home.bob) is not None
    await digests.run(kyiv(2026, 12, 3, 21, 0))
    assert sent.to(home.alice) == []
    assert len(sent.to(home.bob)) == 2


async def test_a_flood_limit_gives_the_claim_back_for_the_next_tick(
    world: PostgresWorld, home: Household
) -> None:
    flood = TelegramRetryAfter(
        method=SendMessage(chat_id=home.alice, text="…"), message="Too Many Requests", retry_after=5
    )
    sent = Recorder({home.alice: [flood]})
    await subscribe(world, home.alice, DAILY)
    digests = job(world, sent)
    await digests.run(kyiv(2026, 12, 2, 21, 0))
    assert sent.to(home.alice) == []
    assert await log_rows(world) == []
    await digests.run(kyiv(2026, 12, 2, 21, 1))
    assert len(sent.to(home.alice)) == 1


async def test_no_answer_from_telegram_leaves_the_claim_so_the_digest_is_not_sent_twice(
    world: PostgresWorld, home: Household
) -> None:
    sent = Recorder({home.alice: [TimeoutError()]})
    await subscribe(world, home.alice, DAILY)
    digests = job(world, sent)
    await digests.run(kyiv(2026, 12, 2, 21, 0))
    await digests.run(kyiv(2026, 12, 2, 21, 1))
    assert sent.to(home.alice) == []
    assert await log_rows(world) == [(home.alice, "daily", date(2026, 12, 2), "sending")]


# --- settings ---


async def test_a_digest_due_before_the_setting_is_not_sent(
    world: PostgresWorld, home: Household
) -> None:
    await subscribe(world, home.alice, DAILY, since=kyiv(2026, 12, 2, 21, 5))
    sent = Recorder()
    await job(world, sent).run(kyiv(2026, 12, 2, 21, 10))
    assert sent.sent == []
    await job(world, sent).run(kyiv(2026, 12, 3, 21, 0))
    assert len(sent.to(home.alice)) == 1


async def test_switching_off_stops_the_digests(world: PostgresWorld, home: Household) -> None:
    assert await world.pool.fetchval("SELECT current_user") == APP
    await subscribe(world, home.alice, DAILY)
    assert await set_digest(home.alice, None, now=LONG_AGO, uow_factory=world.uow_factory)
    assert not await set_digest(home.alice, None, now=LONG_AGO, uow_factory=world.uow_factory)
    sent = Recorder()
    await job(world, sent).run(kyiv(2026, 12, 2, 21, 0))
    assert sent.sent == []


async def test_someone_taken_off_the_whitelist_gets_no_more_digests(
    world: PostgresWorld, home: Household
) -> None:
    await subscribe(world, home.alice, DAILY)
    await subscribe(world, home.bob, DAILY)
    sent = Recorder()
    await job(world, sent, whitelist={home.bob}).run(kyiv(2026, 12, 2, 21, 0))
    assert sent.to(home.alice) == []
    assert len(sent.to(home.bob)) == 1
    assert [row[0] for row in await log_rows(world)] == [home.bob]


# --- the household's own time zone ---


async def test_a_daily_digest_follows_the_households_zone_and_a_move_sends_no_day_twice(
    world: PostgresWorld, home: Household
) -> None:
    """The deployment is in Kyiv; the household first in Kiritimati (UTC+14), then in
    Pago Pago (UTC-11), then back: each digest goes at 21:00 of the household's own day,
    reports that day, and a day already reported is not reported again when the move
    turns the household's clock back by a day."""
    await set_timezone(home.alice, "Pacific/Kiritimati", uow_factory=world.uow_factory)
    await home.spend(111, "cafe", on=date(2026, 12, 2))
    await home.spend(222, "cafe", on=date(2026, 12, 3))
    utc = datetime(2026, 12, 2, 6, 59, tzinfo=UTC)  # 20:59 on the 2nd in Kiritimati
    await subscribe(world, home.bob, DAILY, since=utc - timedelta(hours=1))
    sent = Recorder()

    await job(world, sent).run(utc)
    assert sent.to(home.bob) == []
    await job(world, sent).run(utc + timedelta(minutes=1))  # 21:00 there
    assert len(sent.to(home.bob)) == 1
    await job(world, sent).run(kyiv(2026, 12, 2, 21, 0))  # Kyiv's 21:00: not the household's
    await set_timezone(home.alice, "Pacific/Pago_Pago", uow_factory=world.uow_factory)
    utc = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)  # 21:00 on the 2nd in Pago Pago
    await job(world, sent).run(utc)  # the 2nd again, there: reported already
    await job(world, sent).run(utc + timedelta(days=1))  # the 3rd
    await set_timezone(home.alice, "Pacific/Kiritimati", uow_factory=world.uow_factory)
    await job(world, sent).run(utc + timedelta(days=1, minutes=1))  # the 4th, 22:01 there

    days = [text.splitlines()[1] for text in sent.to(home.bob)]
    assert days == ["Today, 2026-12-02", "Today, 2026-12-03", "Today, 2026-12-04"]
    first, second, third = sent.to(home.bob)
    assert "111.00" in first
    assert "222" not in first
    assert "222.00" in second
    assert "111" not in second
    assert CATALOG.translator("en")("report_nothing") in third
    assert [row[2] for row in await log_rows(world)] == [
        date(2026, 12, 2),
        date(2026, 12, 3),
        date(2026, 12, 4),
    ]
