"""The scheduler's repeating entries, and what their authors are told (docs/adr/0016).

Each recorded date gets the confirmation a typed line gets, Undo and Category included;
a catch-up of many dates at once (a `from` long ago, days of downtime) gets one summary
instead of a flood. A skipped date gets a note saying why, once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError

from finance_bot.adapters.scheduling import NamedJob
from finance_bot.adapters.telegram.context import ChatContext, ChatServices, Outcome
from finance_bot.adapters.telegram.i18n import resolve_language
from finance_bot.adapters.telegram.recurring_texts import skipped_text, summary_text
from finance_bot.adapters.telegram.replies import (
    confirmation_reply,
    send_budget_alerts,
    send_text,
)
from finance_bot.application.books import Books
from finance_bot.application.recurring import announce, household_days, record_due
from finance_bot.application.results import BudgetAlert
from finance_bot.domain.schedules import local_day
from finance_bot.ports.records import OccurrenceNotice
from finance_bot.ports.unit_of_work import RecurringUnitOfWorkFactory

log = logging.getLogger(__name__)

SUMMARY_FROM = 4  # this many dates recorded at once, or more: one summary message


@dataclass(frozen=True)
class RecurringEntries:
    services: ChatServices
    uow_factory: RecurringUnitOfWorkFactory
    bot: Bot

    def job(self) -> NamedJob:
        return NamedJob("recurring", self.run)

    async def run(self, now: datetime) -> None:
        """Record what is due up to the household's day at `now`, then tell the authors."""
        today = local_day(now, self.services.timezone)
        days = await household_days(now, uow_factory=self.uow_factory)
        await record_due(today, uow_factory=self.uow_factory, ids=self.services.ids, days=days)
        await announce(self.uow_factory, self.send)

    async def send(self, notices: Sequence[OccurrenceNotice]) -> None:
        """The notices of one rule, to its author."""
        first = notices[0]
        ctx = await self._author(first.author_telegram_id)
        if ctx is None:
            return  # no longer a member: nobody to tell
        recorded = [n for n in notices if n.transaction_id is not None]
        try:
            if len(recorded) >= SUMMARY_FROM:
                await self._say(ctx, summary_text(first.rule_number, first.line, recorded, ctx.t))
            else:
                for notice in recorded:
                    await self._confirm(ctx, notice)
            for notice in notices:
                if notice.transaction_id is None:
                    await self._say(ctx, skipped_text(notice, ctx.t))
            # The budgets the entries crossed: every member hears, as after a typed line.
            alerts = [BudgetAlert.from_json(dict(a)) for n in recorded for a in n.alerts]
            await send_budget_alerts(ctx, tuple(alerts))
        except TelegramForbiddenError:
            # The author blocked the bot: no retry can deliver, and the entries stand.
            log.info("recurring notice not delivered: blocked", extra={"rule": first.rule_id})

    async def _confirm(self, ctx: ChatContext, notice: OccurrenceNotice) -> None:
        assert notice.transaction_id is not None
        text, keyboard = await confirmation_reply(ctx, notice.transaction_id, ctx.services.today())
        heading = ctx.t("notice_heading", number=notice.rule_number)
        await send_text(self.bot, ctx.member.telegram_id, f"{heading}\n{text}", keyboard)

    async def _say(self, ctx: ChatContext, text: str) -> None:
        await send_text(self.bot, ctx.member.telegram_id, text)

    async def _author(self, telegram_id: int) -> ChatContext | None:
        services = self.services
        async with self.uow_factory(transactional=False, person=telegram_id) as uow:
            found = await uow.membership.membership(telegram_id)
        if found is None:
            return None
        member, household = found.member, found.household
        currency = household.currency
        if household.timezone is not None:
            services = replace(services, timezone=ZoneInfo(household.timezone))
        language = resolve_language(
            member.language or household.language,
            member.telegram_language,
            services.fallback_language,
        )
        books = Books(
            telegram_id=telegram_id,
            idempotency_key="",  # these books only read: the entry is written already
            uow_factory=services.uow_factory,
            ids=services.ids,
            currency=currency,
        )
        return ChatContext(
            services=services,
            bot=self.bot,
            member=member,
            t=services.catalog.translator(language),
            outcome=Outcome(),
            books=books,
            currency=currency,
        )
