"""The digest job: at each scheduler tick, every digest due is rendered as the person's
own /today, /week or /month and /budgets would show it, claimed in the sent-log, and sent
(docs/product.md §10, docs/adr/0017)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter

from finance_bot.adapters.telegram.i18n import Catalog, Translator, resolve_language
from finance_bot.adapters.telegram.report_views import budgets_text, period_report_text
from finance_bot.application.digests import (
    DigestContent,
    Pending,
    claim_digest,
    digest_content,
    digest_sent,
    pending_digests,
    refuse_digest,
    release_digest,
)
from finance_bot.domain.digests import DigestKind, DigestSchedule
from finance_bot.ports.unit_of_work import UnitOfWorkFactory

log = logging.getLogger(__name__)

Send = Callable[[int, str], Awaitable[object]]  # a private chat's id, the text


def schedule_text(schedule: DigestSchedule, t: Translator) -> str:
    return t(f"digest_{schedule.kind.value}", time=schedule.at.strftime("%H:%M"))


def digest_text(content: DigestContent, kind: DigestKind, t: Translator) -> str:
    """The digest's title, the period's report as its command shows it, and this month's
    budgets as /budgets shows them (left out when there are none)."""
    members = {member.telegram_id: member for member in content.members}
    text = t(f"digest_title_{kind.value}") + "\n" + period_report_text(content.report, members, t)
    if content.budgets:
        text += "\n\n" + budgets_text(content.budgets, content.report.accounts, content.today, t)
    return text


@dataclass(frozen=True)
class DigestJob:
    uow_factory: UnitOfWorkFactory
    catalog: Catalog
    timezone: ZoneInfo
    fallback_language: str
    send: Send
    # Whom the bot serves now (the whitelist): someone taken off it gets no more of the
    # household's figures, whatever digest they once asked for.
    serves: Callable[[int], bool]

    async def run(self, now: datetime) -> None:
        for pending in await pending_digests(now, self.timezone, uow_factory=self.uow_factory):
            if not self.serves(pending.telegram_id):
                continue
            try:
                await self.deliver(pending)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                # One person's digest failing never holds up the others'.
                log.warning(
                    "digest not delivered",
                    extra={"kind": pending.digest.kind.value, "error": type(error).__name__},
                )

    async def deliver(self, pending: Pending) -> None:
        """Render, claim and send one digest; nothing if it was claimed already."""
        # Everything that may fail for want of the database comes before the claim: a
        # claim is made only when the text is ready to go.
        content = await digest_content(pending, uow_factory=self.uow_factory)
        member = content.member
        language = resolve_language(
            member.language or content.household_language,
            member.telegram_language,
            self.fallback_language,
        )
        text = digest_text(content, pending.digest.kind, self.catalog.translator(language))
        if not await claim_digest(pending, uow_factory=self.uow_factory):
            return  # another scheduler, or an earlier run, has it
        kind = pending.digest.kind.value
        try:
            await self.send(pending.telegram_id, text)
        except TelegramRetryAfter:
            # Telegram took nothing: the claim is given back for a later tick.
            await release_digest(pending, uow_factory=self.uow_factory)
            log.warning("digest postponed by a flood limit", extra={"kind": kind})
            return
        except TelegramForbiddenError:
            await refuse_digest(pending, uow_factory=self.uow_factory)
            log.info("digest refused: the person blocked the bot; their digest is off")
            return
        except TelegramBadRequest:
            await digest_sent(pending, sent=False, uow_factory=self.uow_factory)
            log.warning("digest refused by Telegram", extra={"kind": kind})
            return
        # Anything else (no answer, a server error past the session's retries) may or may
        # not have delivered it: the claim stays and the digest is not sent again.
        await digest_sent(pending, sent=True, uow_factory=self.uow_factory)
        log.info("digest sent", extra={"kind": kind})
