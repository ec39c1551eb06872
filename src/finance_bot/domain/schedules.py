"""Schedules of repeating entries (docs/product.md §9): reading one, and its due dates.

`month <1..31>`, `week <mon..sun | пн..вс>`, `year <DD.MM>` or `day`. A month without the
day named uses its last day (`month 31` is due on 30.04 and on 28.02 or 29.02), and a
yearly 29.02 is due on 28.02 in a common year (docs/adr/0016): every rule is due once in
every period it names, never skipped, never twice.

Due dates are calendar days of the household's time zone. A day is due once it has begun
there: `local_day` turns an instant into that day with the zone's own rules, so a
daylight-saving change (Europe/Kyiv moves its clocks at 03:00/04:00) never shifts a day.
"""

from __future__ import annotations

import calendar
import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from finance_bot.domain.periods import EARLIEST_DAY


class Every(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


@dataclass(frozen=True, slots=True)
class Schedule:
    every: Every
    day: int = 0  # day of month 1..31 (month, year); weekday 0=Monday..6 (week); else 0
    month: int = 0  # 1..12 for a yearly rule; else 0

    def __post_init__(self) -> None:
        if self.every is Every.MONTH and not 1 <= self.day <= 31:
            raise ValueError("a monthly day is 1..31")
        if self.every is Every.WEEK and not 0 <= self.day <= 6:
            raise ValueError("a weekday is 0..6")
        if self.every is Every.YEAR and not (
            1 <= self.month <= 12 and 1 <= self.day <= _longest_month(self.month)
        ):
            raise ValueError("no such day of the year")
        if self.every is Every.DAY and (self.day or self.month):
            raise ValueError("a daily rule names no day")


class ScheduleProblem(enum.StrEnum):
    MISSING = "missing"  # no schedule word at all: the usage is the answer
    UNKNOWN_PERIOD = "unknown_period"  # "/every fortnight ..."
    BAD_MONTH_DAY = "bad_month_day"  # "month 0", "month 32", "month x"
    BAD_WEEKDAY = "bad_weekday"  # "week someday"
    BAD_YEAR_DAY = "bad_year_day"  # "year 31.02", "year 1.13"
    BAD_FROM = "bad_from"  # "from 31.02", "from 1999"
    NO_LINE = "no_line"  # a schedule and nothing to record


@dataclass(frozen=True, slots=True)
class ScheduleError:
    problem: ScheduleProblem
    detail: str = ""


@dataclass(frozen=True, slots=True)
class RuleText:
    """What `/every` says, split: the schedule, the line to record, where it starts."""

    schedule: Schedule
    line: str
    starts_on: date


_PERIODS = {
    "day": Every.DAY,
    "daily": Every.DAY,
    "день": Every.DAY,
    "week": Every.WEEK,
    "weekly": Every.WEEK,
    "неделя": Every.WEEK,
    "неделю": Every.WEEK,
    "month": Every.MONTH,
    "monthly": Every.MONTH,
    "месяц": Every.MONTH,
    "year": Every.YEAR,
    "yearly": Every.YEAR,
    "год": Every.YEAR,
}

_WEEKDAYS = (
    ("mon", "monday", "mo", "пн", "пон", "понедельник"),
    ("tue", "tues", "tuesday", "tu", "вт", "вто", "вторник"),
    ("wed", "wednesday", "we", "ср", "сре", "среда", "среду"),
    ("thu", "thur", "thurs", "thursday", "th", "чт", "чет", "четверг"),
    ("fri", "friday", "fr", "пт", "пят", "пятница", "пятницу"),
    ("sat", "saturday", "sa", "сб", "суб", "суббота", "субботу"),
    ("sun", "sunday", "su", "вс", "вос", "воскресенье"),
)
WEEKDAY_WORDS = {word: index for index, words in enumerate(_WEEKDAYS) for word in words}

_DAY_MONTH = re.compile(r"(?P<day>\d{1,2})\.(?P<month>\d{1,2})(?:\.(?P<year>\d{4}))?")
_FROM_WORDS = ("from", "с", "со", "от")


def read_rule(text: str, *, today: date) -> RuleText | ScheduleError:
    """`<schedule> <line> [from DD.MM[.YYYY]]`; without `from`, the rule starts today."""
    words = text.split()
    if not words:
        return ScheduleError(ScheduleProblem.MISSING)
    read = read_schedule(words)
    if isinstance(read, ScheduleError):
        return read
    schedule, used = read
    rest = words[used:]
    starts_on = today
    if len(rest) >= 2 and rest[-2].casefold() in _FROM_WORDS:
        since = read_from(rest[-1], today=today)
        if since is None:
            return ScheduleError(ScheduleProblem.BAD_FROM, rest[-1])
        starts_on, rest = since, rest[:-2]
    if not rest:
        return ScheduleError(ScheduleProblem.NO_LINE)
    return RuleText(schedule, " ".join(rest), starts_on)


def read_schedule(words: list[str]) -> tuple[Schedule, int] | ScheduleError:
    """The schedule at the start of `words`, and how many words it took."""
    every = _PERIODS.get(words[0].casefold().replace("ё", "е"))
    if every is None:
        return ScheduleError(ScheduleProblem.UNKNOWN_PERIOD, words[0])
    if every is Every.DAY:
        return Schedule(Every.DAY), 1
    if len(words) < 2:
        problem = {
            Every.WEEK: ScheduleProblem.BAD_WEEKDAY,
            Every.MONTH: ScheduleProblem.BAD_MONTH_DAY,
            Every.YEAR: ScheduleProblem.BAD_YEAR_DAY,
        }[every]
        return ScheduleError(problem)
    word = words[1]
    if every is Every.WEEK:
        weekday = WEEKDAY_WORDS.get(word.casefold().rstrip(".,"))
        if weekday is None:
            return ScheduleError(ScheduleProblem.BAD_WEEKDAY, word)
        return Schedule(Every.WEEK, day=weekday), 2
    if every is Every.MONTH:
        if not (word.isascii() and word.isdigit() and 1 <= int(word) <= 31):
            return ScheduleError(ScheduleProblem.BAD_MONTH_DAY, word)
        return Schedule(Every.MONTH, day=int(word)), 2
    match = _DAY_MONTH.fullmatch(word)
    if match is None or match["year"] is not None:
        return ScheduleError(ScheduleProblem.BAD_YEAR_DAY, word)
    try:
        return Schedule(Every.YEAR, day=int(match["day"]), month=int(match["month"])), 2
    except ValueError:
        return ScheduleError(ScheduleProblem.BAD_YEAR_DAY, word)


def read_from(word: str, *, today: date) -> date | None:
    """`DD.MM.YYYY`, or `DD.MM`: the latest such day not after today (29.02: the last leap
    year's). Never before EARLIEST_DAY. A later day is allowed: the rule starts then."""
    match = _DAY_MONTH.fullmatch(word)
    if match is None:
        return None
    day, month = int(match["day"]), int(match["month"])
    if match["year"] is not None:
        try:
            since = date(int(match["year"]), month, day)
        except ValueError:
            return None
        return since if EARLIEST_DAY <= since <= date(today.year + 1, 12, 31) else None
    for year in range(today.year, today.year - 9, -1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate <= today:
            return candidate if candidate >= EARLIEST_DAY else None
    return None


def _longest_month(month: int) -> int:
    return 29 if month == 2 else calendar.monthrange(2001, month)[1]


def clamped(year: int, month: int, day: int) -> date:
    """`day` of that month, or its last day when it has fewer."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def first_due(schedule: Schedule, on_or_after: date) -> date:
    """The first due date on `on_or_after` or later."""
    start = on_or_after
    if schedule.every is Every.DAY:
        return start
    if schedule.every is Every.WEEK:
        return start + timedelta(days=(schedule.day - start.weekday()) % 7)
    if schedule.every is Every.MONTH:
        due = clamped(start.year, start.month, schedule.day)
        if due >= start:
            return due
        following = _month_after(start)
        return clamped(following.year, following.month, schedule.day)
    due = clamped(start.year, schedule.month, schedule.day)
    return due if due >= start else clamped(start.year + 1, schedule.month, schedule.day)


def following_due(schedule: Schedule, due: date) -> date:
    """The due date after `due`, itself a due date of the schedule."""
    if schedule.every is Every.DAY:
        return due + timedelta(days=1)
    if schedule.every is Every.WEEK:
        return due + timedelta(days=7)
    if schedule.every is Every.MONTH:
        following = _month_after(due)
        return clamped(following.year, following.month, schedule.day)
    return clamped(due.year + 1, schedule.month, schedule.day)


def occurrences(schedule: Schedule, start: date, end: date) -> Iterator[date]:
    """Every due date in [start, end], in order."""
    if start > end:
        return
    due = first_due(schedule, start)
    while due <= end:
        yield due
        try:
            due = following_due(schedule, due)
        except (OverflowError, ValueError):  # past the calendar's last year
            return


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """The household's calendar day at an aware instant: due dates up to it are due."""
    if moment.tzinfo is None:
        raise ValueError("an instant must carry its time zone")
    return moment.astimezone(zone).date()


def _month_after(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)
