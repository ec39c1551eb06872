"""Digests (docs/product.md §10): a person's setting, which digests are due, and the log
that lets each go out at most once (docs/adr/0017)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from finance_bot.application.budgets import BudgetLine, budget_progress
from finance_bot.application.household import household_members, require_member
from finance_bot.application.reports import PeriodReport, period_report
from finance_bot.domain.digests import DigestSchedule, DueDigest, digest_due, subscribed_since
from finance_bot.ports.records import DigestSubscription, Member
from finance_bot.ports.unit_of_work import UnitOfWorkFactory


async def set_digest(
    telegram_id: int,
    schedule: DigestSchedule | None,
    *,
    now: datetime,
    uow_factory: UnitOfWorkFactory,
) -> bool:
    """Set (or, with None, switch off) the person's digest from `now` on. Whether there
    was anything to switch off, or True when set."""
    async with uow_factory(person=telegram_id) as uow:
        await require_member(uow, telegram_id)
        if schedule is None:
            removed = await uow.digests.unsubscribe(telegram_id)
        else:
            subscription = DigestSubscription(telegram_id, schedule, subscribed_since(now))
            await uow.digests.subscribe(subscription)
            removed = True
        await uow.commit()
        return removed


async def digest_setting(
    telegram_id: int, *, uow_factory: UnitOfWorkFactory
) -> DigestSchedule | None:
    async with uow_factory(transactional=False, person=telegram_id) as uow:
        await require_member(uow, telegram_id)
        subscription = await uow.digests.subscription(telegram_id)
        return subscription.schedule if subscription is not None else None


@dataclass(frozen=True, slots=True)
class Pending:
    """A digest due for a person that nobody has claimed yet."""

    telegram_id: int
    digest: DueDigest


async def pending_digests(
    now: datetime, timezone: ZoneInfo, *, uow_factory: UnitOfWorkFactory
) -> list[Pending]:
    async with uow_factory(transactional=False) as uow:
        households = await uow.digests.households_with_digests()
    pending = []
    for household_id in households:  # each read in a unit of work bound to its household
        async with uow_factory(transactional=False, household=household_id) as uow:
            # Members now only (who left has no digest), in the household's own time
            # zone, else the deployment's.
            settings = await uow.directory.household_settings(household_id)
            zone = timezone if settings.timezone is None else ZoneInfo(settings.timezone)
            members = {m.telegram_id for m in await uow.directory.members(household_id) if m.active}
            for subscription in await uow.digests.subscriptions():
                if subscription.telegram_id not in members:
                    continue
                digest = digest_due(subscription.schedule, now, zone, since=subscription.since)
                if digest is None:
                    continue
                if not await uow.digests.logged(
                    subscription.telegram_id, digest.kind, digest.period_start
                ):
                    pending.append(Pending(subscription.telegram_id, digest))
    return pending


@dataclass(frozen=True, slots=True)
class DigestContent:
    """What /today, /week or /month and /budgets would show the person at the digest's time."""

    member: Member
    members: list[Member]
    report: PeriodReport
    budgets: list[BudgetLine]  # the month of `today`, as /budgets shows it
    today: date  # the household's day the digest fell due on
    household_language: str | None = None  # /settings language: for members who chose none


async def digest_content(pending: Pending, *, uow_factory: UnitOfWorkFactory) -> DigestContent:
    digest, telegram_id = pending.digest, pending.telegram_id
    async with uow_factory(transactional=False, person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        household = await uow.directory.household_settings(member.household_id)
    currency = household.currency
    today = digest.local_day
    report = await period_report(
        telegram_id,
        digest.period.kind,
        digest.period.start,
        only_me=False,
        today=today,
        currency=currency,
        uow_factory=uow_factory,
    )
    budgets = await budget_progress(telegram_id, today, today=today, uow_factory=uow_factory)
    members = await household_members(telegram_id, uow_factory=uow_factory)
    return DigestContent(member, members, report, budgets, today, household.language)


async def claim_digest(pending: Pending, *, uow_factory: UnitOfWorkFactory) -> bool:
    """Log the digest as being sent, committed before it goes out: False if another
    scheduler, or an earlier run, claimed it first."""
    digest = pending.digest
    async with uow_factory(transactional=False, person=pending.telegram_id) as uow:
        return await uow.digests.claim(pending.telegram_id, digest.kind, digest.period_start)


async def digest_sent(pending: Pending, *, sent: bool, uow_factory: UnitOfWorkFactory) -> None:
    digest = pending.digest
    async with uow_factory(transactional=False, person=pending.telegram_id) as uow:
        await uow.digests.finish(pending.telegram_id, digest.kind, digest.period_start, sent=sent)


async def release_digest(pending: Pending, *, uow_factory: UnitOfWorkFactory) -> None:
    digest = pending.digest
    async with uow_factory(transactional=False, person=pending.telegram_id) as uow:
        await uow.digests.release(pending.telegram_id, digest.kind, digest.period_start)


async def refuse_digest(pending: Pending, *, uow_factory: UnitOfWorkFactory) -> None:
    """The person blocked the bot: the digest is marked refused and their setting switched
    off, so the bot does not knock every day; `/digest` sets it again."""
    digest = pending.digest
    async with uow_factory(person=pending.telegram_id) as uow:
        await uow.digests.finish(pending.telegram_id, digest.kind, digest.period_start, sent=False)
        await uow.digests.unsubscribe(pending.telegram_id)
        await uow.commit()
