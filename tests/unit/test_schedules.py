"""Schedules of repeating entries: reading them, and their due dates (domain.schedules)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from finance_bot.domain.periods import EARLIEST_DAY
from finance_bot.domain.schedules import (
    Every,
    RuleText,
    Schedule,
    ScheduleError,
    ScheduleProblem,
    first_due,
    local_day,
    occurrences,
    read_from,
    read_rule,
)

TODAY = date(2026, 12, 2)
KYIV = ZoneInfo("Europe/Kyiv")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("month 1 12000 аренда", RuleText(Schedule(Every.MONTH, 1), "12000 аренда", TODAY)),
        ("month 25 +30000 зарплата", RuleText(Schedule(Every.MONTH, 25), "+30000 зарплата", TODAY)),
        (
            "week пн 500 карта > копилка",
            RuleText(Schedule(Every.WEEK, 0), "500 карта > копилка", TODAY),
        ),
        ("week Sunday 5 x", RuleText(Schedule(Every.WEEK, 6), "5 x", TODAY)),
        ("week пятница 5 x", RuleText(Schedule(Every.WEEK, 4), "5 x", TODAY)),
        (
            "year 01.03 1200 страховка",
            RuleText(Schedule(Every.YEAR, 1, 3), "1200 страховка", TODAY),
        ),
        ("year 29.02 10 x", RuleText(Schedule(Every.YEAR, 29, 2), "10 x", TODAY)),
        ("day 40 кофе", RuleText(Schedule(Every.DAY), "40 кофе", TODAY)),
        ("Месяц 31 5 x", RuleText(Schedule(Every.MONTH, 31), "5 x", TODAY)),
        ("day 40 кофе from 01.09", RuleText(Schedule(Every.DAY), "40 кофе", date(2026, 9, 1))),
        ("day 40 кофе с 01.12", RuleText(Schedule(Every.DAY), "40 кофе", date(2026, 12, 1))),
        # a year-less date after today is last year's, as in a chat line
        ("day 40 кофе from 25.12", RuleText(Schedule(Every.DAY), "40 кофе", date(2025, 12, 25))),
        ("day 40 кофе from 01.02.2025", RuleText(Schedule(Every.DAY), "40 кофе", date(2025, 2, 1))),
        ("day 1 x from 29.02", RuleText(Schedule(Every.DAY), "1 x", date(2024, 2, 29))),
    ],
)
def test_rules_are_read(text: str, expected: RuleText) -> None:
    assert read_rule(text, today=TODAY) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", ScheduleProblem.MISSING),
        ("fortnight 5 x", ScheduleProblem.UNKNOWN_PERIOD),
        ("12000 аренда", ScheduleProblem.UNKNOWN_PERIOD),
        ("month 0 5 x", ScheduleProblem.BAD_MONTH_DAY),
        ("month 32 5 x", ScheduleProblem.BAD_MONTH_DAY),
        ("month -1 5 x", ScheduleProblem.BAD_MONTH_DAY),
        ("month ３ 5 x", ScheduleProblem.BAD_MONTH_DAY),
        ("month", ScheduleProblem.BAD_MONTH_DAY),
        ("week someday 5 x", ScheduleProblem.BAD_WEEKDAY),
        ("week", ScheduleProblem.BAD_WEEKDAY),
        ("year 31.02 5 x", ScheduleProblem.BAD_YEAR_DAY),
        ("year 1.13 5 x", ScheduleProblem.BAD_YEAR_DAY),
        ("year 01.03.2026 5 x", ScheduleProblem.BAD_YEAR_DAY),
        ("year март 5 x", ScheduleProblem.BAD_YEAR_DAY),
        ("day 5 x from 31.02", ScheduleProblem.BAD_FROM),
        ("day 5 x from 01.01.1999", ScheduleProblem.BAD_FROM),
        ("day 5 x from вчера", ScheduleProblem.BAD_FROM),
        ("month 5", ScheduleProblem.NO_LINE),
        ("day from 01.11", ScheduleProblem.NO_LINE),
    ],
)
def test_bad_schedules_are_named(text: str, problem: ScheduleProblem) -> None:
    found = read_rule(text, today=TODAY)
    assert isinstance(found, ScheduleError)
    assert found.problem is problem


def test_day_31_uses_a_short_months_last_day() -> None:
    found = list(occurrences(Schedule(Every.MONTH, 31), date(2027, 1, 1), date(2027, 12, 31)))
    assert [d.day for d in found] == [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


@pytest.mark.parametrize(("day", "leap", "common"), [(29, 29, 28), (30, 29, 28), (31, 29, 28)])
def test_late_month_days_in_february(day: int, leap: int, common: int) -> None:
    schedule = Schedule(Every.MONTH, day)
    assert list(occurrences(schedule, date(2028, 2, 1), date(2028, 2, 29))) == [date(2028, 2, leap)]
    assert list(occurrences(schedule, date(2027, 2, 1), date(2027, 2, 28))) == [
        date(2027, 2, common)
    ]


def test_a_yearly_29_february_falls_on_the_28th_in_a_common_year() -> None:
    found = list(occurrences(Schedule(Every.YEAR, 29, 2), date(2026, 1, 1), date(2029, 12, 31)))
    assert found == [date(2026, 2, 28), date(2027, 2, 28), date(2028, 2, 29), date(2029, 2, 28)]


def test_weekly_and_daily() -> None:
    mondays = list(occurrences(Schedule(Every.WEEK, 0), date(2026, 12, 1), date(2026, 12, 31)))
    assert mondays == [date(2026, 12, d) for d in (7, 14, 21, 28)]
    assert len(list(occurrences(Schedule(Every.DAY), date(2024, 1, 1), date(2024, 12, 31)))) == 366


def test_nothing_is_due_before_the_start_or_in_an_empty_span() -> None:
    assert list(occurrences(Schedule(Every.MONTH, 1), date(2026, 12, 2), date(2026, 12, 31))) == []
    assert list(occurrences(Schedule(Every.DAY), date(2026, 12, 2), date(2026, 12, 1))) == []
    assert first_due(Schedule(Every.MONTH, 1), date(2026, 12, 2)) == date(2027, 1, 1)
    assert first_due(Schedule(Every.YEAR, 1, 3), date(2026, 3, 1)) == date(2026, 3, 1)


schedules = st.one_of(
    st.just(Schedule(Every.DAY)),
    st.integers(0, 6).map(lambda d: Schedule(Every.WEEK, d)),
    st.integers(1, 31).map(lambda d: Schedule(Every.MONTH, d)),
    st.dates(date(2001, 1, 1), date(2001, 12, 31)).map(
        lambda d: Schedule(Every.YEAR, d.day, d.month)
    ),
    st.just(Schedule(Every.YEAR, 29, 2)),
)
days = st.dates(date(2000, 1, 1), date(2100, 12, 31))


@given(schedules, days, st.integers(0, 3 * 366))
def test_occurrences_increase_and_match_the_period(
    schedule: Schedule, start: date, length: int
) -> None:
    end = start + timedelta(days=length)
    found = list(occurrences(schedule, start, end))
    assert all(start <= d <= end for d in found)
    assert all(a < b for a, b in itertools.pairwise(found))
    if schedule.every is Every.DAY:
        assert len(found) == length + 1
    elif schedule.every is Every.WEEK:
        assert all(d.weekday() == schedule.day for d in found)
        assert all((b - a).days == 7 for a, b in itertools.pairwise(found))
    elif schedule.every is Every.MONTH:
        # one per month, never a month skipped, the day clamped to the month's last
        months = [(d.year, d.month) for d in found]
        assert len(set(months)) == len(months)
        for (y1, m1), (y2, m2) in itertools.pairwise(months):
            assert (y2 * 12 + m2) - (y1 * 12 + m1) == 1
        for d in found:
            last = (d.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            assert d.day == min(schedule.day, last.day)
    else:
        years = [d.year for d in found]
        assert years == list(range(start.year, start.year + len(years))) or (
            years == list(range(start.year + 1, start.year + 1 + len(years)))
        )
        assert all(d.month == schedule.month for d in found)


@given(schedules, days, days)
def test_splitting_a_span_changes_nothing(schedule: Schedule, a: date, b: date) -> None:
    start, end = min(a, b), max(a, b)
    middle = start + (end - start) // 2
    whole = list(occurrences(schedule, start, end))
    parts = list(occurrences(schedule, start, middle)) + list(
        occurrences(schedule, middle + timedelta(days=1), end)
    )
    assert whole == parts


@given(days, st.one_of(st.just(date(2000, 2, 29)), st.dates(date(2000, 1, 1), date(2000, 12, 31))))
def test_from_a_day_and_month_is_the_latest_such_day_not_after_today(
    today: date, day_and_month: date
) -> None:
    """`from DD.MM` without a year: that day of the latest year it has been, 29.02 that
    of the last leap year; never after today, never before the ledger's first day."""
    since = read_from(f"{day_and_month.day:02}.{day_and_month.month:02}", today=today)
    later = [
        candidate
        for year in range(EARLIEST_DAY.year, today.year + 1)
        if (candidate := _day_of(year, day_and_month)) is not None
        and EARLIEST_DAY <= candidate <= today
    ]
    assert since == (max(later) if later else None)


def _day_of(year: int, day_and_month: date) -> date | None:
    try:
        return day_and_month.replace(year=year)
    except ValueError:  # 29.02 in a common year
        return None


@pytest.mark.parametrize(
    ("utc", "local"),
    [
        # spring forward: 29.03.2026 03:00 local becomes 04:00 (UTC+2 -> UTC+3)
        (datetime(2026, 3, 28, 21, 59, tzinfo=UTC), date(2026, 3, 28)),
        (datetime(2026, 3, 28, 22, 0, tzinfo=UTC), date(2026, 3, 29)),
        (datetime(2026, 3, 29, 20, 59, tzinfo=UTC), date(2026, 3, 29)),
        (datetime(2026, 3, 29, 21, 0, tzinfo=UTC), date(2026, 3, 30)),
        # fall back: 25.10.2026 04:00 local becomes 03:00 (UTC+3 -> UTC+2)
        (datetime(2026, 10, 24, 20, 59, tzinfo=UTC), date(2026, 10, 24)),
        (datetime(2026, 10, 24, 21, 0, tzinfo=UTC), date(2026, 10, 25)),
        (datetime(2026, 10, 25, 21, 59, tzinfo=UTC), date(2026, 10, 25)),
        (datetime(2026, 10, 25, 22, 0, tzinfo=UTC), date(2026, 10, 26)),
    ],
)
def test_the_local_day_follows_kyiv_across_daylight_saving(utc: datetime, local: date) -> None:
    assert local_day(utc, KYIV) == local


def test_every_local_day_begins_once_across_a_daylight_saving_change() -> None:
    """Minute by minute over both changes of 2026: each day begins exactly once, at local
    midnight, and the days follow one another."""
    for start in (datetime(2026, 3, 27, tzinfo=UTC), datetime(2026, 10, 23, tzinfo=UTC)):
        moments = [start + timedelta(minutes=m) for m in range(4 * 24 * 60)]
        seen = [local_day(m, KYIV) for m in moments]
        begins = [
            m
            for m, before, after in zip(moments[1:], seen, seen[1:], strict=False)
            if after != before
        ]
        assert len(begins) == 4  # four days of minutes from UTC midnight: four local midnights
        for moment in begins:
            local = moment.astimezone(KYIV)
            assert (local.hour, local.minute) == (0, 0)
        assert [d.toordinal() for d in sorted(set(seen))] == list(
            range(seen[0].toordinal(), seen[-1].toordinal() + 1)
        )


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        local_day(datetime(2026, 3, 29, 1, 0), KYIV)
