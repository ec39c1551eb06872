"""When digests fall due (docs/product.md §10, docs/adr/0017): the latest due one at any
moment, the period it reports, the limit on lateness (the digest's own period), DST in
Kyiv, and `/digest`'s words."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from finance_bot.domain.digests import (
    DigestKind,
    DigestOff,
    DigestSchedule,
    DigestShow,
    DigestUnreadable,
    DueDigest,
    digest_due,
    is_due_day,
    latest_digest,
    parse_digest_request,
    reported_period,
    subscribed_since,
    too_late,
)
from finance_bot.domain.periods import Period, PeriodKind

KYIV = ZoneInfo("Europe/Kyiv")
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
DAILY = DigestSchedule.of(DigestKind.DAILY)
WEEKLY = DigestSchedule.of(DigestKind.WEEKLY)
MONTHLY = DigestSchedule.of(DigestKind.MONTHLY)


def kyiv(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=KYIV).astimezone(UTC)


def due(schedule: DigestSchedule, now: datetime) -> date | None:
    """The start of the period of the digest due at `now`, if one is."""
    digest = digest_due(schedule, now, KYIV, since=LONG_AGO)
    return None if digest is None else digest.period_start


# --- the defaults and the periods reported ---


def test_the_defaults_are_21_00_daily_and_09_00_weekly_and_monthly() -> None:
    assert DigestSchedule(DigestKind.DAILY, time(21, 0)) == DAILY
    assert WEEKLY.at == MONTHLY.at == time(9, 0)
    assert DigestSchedule.of(DigestKind.WEEKLY, time(7, 0)).at == time(9, 0)


def test_a_daily_digest_reports_its_day_from_its_time_on() -> None:
    # Wednesday 2 December 2026, Kyiv (UTC+2).
    assert due(DAILY, kyiv(2026, 12, 2, 20, 59)) == date(2026, 12, 1)  # yesterday's, still
    digest = latest_digest(DAILY, kyiv(2026, 12, 2, 21, 0), KYIV)
    assert digest.period == Period(PeriodKind.DAY, date(2026, 12, 2), date(2026, 12, 3))
    assert digest.due_at == datetime(2026, 12, 2, 19, 0, tzinfo=UTC)
    assert digest.local_day == date(2026, 12, 2)


def test_a_weekly_digest_reports_the_monday_to_sunday_before() -> None:
    digest = latest_digest(WEEKLY, kyiv(2026, 12, 7, 9, 0), KYIV)  # a Monday
    assert digest.period == Period(PeriodKind.WEEK, date(2026, 11, 30), date(2026, 12, 7))
    # Sunday evening: the digest due last is the one of Monday 30 November.
    assert latest_digest(WEEKLY, kyiv(2026, 12, 6, 23, 0), KYIV).local_day == date(2026, 11, 30)


def test_a_monthly_digest_reports_the_month_before() -> None:
    digest = latest_digest(MONTHLY, kyiv(2027, 1, 1, 9, 30), KYIV)
    assert digest.period == Period(PeriodKind.MONTH, date(2026, 12, 1), date(2027, 1, 1))
    assert latest_digest(MONTHLY, kyiv(2027, 1, 1, 8, 59), KYIV).local_day == date(2026, 12, 1)


# --- lateness ---


def test_a_digest_late_by_less_than_a_day_is_sent_and_by_a_day_or_more_skipped() -> None:
    assert due(DAILY, kyiv(2026, 12, 2, 23, 0)) == date(2026, 12, 2)
    # Down from before Monday 21:00 to Wednesday 22:00: Wednesday's is due, Monday's and
    # Tuesday's are not (Tuesday's only until Wednesday 21:00).
    assert due(DAILY, kyiv(2026, 12, 2, 20, 59)) == date(2026, 12, 1)
    assert due(DAILY, kyiv(2026, 12, 2, 22, 0)) == date(2026, 12, 2)


def test_a_weekly_digest_is_sent_late_within_its_week_and_skipped_after() -> None:
    # The bot was down from Sunday 6 December to Wednesday 9 December: Monday's digest
    # (the week of 30 November) goes out on Wednesday, two days late.
    assert due(WEEKLY, kyiv(2026, 12, 9, 12, 0)) == date(2026, 11, 30)
    assert due(WEEKLY, kyiv(2026, 12, 14, 8, 59)) == date(2026, 11, 30)
    # Down from Sunday 29 November to Tuesday 8 December: the digest of 30 November was
    # missed by more than a week and is never sent; 7 December's (the week of 30 November)
    # is the one due.
    assert due(WEEKLY, kyiv(2026, 12, 8, 12, 0)) == date(2026, 11, 30)


def test_a_monthly_digest_is_sent_late_within_its_month() -> None:
    assert due(MONTHLY, kyiv(2027, 1, 1, 15, 0)) == date(2026, 12, 1)
    assert due(MONTHLY, kyiv(2027, 1, 3, 9, 0)) == date(2026, 12, 1)
    assert due(MONTHLY, kyiv(2027, 1, 31, 23, 59)) == date(2026, 12, 1)
    assert due(MONTHLY, kyiv(2027, 2, 1, 9, 0)) == date(2027, 1, 1)


def test_a_digest_missed_by_more_than_its_period_is_skipped() -> None:
    # Only the latest digest due is ever sent: the one before, missed by more than its
    # period, is not — nor is the latest when the next one is late by a whole period.
    monday = DueDigest(
        DigestKind.WEEKLY,
        kyiv(2026, 11, 30, 9, 0),
        date(2026, 11, 30),
        reported_period(DigestKind.WEEKLY, date(2026, 11, 30)),
    )
    assert not too_late(monday, kyiv(2026, 12, 7, 8, 59))
    assert too_late(monday, kyiv(2026, 12, 7, 9, 0))


def test_digests_due_before_the_setting_are_not_the_persons() -> None:
    asked = subscribed_since(kyiv(2026, 12, 2, 21, 5))
    assert digest_due(DAILY, kyiv(2026, 12, 2, 21, 10), KYIV, since=asked) is None
    assert digest_due(DAILY, kyiv(2026, 12, 3, 21, 0), KYIV, since=asked) is not None
    # Asked within the minute the digest falls due: that digest is theirs.
    same_minute = subscribed_since(kyiv(2026, 12, 2, 21, 0) + timedelta(seconds=40))
    assert digest_due(DAILY, kyiv(2026, 12, 2, 21, 1), KYIV, since=same_minute) is not None


# --- DST in Kyiv ---


@pytest.mark.parametrize(
    "day",
    [date(2026, 3, 29), date(2026, 10, 25)],  # spring forward, fall back
)
@pytest.mark.parametrize("at", [time(21, 0), time(3, 30), time(0, 0), time(4, 0)])
def test_on_the_days_the_clocks_move_each_daily_digest_falls_due_once(day: date, at: time) -> None:
    schedule = DigestSchedule.of(DigestKind.DAILY, at)
    start = datetime.combine(day, time(0, 0), tzinfo=KYIV).astimezone(UTC) - timedelta(hours=2)
    seen: list[date] = []
    for minute in range(0, 30 * 60, 5):  # every five minutes for thirty hours
        period = due(schedule, start + timedelta(minutes=minute))
        if period is not None and (not seen or seen[-1] != period):
            seen.append(period)
    assert seen.count(day) == 1
    assert sorted(seen) == seen


def test_21_00_on_the_dst_days_is_21_00_local() -> None:
    for day in (date(2026, 3, 29), date(2026, 10, 25)):
        digest = latest_digest(DAILY, datetime.combine(day, time(23, 0), tzinfo=KYIV), KYIV)
        assert digest.due_at.astimezone(KYIV).time() == time(21, 0)
        assert digest.local_day == day


# --- zones whose clocks move at midnight ---


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        ("America/Santiago", date(2026, 9, 6)),  # 00:00 -04 becomes 01:00 -03
        ("Asia/Beirut", date(2026, 3, 29)),  # 00:00 +02 becomes 01:00 +03
        ("America/Havana", date(2026, 3, 8)),  # 00:00 -05 becomes 01:00 -04
    ],
)
def test_a_digest_at_a_midnight_the_clocks_skip_falls_due_once_just_after(
    zone: str, day: date
) -> None:
    """`/digest daily 00:00` on the day that has no midnight: due once, at 01:00 new
    time, the instant the day begins, and it reports that day."""
    local = ZoneInfo(zone)
    schedule = DigestSchedule.of(DigestKind.DAILY, time(0, 0))
    start = datetime.combine(day, time(12, 0), tzinfo=local).astimezone(UTC) - timedelta(days=1)
    seen: dict[date, datetime] = {}
    for minute in range(0, 2 * 24 * 60, 5):
        now = start + timedelta(minutes=minute)
        digest = digest_due(schedule, now, local, since=start)
        if digest is not None:
            seen.setdefault(digest.period_start, now)
    assert sorted(seen) == [day, day + timedelta(days=1)]  # noon before to noon after
    first = seen[day].astimezone(local)
    assert (first.date(), first.hour, first.minute) == (day, 1, 0)


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        ("America/Santiago", date(2026, 4, 4)),  # 23:59 -03 is followed by 23:00 -04
        ("Asia/Beirut", date(2026, 10, 24)),  # 23:59 +03 is followed by 23:00 +02
    ],
)
def test_a_digest_in_an_hour_that_comes_twice_before_midnight_goes_once(
    zone: str, day: date
) -> None:
    """`/digest daily 23:30` on the day whose last hour repeats: due at the first 23:30,
    and the second 23:30 is the same digest, the same day, not a new one."""
    local = ZoneInfo(zone)
    schedule = DigestSchedule.of(DigestKind.DAILY, time(23, 30))
    first = datetime(day.year, day.month, day.day, 23, 30, tzinfo=local).astimezone(UTC)
    second = datetime(day.year, day.month, day.day, 23, 30, fold=1, tzinfo=local)
    assert second.astimezone(UTC) - first == timedelta(hours=1)
    for now in (first, second.astimezone(UTC), first + timedelta(hours=2)):
        digest = digest_due(schedule, now, local, since=first - timedelta(days=2))
        assert digest is not None
        assert digest.due_at == first
        assert digest.period == Period.containing(PeriodKind.DAY, day)
    assert digest_due(schedule, first - timedelta(minutes=1), local, since=first) is None


# --- properties ---

moments = st.datetimes(
    min_value=datetime(2001, 1, 1), max_value=datetime(2099, 1, 1), timezones=st.just(UTC)
)
schedules = st.one_of(
    st.builds(
        lambda h, m: DigestSchedule.of(DigestKind.DAILY, time(h, m)),
        st.integers(0, 23),
        st.integers(0, 59),
    ),
    st.just(WEEKLY),
    st.just(MONTHLY),
)
zones = st.sampled_from(
    [
        KYIV,
        ZoneInfo("UTC"),
        ZoneInfo("America/New_York"),
        # Midnight does not exist on the day the clocks go forward there, and the hour
        # before midnight comes twice on the day they go back.
        ZoneInfo("America/Santiago"),
        ZoneInfo("America/Havana"),
        ZoneInfo("Asia/Beirut"),
        ZoneInfo("Australia/Lord_Howe"),  # a half-hour change
        ZoneInfo("Pacific/Kiritimati"),  # UTC+14: a day ahead of most of the world
        ZoneInfo("Pacific/Pago_Pago"),  # UTC-11
    ]
)


@given(schedules, moments, zones)
def test_the_latest_digest_is_due_by_now_on_a_due_day_and_none_falls_between(
    schedule: DigestSchedule, now: datetime, zone: ZoneInfo
) -> None:
    digest = latest_digest(schedule, now, zone)
    assert digest.due_at <= now
    assert is_due_day(schedule.kind, digest.local_day)
    assert digest.due_at.astimezone(zone).date() >= digest.local_day - timedelta(days=1)
    # The next due day's moment is after now: nothing newer was skipped over.
    later = [
        digest.local_day + timedelta(days=n)
        for n in range(1, 33)
        if is_due_day(schedule.kind, digest.local_day + timedelta(days=n))
    ]
    following = datetime.combine(later[0], schedule.at, tzinfo=zone).astimezone(UTC)
    assert following > now
    # The period reported ends on the due day (daily: is that day).
    assert digest.period.contains(digest.local_day) or digest.period.end == digest.local_day


@given(schedules, moments, zones, st.integers(1, 3 * 24 * 60))
def test_the_period_due_never_goes_back_as_time_goes_on(
    schedule: DigestSchedule, now: datetime, zone: ZoneInfo, minutes: int
) -> None:
    earlier = latest_digest(schedule, now, zone)
    later = latest_digest(schedule, now + timedelta(minutes=minutes), zone)
    assert later.period_start >= earlier.period_start


@given(schedules, moments, zones)
def test_a_scheduler_ticking_every_half_hour_sends_every_period_once(
    schedule: DigestSchedule, start: datetime, zone: ZoneInfo
) -> None:
    """Ticks every 30 minutes over 40 days: each due day's digest is due at some tick, so
    a bot that is up sends every one, and the sent-log key keeps it to one."""
    sent: set[date] = set()
    due_days = set()
    for tick in range(0, 40 * 48):
        now = start + timedelta(minutes=30 * tick)
        digest = digest_due(schedule, now, zone, since=start)
        if digest is not None:
            sent.add(digest.local_day)
    first = start.astimezone(zone).date()
    last = (start + timedelta(days=39)).astimezone(zone).date()
    for offset in range(1, (last - first).days):
        day = first + timedelta(days=offset)
        if is_due_day(schedule.kind, day):
            due_days.add(day)
    assert due_days <= sent


# --- /digest's words ---


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (None, DigestShow()),
        ("", DigestShow()),
        ("daily", DigestSchedule(DigestKind.DAILY, time(21, 0))),
        ("Daily 08:30", DigestSchedule(DigestKind.DAILY, time(8, 30))),
        ("daily 7:05", DigestSchedule(DigestKind.DAILY, time(7, 5))),
        ("ежедневно 23.59", DigestSchedule(DigestKind.DAILY, time(23, 59))),
        ("weekly", DigestSchedule(DigestKind.WEEKLY, time(9, 0))),
        ("monthly", DigestSchedule(DigestKind.MONTHLY, time(9, 0))),
        ("off", DigestOff()),
        ("выкл", DigestOff()),
        ("hourly", DigestUnreadable()),
        ("daily 25:00", DigestUnreadable(bad_time="25:00")),
        ("daily 21:60", DigestUnreadable(bad_time="21:60")),
        ("daily noon", DigestUnreadable(bad_time="noon")),
        ("weekly 10:00", DigestUnreadable()),
        ("daily 21:00 22:00", DigestUnreadable()),
        ("off now", DigestUnreadable()),
    ],
)
def test_digest_requests_are_read(args: str | None, expected: object) -> None:
    assert parse_digest_request(args) == expected
