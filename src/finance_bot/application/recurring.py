"""Bills that repeat (docs/product.md §9, docs/adr/0016).

A rule keeps the line as understood when it was made — amount, accounts and category by
id — and each due date becomes one entry, booked on that date, by the rule's author.
Exactly once is the database's: the entry and its (rule, due date) row are written in one
unit of work, and the row's key refuses a second. What cannot be recorded is skipped with
its reason, which the author is told once; a rule that can never be recorded again (its
account or category archived, its author gone) stops itself.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from finance_bot.application import recording
from finance_bot.domain.commands import RecordCommand, RecordExpense, RecordIncome, RecordTransfer
from finance_bot.domain.errors import LedgerRuleViolation, NoRate, NotAMember
from finance_bot.domain.money import Money
from finance_bot.domain.schedules import (
    Every,
    RuleText,
    Schedule,
    first_due,
    following_due,
    local_day,
    occurrences,
)
from finance_bot.ports.clock import IdSource
from finance_bot.ports.records import Member, OccurrenceNotice, RecurringRule
from finance_bot.ports.unit_of_work import RecurringUnitOfWork, RecurringUnitOfWorkFactory

log = logging.getLogger(__name__)

NOTICE_BATCH = 200  # notices of one rule announced together; the rest at the next round


@dataclass(frozen=True, slots=True)
class RuleView:
    number: int
    schedule: Schedule
    line: str
    next_due: date
    mine: bool  # the asking member is its author


def schedule_of(rule: RecurringRule) -> Schedule:
    return Schedule(Every(rule.every), day=rule.day, month=rule.month)


# The entry a rule makes, kept as JSON: what the parser understood, without its date.


def encode_entry(command: RecordCommand) -> dict[str, Any]:
    common: dict[str, Any] = {
        "amount_minor": command.amount.amount_minor,
        "currency": command.amount.currency,
        "note": command.note,
        "tags": list(command.tags),
    }
    if isinstance(command, RecordTransfer):
        received = command.received
        return {
            "kind": "transfer",
            **common,
            "from_account_id": command.from_account_id,
            "to_account_id": command.to_account_id,
            "received": None
            if received is None
            else {"amount_minor": received.amount_minor, "currency": received.currency},
        }
    kind = "expense" if isinstance(command, RecordExpense) else "income"
    return {
        "kind": kind,
        **common,
        "category_id": command.category_id,
        "account_id": command.account_id,
    }


def decode_entry(entry: dict[str, Any], booked_on: date) -> RecordCommand:
    amount = Money(int(entry["amount_minor"]), str(entry["currency"]))
    note, tags = str(entry["note"]), tuple(str(tag) for tag in entry["tags"])
    if entry["kind"] == "transfer":
        received = entry["received"]
        return RecordTransfer(
            amount=amount,
            from_account_id=int(entry["from_account_id"]),
            to_account_id=int(entry["to_account_id"]),
            booked_on=booked_on,
            note=note,
            tags=tags,
            received=None
            if received is None
            else Money(int(received["amount_minor"]), str(received["currency"])),
        )
    kind = RecordExpense if entry["kind"] == "expense" else RecordIncome
    return kind(
        amount=amount,
        category_id=entry["category_id"],
        account_id=entry["account_id"],
        booked_on=booked_on,
        note=note,
        tags=tags,
    )


# What a member asks.


async def add_rule(
    author_telegram_id: int,
    rule: RuleText,
    command: RecordCommand,
    *,
    today: date,
    uow_factory: RecurringUnitOfWorkFactory,
    ids: IdSource,
) -> RuleView:
    """A new rule. Its entry is built once for today first, and thrown away: a line the
    ledger would refuse (an archived account, a currency with no rate) makes no rule."""
    async with uow_factory(person=author_telegram_id) as uow:
        context = await recording.write_context(uow, author_telegram_id, command)
        await recording.build_entry(uow, context, command, ids)
    async with uow_factory(person=author_telegram_id) as uow:
        member = await _member(uow, author_telegram_id)
        schedule = rule.schedule
        number = await uow.recurring.add_rule(
            household_id=member.household_id,
            author_telegram_id=author_telegram_id,
            every=schedule.every.value,
            day=schedule.day,
            month=schedule.month,
            line=rule.line,
            entry=encode_entry(command),
            starts_on=rule.starts_on,
        )
        await uow.commit()
    first = first_due(schedule, rule.starts_on)
    return RuleView(number, schedule, rule.line, first, mine=True)


async def list_rules(
    telegram_id: int, *, today: date, uow_factory: RecurringUnitOfWorkFactory
) -> list[RuleView]:
    """The household's live rules, each with its next due date not yet dealt with."""
    async with uow_factory(transactional=False, person=telegram_id) as uow:
        member = await _member(uow, telegram_id)
        views = []
        for rule in await uow.recurring.rules(member.household_id):
            schedule = schedule_of(rule)
            dealt = await uow.recurring.dealt_with(rule.id, rule.starts_on)
            views.append(
                RuleView(
                    number=rule.number,
                    schedule=schedule,
                    line=rule.line,
                    next_due=_next_due(schedule, rule.starts_on, dealt, today),
                    mine=rule.author_telegram_id == telegram_id,
                )
            )
        return views


async def stop_rule(
    telegram_id: int, number: int, *, uow_factory: RecurringUnitOfWorkFactory
) -> bool:
    """Stop rule `number` of the member's household; what it recorded stays."""
    async with uow_factory(transactional=False, person=telegram_id) as uow:
        member = await _member(uow, telegram_id)
        return await uow.recurring.stop(member.household_id, number)


def _next_due(schedule: Schedule, starts_on: date, dealt: set[date], today: date) -> date:
    for due in occurrences(schedule, starts_on, today):
        if due not in dealt:
            return due  # overdue: the scheduler is about to record it
    due = first_due(schedule, max(starts_on, today + timedelta(days=1)))
    # A date after today may be booked already: the household's day was later before it
    # moved its time zone west (Kiritimati to Pago Pago), and that date stays booked.
    while due in dealt:
        due = following_due(schedule, due)
    return due


async def _member(uow: RecurringUnitOfWork, telegram_id: int) -> Member:
    member = await uow.directory.member(telegram_id)
    if member is None:
        raise NotAMember(telegram_id)
    return member


# What the scheduler does.


async def record_due(
    today: date,
    *,
    uow_factory: RecurringUnitOfWorkFactory,
    ids: IdSource,
    days: Mapping[int, date] | None = None,
) -> int:
    """Record every due date up to the household's day that no row holds yet, in order,
    each in its own unit of work; returns how many this call recorded or skipped.
    `days`: a household's own day (its own time zone), else `today` (the deployment's)."""
    async with uow_factory(transactional=False) as uow:
        households = await uow.recurring.households_with_live_rules()
    done = 0
    for household_id in households:
        async with uow_factory(transactional=False, household=household_id) as uow:
            rules = await uow.recurring.live_rules()
        day = today if days is None else days.get(household_id, today)
        for rule in rules:
            done += await _catch_up(rule, day, uow_factory=uow_factory, ids=ids)
    return done


async def household_days(
    now: datetime, *, uow_factory: RecurringUnitOfWorkFactory
) -> dict[int, date]:
    """Each household with a time zone of its own: its day at `now`."""
    async with uow_factory(transactional=False) as uow:
        zones = await uow.membership.household_zones()
    return {household_id: local_day(now, ZoneInfo(zone)) for household_id, zone in zones.items()}


async def _catch_up(
    rule: RecurringRule, today: date, *, uow_factory: RecurringUnitOfWorkFactory, ids: IdSource
) -> int:
    async with uow_factory(transactional=False, household=rule.household_id) as uow:
        dealt = await uow.recurring.dealt_with(rule.id, rule.starts_on)
    done = 0
    for due in occurrences(schedule_of(rule), rule.starts_on, today):
        if due in dealt:
            continue
        outcome = await record_occurrence(rule, due, uow_factory=uow_factory, ids=ids)
        done += outcome != "taken"
        if outcome == "stopped":
            break
    return done


async def record_occurrence(
    rule: RecurringRule, due: date, *, uow_factory: RecurringUnitOfWorkFactory, ids: IdSource
) -> str:
    """One due date: "recorded", "skipped", "stopped" (skipped, and the rule with it), or
    "taken" when another writer dealt with it first (nothing written here)."""
    command = decode_entry(rule.entry, booked_on=due)
    try:
        async with uow_factory(household=rule.household_id) as uow:
            context = await recording.write_context(uow, rule.author_telegram_id, command)
            entry = await recording.build_entry(uow, context, command, ids)
            recorded = await recording.post_entry(uow, entry)
            claimed = await uow.recurring.add_occurrence(
                rule.id,
                due,
                transaction_id=entry.transaction.id,
                skipped=None,
                alerts=[alert.to_json() for alert in recorded.alerts],
            )
            if not claimed:
                return "taken"  # leaving rolls the entry back: the first writer's stands
            await uow.commit()
            return "recorded"
    except LedgerRuleViolation as refused:
        # A missing rate may come tomorrow: only this date is skipped. Anything else (an
        # archived account or category, the author gone) would refuse every date after it.
        lasting = not isinstance(refused, NoRate)
        reason = type(refused).__name__
        log.info("recurring occurrence skipped", extra={"rule": rule.id, "reason": reason})
        async with uow_factory(household=rule.household_id) as uow:
            claimed = await uow.recurring.add_occurrence(
                rule.id, due, transaction_id=None, skipped=_reason(refused)
            )
            if not claimed:
                return "taken"
            if lasting:  # by its number in the household: `stop` is what `/every off N` uses
                await uow.recurring.stop(rule.household_id, rule.number)
            await uow.commit()
        return "stopped" if lasting else "skipped"


def _reason(refused: LedgerRuleViolation) -> str:
    """Kept with the skipped date: what the note to the author says (its words are the
    catalogue's; this is the key and what fills it)."""
    if isinstance(refused, NoRate):
        return f"no_rate:{refused.currency}"
    if isinstance(refused, NotAMember):
        return "not_a_member"
    return f"refused:{type(refused).__name__}"


Announce = Callable[[Sequence[OccurrenceNotice]], Awaitable[None]]


async def announce(uow_factory: RecurringUnitOfWorkFactory, send: Announce) -> int:
    """Tell authors about dealt-with dates not yet announced, one rule at a time: the rows
    are locked while `send` runs and marked sent in the same unit of work. A crash after
    sending and before the commit sends them again (at least once, docs/adr/0016); two
    schedulers never send the same rows at once."""
    async with uow_factory(transactional=False) as uow:
        households = await uow.recurring.households_with_unsent_notices()
    sent = 0
    for household_id in households:
        while True:
            async with uow_factory(household=household_id) as uow:
                notices = await uow.recurring.unsent(NOTICE_BATCH)
                if not notices:
                    break
                await send(notices)
                await uow.recurring.mark_sent(notices[0].rule_id, [n.due_on for n in notices])
                await uow.commit()
                sent += len(notices)
    return sent
