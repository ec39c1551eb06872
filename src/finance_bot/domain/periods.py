"""Reporting periods: local calendar days, ISO weeks, months and years, as [start, end)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, timedelta

# The sane window (docs/adr/0012): entries are dated from EARLIEST_DAY to today, and
# reports cover the years EARLIEST_DAY.year to LATEST_REPORT_YEAR, so every date the
# ledger holds can be shown and no period's neighbour falls outside the calendar.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_REPORT_YEAR = 2100


def reportable(day: date) -> bool:
    return EARLIEST_DAY.year <= day.year <= LATEST_REPORT_YEAR


class PeriodKind(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month_start(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


@dataclass(frozen=True, slots=True)
class Period:
    kind: PeriodKind
    start: date
    end: date  # exclusive

    @classmethod
    def containing(cls, kind: PeriodKind, day: date) -> Period:
        if kind is PeriodKind.DAY:
            return cls(kind, day, day + timedelta(days=1))
        if kind is PeriodKind.WEEK:
            start = day - timedelta(days=day.weekday())
            return cls(kind, start, start + timedelta(days=7))
        if kind is PeriodKind.MONTH:
            return cls(kind, month_start(day), next_month_start(day))
        return cls(kind, date(day.year, 1, 1), date(day.year + 1, 1, 1))

    def previous(self) -> Period:
        return Period.containing(self.kind, self.start - timedelta(days=1))

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end

    @property
    def days(self) -> int:
        return (self.end - self.start).days
