"""What every handler gets: the services, the member, their language, their books.

One outer middleware decides who is served. Group chats and channels are ignored;
people off the whitelist get one "access denied" reply per window (strangers.py) and
nothing is read or written. Every string of the update is cleaned before anyone reads it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter
from aiogram.types import (
    CallbackQuery,
    Chat,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
    Update,
    User,
)

from finance_bot.adapters.observability.metrics import BotMetrics
from finance_bot.adapters.telegram.callbacks import answer_press
from finance_bot.adapters.telegram.cleaning import cleaned
from finance_bot.adapters.telegram.i18n import Catalog, Translator, resolve_language
from finance_bot.adapters.telegram.presenters import error_text, fit
from finance_bot.adapters.telegram.replies import reply_text
from finance_bot.adapters.telegram.session import single_attempt
from finance_bot.adapters.telegram.signup import Signup
from finance_bot.adapters.telegram.strangers import StrangerGate
from finance_bot.adapters.telegram.update_keys import (
    REDELIVERY_WINDOW,
    LegacyKeys,
    key_prefix,
    update_key,
)
from finance_bot.adapters.transient import Attempt
from finance_bot.application.books import Books, Write
from finance_bot.domain.errors import LedgerRuleViolation
from finance_bot.ports.clock import Clock, IdSource
from finance_bot.ports.export import ExportReader
from finance_bot.ports.records import Member
from finance_bot.ports.unit_of_work import RecurringUnitOfWorkFactory, UnitOfWorkFactory

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChatServices:
    uow_factory: UnitOfWorkFactory
    ids: IdSource
    catalog: Catalog
    timezone: ZoneInfo
    currency: str
    # `currency` only seeds a new household; each household keeps its own (ADR 0012).
    fallback_language: str
    whitelist: frozenset[int]
    clock: Clock
    metrics: BotMetrics
    export: ExportReader  # the books as they leave (/export)
    # The repeating entries' storage (docs/product.md §9); the one the bot runs with is
    # `uow_factory` itself. None: `/every` and `/recurring` are not wired (some tests).
    recurring: RecurringUnitOfWorkFactory | None = None
    # Who may start (SIGNUP, docs/adr/0022): "whitelist", "invite" or "open".
    signup: str = "whitelist"
    # Around each update served: its units of work share one connection (docs/adr/0027).
    sharing: Callable[[], AbstractAsyncContextManager[None]] = contextlib.nullcontext

    def today(self) -> date:
        return self.local_date(self.clock.now())

    def local_date(self, moment: datetime) -> date:
        """The household's calendar day of a moment (a message's own timestamp)."""
        return moment.astimezone(self.timezone).date()


class Outcome:
    """How an update ended, for the metrics; handlers refine the default."""

    def __init__(self) -> None:
        self.value: str | None = "handled"  # None: not counted (a group chat, a bot)
        # What a committed write makes certain: said, should the update fail after it for
        # good, instead of the apology that says nothing was recorded (docs/adr/0008).
        self.committed: str | None = None


@dataclass(frozen=True)
class ChatContext:
    """Everything a handler needs besides the event itself."""

    services: ChatServices
    bot: Bot
    member: Member
    t: Translator
    outcome: Outcome
    books: Books  # the member's use cases, bound to this update's idempotency key
    currency: str = ""  # the household's base currency: amounts are read in it
    # "founded" or "invited": this very update made them a member (the /start reply says so)
    joined: str | None = None

    async def answer(
        self,
        message: Message,
        text: str,
        keyboard: InlineKeyboardMarkup | None = None,
        *,
        reply_to: int | None = None,
    ) -> None:
        """Reply in the message's chat, split to Telegram's limits (replies.reply_text): the
        webhook may carry it in its answer, so the message sent is not returned."""
        await reply_text(self.bot, message.chat.id, text, keyboard, reply_to=reply_to)

    def parse_error(self) -> None:
        """The update could not be read: counted as such, not as handled."""
        self.outcome.value = "parse_error"

    def committed(self, text: str) -> None:
        """Once a write has committed, what the person is told if its confirmation fails."""
        self.outcome.committed = text


def origin(update: Update) -> tuple[User | None, Chat | None]:
    if update.message is not None:
        return update.message.from_user, update.message.chat
    if update.edited_message is not None:
        return update.edited_message.from_user, update.edited_message.chat
    if update.callback_query is not None:
        query = update.callback_query
        chat = query.message.chat if query.message is not None else None
        return query.from_user, chat
    return None, None


def served(user: User | None, chat: Chat | None) -> User | None:
    """The person an update is from, if the bot serves it: private chats with people only."""
    if user is None or user.is_bot or (chat is not None and chat.type != "private"):
        return None
    return user


class Doorkeeper:
    """The whitelist: a stranger is told "access denied", once per window (strangers.py)."""

    def __init__(self, services: ChatServices, strangers: StrangerGate) -> None:
        self._services = services
        self._strangers = strangers

    def admits(self, user: User) -> bool:
        # The other modes look in the database (signup.py), which turns strangers away
        # through this same door, its flood protections included.
        return self._services.signup != "whitelist" or user.id in self._services.whitelist

    async def turn_away(self, bot: Bot, update: Update, user: User) -> None:
        can_reply = update.message is not None or update.callback_query is not None
        verdict = self._strangers.admit(user.id, can_reply=can_reply)
        if verdict.first_in_window:
            log.info("access denied", extra={"telegram_id": user.id})
        if not verdict.reply:
            return
        language = resolve_language(None, user.language_code, self._services.fallback_language)
        key = {"invite": "access_denied_invite", "open": "access_denied_open"}.get(
            self._services.signup, "access_denied"
        )
        text = self._services.catalog.translator(language)(key, telegram_id=user.id)
        try:
            # One attempt: a stranger's reply never waits out a flood limit in front of the
            # updates behind it, nor makes the update be retried.
            with single_attempt():
                await _reply(bot, update, text)
        except TelegramRetryAfter:
            self._strangers.unanswered(user.id)
        except TelegramAPIError as error:
            log.debug("denial not delivered", extra={"error": type(error).__name__})


class Enrolment:
    """Makes a person a member when the sign-up mode lets them (signup.py), and builds the
    context: their language, their household's settings, the update's idempotency key."""

    def __init__(self, services: ChatServices, doorkeeper: Doorkeeper) -> None:
        self._services = services
        self._signup = Signup(services, turn_away=doorkeeper.turn_away, reply=_reply)
        self._legacy_keys: LegacyKeys | None = None  # read at the first update served

    async def context(
        self, bot: Bot, event: Update, user: User, outcome: Outcome
    ) -> ChatContext | None:
        """None: not served (a stranger, or a /start that joined nobody, answered)."""
        services = self._services
        key = await self._update_key(bot.id, event)
        admitted = await self._signup.admit(bot, event, user, key)
        if admitted is None:
            outcome.value = "denied"
            return None
        if admitted.replayed:
            outcome.value = "duplicate"
        member, household = admitted.membership.member, admitted.membership.household
        language = resolve_language(
            member.language or household.language, user.language_code, services.fallback_language
        )
        currency = household.currency
        if household.timezone is not None and household.timezone != services.timezone.key:
            # The household's own day: every router reads dates through ctx.services.
            services = replace(services, timezone=ZoneInfo(household.timezone))
        books = Books(
            telegram_id=member.telegram_id,
            idempotency_key=key,
            uow_factory=services.uow_factory,
            ids=services.ids,
            currency=currency,
            words_in_hand=admitted.membership.words,
        )
        return ChatContext(
            services=services,
            bot=bot,
            member=member,
            t=services.catalog.translator(language),
            outcome=outcome,
            books=books,
            currency=currency,
            joined=admitted.joined,
        )

    async def _update_key(self, bot_id: int, update: Update) -> str:
        now = self._services.clock.now()
        if self._legacy_keys is None:
            since = now - REDELIVERY_WINDOW
            async with self._services.uow_factory(transactional=False) as uow:
                found = await uow.idempotency.claimed_since(key_prefix(bot_id), since)
            self._legacy_keys = LegacyKeys(found, now)
        legacy = self._legacy_keys.key_for(bot_id, update, now)
        return legacy if legacy is not None else update_key(bot_id, update)


def count_writes(writes: list[Write], outcome: Outcome, metrics: BotMetrics) -> None:
    """Count the ledger writes an update made; a replayed one marks it a duplicate."""
    for write in writes:
        if write.replayed:
            outcome.value = "duplicate"
        elif write.kind == "reversal":
            metrics.ledger_voided()
        else:
            metrics.ledger_written(write.kind)


async def say_what_failed(
    bot: Bot, event: Update, error: Exception, *, t: Translator, outcome: Outcome, attempt: Attempt
) -> None:
    """The reply to an update whose handler raised (docs/adr/0008).

    A refused request says why; nothing was written (the unit of work rolled back). A bug,
    or a failure that keeps recurring, says what is certain: the entry committed, or
    nothing was written. A retried update says nothing yet: its retry answers.
    """
    if isinstance(error, LedgerRuleViolation):
        await _reply(bot, event, error_text(error, t))
    elif not attempt.will_retry(error):
        with contextlib.suppress(Exception):
            await _reply(bot, event, outcome.committed or t("something_went_wrong"))


class MemberContext(BaseMiddleware):
    """Who is served, and how: each update in turn passes the pieces above, in order —
    private chats with people only, the whitelist, enrolment and language, the handler,
    its writes counted, what a failure says, and the update's outcome timed."""

    def __init__(self, services: ChatServices, strangers: StrangerGate | None = None) -> None:
        self._services = services
        gate = strangers or StrangerGate()
        self._doorkeeper = Doorkeeper(services, gate)
        self._enrolment = Enrolment(services, self._doorkeeper)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Update)
        event = cleaned(event)
        started = time.perf_counter()
        outcome = Outcome()
        attempt: Attempt = data.get("delivery_attempt") or Attempt()
        try:
            async with self._services.sharing():
                await self._serve(handler, event, data, outcome, attempt)
        except Exception as error:
            # A retried update is counted once, when it is finally handled.
            outcome.value = None if attempt.will_retry(error) else "error"
            raise
        finally:
            if outcome.value is not None:
                elapsed = time.perf_counter() - started
                self._services.metrics.update_handled(event, outcome.value, elapsed)

    async def _serve(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: Update,
        data: dict[str, Any],
        outcome: Outcome,
        attempt: Attempt,
    ) -> None:
        services = self._services
        user = served(*origin(event))
        if user is None:
            outcome.value = None
            return
        bot: Bot = data["bot"]
        if not self._doorkeeper.admits(user):
            outcome.value = "denied"
            await self._doorkeeper.turn_away(bot, event, user)
            return
        # Until the member's own choice of language is read, Telegram's one.
        t = services.catalog.translator(
            resolve_language(None, user.language_code, services.fallback_language)
        )
        try:
            context = await self._enrolment.context(bot, event, user, outcome)
            if context is None:
                return
            t = context.t
            data["ctx"] = context
            try:
                await handler(event, data)
            finally:
                count_writes(context.books.writes, outcome, services.metrics)
        except LedgerRuleViolation as refused:
            await say_what_failed(bot, event, refused, t=t, outcome=outcome, attempt=attempt)
        except Exception as error:
            await say_what_failed(bot, event, error, t=t, outcome=outcome, attempt=attempt)
            raise


async def _reply(bot: Bot, update: Update, text: str) -> None:
    if update.callback_query is not None:
        query: CallbackQuery = update.callback_query
        await answer_press(bot, query.id, text, show_alert=True)
        return
    message: Message | None = update.message
    if message is not None:
        await bot.send_message(message.chat.id, fit(text))
