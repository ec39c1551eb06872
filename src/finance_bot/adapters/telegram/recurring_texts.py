"""What the repeating entries say: rules, their schedules, and the scheduler's notices."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from finance_bot.adapters.telegram.formatting import format_date
from finance_bot.adapters.telegram.i18n import Translator
from finance_bot.adapters.telegram.presenters import short
from finance_bot.application.recurring import RuleView
from finance_bot.domain.schedules import Every, Schedule
from finance_bot.ports.records import OccurrenceNotice


def schedule_text(schedule: Schedule, t: Translator) -> str:
    if schedule.every is Every.DAY:
        return t("schedule_day")
    if schedule.every is Every.WEEK:
        return t("schedule_week", weekday=t("weekdays").split()[schedule.day])
    if schedule.every is Every.MONTH:
        return t("schedule_month", day=schedule.day)
    return t("schedule_year", day=f"{schedule.day:02d}.{schedule.month:02d}")


def rule_added_text(view: RuleView, starts_on: date, today: date, t: Translator) -> str:
    text = t(
        "every_added",
        number=view.number,
        schedule=schedule_text(view.schedule, t),
        line=short(view.line),
        date=format_date(view.next_due, t.language),
    )
    if view.next_due <= today:
        text += "\n" + t("every_added_past", date=format_date(starts_on, t.language))
    return text


def rules_text(views: Sequence[RuleView], t: Translator) -> str:
    if not views:
        return t("recurring_none")
    lines = [t("recurring_title")]
    for view in views:
        lines.append(
            t(
                "recurring_line",
                number=view.number,
                schedule=schedule_text(view.schedule, t),
                line=short(view.line),
                date=format_date(view.next_due, t.language),
            )
        )
    lines.append(t("recurring_hint"))
    return "\n".join(lines)


def skipped_text(notice: OccurrenceNotice, t: Translator) -> str:
    reason = notice.skipped or ""
    day = format_date(notice.due_on, t.language)
    if reason.startswith("no_rate:"):
        currency = reason.removeprefix("no_rate:")
        return t("notice_skipped_rate", number=notice.rule_number, date=day, currency=currency)
    return t("notice_skipped_stopped", number=notice.rule_number, date=day)


def summary_text(
    number: int, line: str, recorded: Sequence[OccurrenceNotice], t: Translator
) -> str:
    numbers = [n.number for n in recorded if n.number is not None]
    return t(
        "notice_summary",
        number=number,
        line=short(line),
        count=len(recorded),
        first=min(numbers, default=0),
        last=max(numbers, default=0),
        since=format_date(recorded[0].due_on, t.language),
        until=format_date(recorded[-1].due_on, t.language),
    )
