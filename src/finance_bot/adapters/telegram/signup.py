"""Who is served when SIGNUP is invite or open (docs/product.md §14, docs/adr/0022).

A member is served; a whitelisted id joins the whitelist's household as before. Anyone
else is a stranger unless their message is /start: with a code it redeems an invitation,
and without one, with SIGNUP=open, it founds a household of their own. A /start that
joins nobody gets one friendly answer a minute at most, under the strangers' global cap;
every other message of a stranger goes through the strangers' door (strangers.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter
from aiogram.types import Update, User

from finance_bot.adapters.telegram.i18n import resolve_language
from finance_bot.adapters.telegram.session import single_attempt
from finance_bot.adapters.telegram.strangers import StrangerGate
from finance_bot.application.household import current_membership, join_whitelisted
from finance_bot.application.membership import (
    JoinRefusal,
    found_own_household,
    join_by_invite,
    replayed_join,
)
from finance_bot.ports.records import Membership

if TYPE_CHECKING:
    from finance_bot.adapters.telegram.context import ChatServices

log = logging.getLogger(__name__)

REFUSAL_WINDOW_SECONDS = 60.0  # a mistyped code is answered again a minute later

Reply = Callable[[Bot, Update, str], Awaitable[None]]
TurnAway = Callable[[Bot, Update, User], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Admitted:
    """Who is served, and whether this very update made them a member."""

    membership: Membership
    joined: str | None = None  # "founded" or "invited": this update made them a member
    replayed: bool = False  # the same update again: answered as the first time was


def brings_a_line(update: Update) -> bool:
    """A message of text that is no command: read against the person's words, which their
    membership's read then brings along (docs/adr/0027)."""
    text = update.message.text if update.message is not None else None
    return text is not None and text != "" and not text.startswith("/")


def start_payload(update: Update) -> str | None:
    """What follows /start in a message ("" for a bare /start); None for anything else."""
    message = update.message
    if message is None or not message.text:
        return None
    parts = message.text.strip().split(maxsplit=1)
    command = parts[0].casefold() if parts else ""
    if command != "/start" and not command.startswith("/start@"):
        return None
    return parts[1].strip() if len(parts) > 1 else ""


class Signup:
    def __init__(
        self,
        services: ChatServices,
        *,
        turn_away: TurnAway,
        reply: Reply,
        refusals: StrangerGate | None = None,
    ) -> None:
        self._services = services
        self._turn_away = turn_away
        self._reply = reply
        self._refusals = refusals or StrangerGate(window_seconds=REFUSAL_WINDOW_SECONDS)

    async def admit(
        self, bot: Bot, update: Update, user: User, idempotency_key: str
    ) -> Admitted | None:
        """The person's membership and how this update made it; None when they are not
        served (already answered). Joining is kept under the update's idempotency key:
        the same `/start` delivered again is answered as the first time (docs/adr/0025)."""
        services = self._services
        language = resolve_language(None, user.language_code, services.fallback_language)
        profile = {"display_name": user.first_name, "telegram_language": user.language_code}
        with_words = brings_a_line(update)
        if user.id in services.whitelist:
            joined = await join_whitelisted(
                user.id,
                language=language,
                currency=services.currency,
                uow_factory=services.uow_factory,
                whitelist=None if services.signup == "whitelist" else services.whitelist,
                with_words=with_words,
                **profile,
            )
            return Admitted(joined)
        membership = await current_membership(
            user.id, uow_factory=services.uow_factory, with_words=with_words, **profile
        )
        payload = start_payload(update)
        if membership is not None:
            if payload is None:
                return Admitted(membership)
            # A member's /start: the one that made them a member, delivered again?
            how = await replayed_join(
                user.id,
                membership.household.id,
                idempotency_key,
                uow_factory=services.uow_factory,
            )
            return Admitted(membership, how, replayed=how is not None)
        if payload is None or (not payload and services.signup != "open"):
            await self._turn_away(bot, update, user)
            return None
        if payload:
            result = await join_by_invite(
                user.id,
                payload,
                now=services.clock.now(),
                language=language,
                uow_factory=services.uow_factory,
                idempotency_key=idempotency_key,
                **profile,
            )
        else:
            result = await found_own_household(
                user.id,
                currency=services.currency,
                timezone=services.timezone.key,
                language=language,
                uow_factory=services.uow_factory,
                idempotency_key=idempotency_key,
                **profile,
            )
        if isinstance(result, JoinRefusal):
            await self._refuse(bot, update, user, result, language)
            return None
        if not result.replayed:
            log.info("member joined", extra={"how": result.how})
        return Admitted(result.membership, result.how, replayed=result.replayed)

    async def _refuse(
        self, bot: Bot, update: Update, user: User, refusal: JoinRefusal, language: str
    ) -> None:
        verdict = self._refusals.admit(user.id, can_reply=True)
        if verdict.first_in_window:
            log.info("sign-up refused", extra={"telegram_id": user.id, "reason": refusal.value})
        if not verdict.reply:
            return
        text = self._services.catalog.translator(language)(f"join_refused_{refusal.value}")
        try:
            with single_attempt():  # like a stranger's denial: never waits out a flood limit
                await self._reply(bot, update, text)
        except TelegramRetryAfter:
            self._refusals.unanswered(user.id)
        except TelegramAPIError as error:
            log.debug("refusal not delivered", extra={"error": type(error).__name__})
