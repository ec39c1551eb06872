"""Digests (docs/product.md §10): when each is due in the household's time zone, which
period it reports, and when it is too late to send (docs/adr/0017)."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from finance_bot.domain.periods import Period, PeriodKind


class DigestKind(enum.StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


DAILY_AT = time(21, 0)  # the default of `/digest daily`
WEEKLY_AT = MONTHLY_AT = time(9, 0)
# A digest that could not go out at its time (the bot was down) is still sent within its
# period — a day, a week, a month — and skipped once missed by more: by then the next one
# is due, and only the latest is ever sent (docs/adr/0017).
LATE_LIMITS = {
    DigestKind.DAILY: timedelta(days=1),
    DigestKind.WEEKLY: timedelta(days=7),
    DigestKind.MONTHLY: timedelta(days=31),
}
# The longest gap between two due days (a month): how far back the latest one can be.
_LOOK_BACK_DAYS = 32


@dataclass(frozen=True, slots=True)
class DigestSchedule:
    kind: DigestKind
    at: time  # local time of day, to the minute

    @classmethod
    def of(cls, kind: DigestKind, at: time | None = None) -> DigestSchedule:
        """Weekly and monthly digests go at 09:00; a daily one at `at`, 21:00 if unsaid."""
        if kind is DigestKind.DAILY:
            return cls(kind, at if at is not None else DAILY_AT)
        return cls(kind, WEEKLY_AT if kind is DigestKind.WEEKLY else MONTHLY_AT)


@dataclass(frozen=True, slots=True)
class DueDigest:
    """One digest: when it falls due and the period it reports."""

    kind: DigestKind
    due_at: datetime  # in UTC
    local_day: date  # the household's day it falls due on
    period: Period  # what it reports: that day, the week before, the month before

    @property
    def period_start(self) -> date:
        """With the person and the kind, what makes a digest the same one (the sent-log key)."""
        return self.period.start


def is_due_day(kind: DigestKind, day: date) -> bool:
    if kind is DigestKind.WEEKLY:
        return day.weekday() == 0
    if kind is DigestKind.MONTHLY:
        return day.day == 1
    return True


def due_moment(day: date, at: time, timezone: ZoneInfo) -> datetime:
    """`at` on the household's `day`, in UTC. A time the clocks skip (spring forward) is
    read with the offset before the change, so it falls just after the gap; a time they
    repeat (autumn) is its first occurrence: either way one moment a day."""
    return datetime.combine(day, at, tzinfo=timezone).astimezone(UTC)


def reported_period(kind: DigestKind, day: date) -> Period:
    """A daily digest reports its own day; a weekly one, the Monday–Sunday before; a
    monthly one, the month before."""
    if kind is DigestKind.DAILY:
        return Period.containing(PeriodKind.DAY, day)
    before = day - timedelta(days=1)
    return Period.containing(
        PeriodKind.WEEK if kind is DigestKind.WEEKLY else PeriodKind.MONTH, before
    )


def latest_digest(schedule: DigestSchedule, now: datetime, timezone: ZoneInfo) -> DueDigest:
    """The last digest of this schedule due at `now` or before."""
    today = now.astimezone(timezone).date()
    for back in range(_LOOK_BACK_DAYS + 1):
        day = today - timedelta(days=back)
        if not is_due_day(schedule.kind, day):
            continue
        moment = due_moment(day, schedule.at, timezone)
        if moment <= now:
            return DueDigest(schedule.kind, moment, day, reported_period(schedule.kind, day))
    raise AssertionError("every schedule is due at least once a month")


def too_late(digest: DueDigest, now: datetime) -> bool:
    return now - digest.due_at >= LATE_LIMITS[digest.kind]


def digest_due(
    schedule: DigestSchedule, now: datetime, timezone: ZoneInfo, *, since: datetime
) -> DueDigest | None:
    """The digest to send at `now`, if any: the latest one due, unless it fell due before
    the person asked for digests (`since`) or is too late to send."""
    digest = latest_digest(schedule, now, timezone)
    if digest.due_at < since or too_late(digest, now):
        return None
    return digest


def subscribed_since(moment: datetime) -> datetime:
    """Digests count from the start of the minute one asks for them: `/digest daily 21:00`
    sent at 21:00:40 still gets that evening's digest."""
    return moment.replace(second=0, microsecond=0)


# `/digest …`: what a person may say


@dataclass(frozen=True, slots=True)
class DigestOff:
    """`/digest off`."""


@dataclass(frozen=True, slots=True)
class DigestShow:
    """`/digest` alone: the current setting."""


@dataclass(frozen=True, slots=True)
class DigestUnreadable:
    bad_time: str | None = None  # the kind was read, this time was not (`/digest daily 25:00`)


DigestRequest = DigestSchedule | DigestOff | DigestShow | DigestUnreadable

_KIND_WORDS = {
    "daily": DigestKind.DAILY,
    "day": DigestKind.DAILY,
    "ежедневно": DigestKind.DAILY,
    "день": DigestKind.DAILY,
    "weekly": DigestKind.WEEKLY,
    "week": DigestKind.WEEKLY,
    "еженедельно": DigestKind.WEEKLY,
    "неделя": DigestKind.WEEKLY,
    "monthly": DigestKind.MONTHLY,
    "month": DigestKind.MONTHLY,
    "ежемесячно": DigestKind.MONTHLY,
    "месяц": DigestKind.MONTHLY,
}
_OFF_WORDS = frozenset({"off", "выкл", "нет"})
_TIME = re.compile(r"^([01]?[0-9]|2[0-3])[:.]([0-5][0-9])$")


def parse_digest_request(args: str | None) -> DigestRequest:
    words = (args or "").lower().split()
    if not words:
        return DigestShow()
    if len(words) == 1 and words[0] in _OFF_WORDS:
        return DigestOff()
    kind = _KIND_WORDS.get(words[0])
    if kind is None:
        return DigestUnreadable()
    if len(words) == 1:
        return DigestSchedule.of(kind)
    if kind is not DigestKind.DAILY or len(words) > 2:
        return DigestUnreadable()
    match = _TIME.match(words[1])
    if match is None:
        return DigestUnreadable(bad_time=words[1])
    return DigestSchedule.of(kind, time(int(match[1]), int(match[2])))
