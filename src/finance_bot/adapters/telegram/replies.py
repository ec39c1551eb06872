"""Sending replies within Telegram's limits, and the confirmation every write gets."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING
from uuid import UUID

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardMarkup, Message, ReplyParameters

from finance_bot.adapters.telegram.i18n import resolve_language
from finance_bot.adapters.telegram.inline_replies import holding, send_or_hold
from finance_bot.adapters.telegram.keyboards import confirmation_keyboard
from finance_bot.adapters.telegram.presenters import (
    account_label,
    budget_alert_text,
    confirmation,
    fit,
    split_message,
    unknown_category_notice,
)
from finance_bot.application.results import BudgetAlert, TransactionView
from finance_bot.domain.periods import month_start
from finance_bot.domain.transactions import TransactionKind

if TYPE_CHECKING:  # the context replies through this module
    from finance_bot.adapters.telegram.context import ChatContext

log = logging.getLogger(__name__)


async def send_text(
    bot: Bot,
    chat_id: int,
    text: str,
    reply_markup: InlineKeyboardMarkup | None = None,
    *,
    reply_to: int | None = None,
) -> Message:
    """Send a reply, split at line ends if longer than Telegram allows; buttons go last.

    Returns the last message sent. That one carries the buttons and answers reply_to, so
    a press can read the message it answers.
    """
    sent: Message | None = None
    for method in _messages(chat_id, text, reply_markup, reply_to):
        sent = await bot(method)
    assert sent is not None
    return sent


async def reply_text(
    bot: Bot,
    chat_id: int,
    text: str,
    reply_markup: InlineKeyboardMarkup | None = None,
    *,
    reply_to: int | None = None,
) -> None:
    """send_text for a reply whose message nobody reads afterwards: in webhook mode its
    last part may travel in the webhook's answer instead of a request (inline_replies.py)."""
    *first, last = _messages(chat_id, text, reply_markup, reply_to)
    for method in first:
        await bot(method)
    await send_or_hold(bot, last)


def _messages(
    chat_id: int, text: str, reply_markup: InlineKeyboardMarkup | None, reply_to: int | None
) -> list[SendMessage]:
    parts = split_message(text)
    methods = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        answering = (
            ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
            if reply_to is not None and last
            else None
        )
        methods.append(
            SendMessage(
                chat_id=chat_id,
                text=part,
                reply_markup=reply_markup if last else None,
                reply_parameters=answering,
            )
        )
    return methods


async def edit_text(
    bot: Bot,
    chat_id: int,
    message_id: int,
    text: str,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Replace a message's text, cut to Telegram's limit: an edit cannot be split.

    A redelivered press finds the message edited already, which is no error.
    """
    with _unless_unchanged():
        await bot.edit_message_text(
            fit(text), chat_id=chat_id, message_id=message_id, reply_markup=reply_markup
        )


async def edit_markup(
    bot: Bot, chat_id: int, message_id: int, reply_markup: InlineKeyboardMarkup | None
) -> None:
    with _unless_unchanged():
        await bot.edit_message_reply_markup(
            chat_id=chat_id, message_id=message_id, reply_markup=reply_markup
        )


@contextlib.contextmanager
def _unless_unchanged() -> Iterator[None]:
    try:
        yield
    except TelegramBadRequest as error:
        if "message is not modified" not in error.message:
            raise


async def confirmation_reply(
    ctx: ChatContext,
    transaction_id: UUID,
    today: date,
    *,
    unknown_word: str | None = None,
    learned_alias: str | None = None,
    view: TransactionView | None = None,
) -> tuple[str, InlineKeyboardMarkup]:
    """How the line was understood, with Undo and Category buttons; read from the books
    unless the entry's `view` is in hand already."""
    t = ctx.t
    if view is None or view.transaction.id != transaction_id:
        view = await ctx.books.transaction_view(transaction_id)
    transaction = view.transaction
    assert transaction.number is not None
    with_category = transaction.kind in (TransactionKind.EXPENSE, TransactionKind.INCOME)
    keyboard = confirmation_keyboard(transaction.number, t, with_category=with_category)
    text = confirmation(view, t, today=today)
    categories = [a for a in view.accounts.values() if a.type.is_category]
    if unknown_word is not None and categories:
        text += "\n" + unknown_category_notice(unknown_word, categories[0], t)
    if learned_alias is not None and categories:
        category = categories[0]
        text += "\n" + t("learned_alias", alias=learned_alias, category=account_label(category, t))
    return text, keyboard


async def send_budget_alerts(
    ctx: ChatContext,
    alerts: tuple[BudgetAlert, ...],
    *,
    replayed: bool = False,
    key: str | None = None,
) -> None:
    """Every member hears once per expense of the budgets it crossed, in their language.

    The other members first, each by request, so that one who blocked the bot is told
    apart and skipped; the author's alert last, the update's last reply (in webhook mode
    it may travel in the answer, docs/adr/0026). `key` is what the expense was recorded
    under (the update's by default): each delivered alert is remembered there, so that a
    `replayed` answer — the update delivered again — tells only whom it had not reached.
    """
    if not alerts:
        return
    key = key or ctx.books.idempotency_key  # none for the scheduler's: notified_at is theirs
    told = await ctx.books.members_alerted(key) if replayed and key else set()
    services = ctx.services
    categories = {view.category.id: view.category for view in await ctx.books.categories()}
    this_month = month_start(services.today())
    author: str | None = None  # the alert of the member this update or notice is for
    for member in await ctx.books.members():
        if not member.active:
            continue  # who left hears nothing of the household's budgets
        if member.telegram_id in told:
            continue  # an earlier delivery of this update reached them
        language = resolve_language(
            member.language, member.telegram_language, services.fallback_language
        )
        t = services.catalog.translator(language)
        lines = [
            budget_alert_text(
                alert,
                categories.get(alert.category_id) if alert.category_id else None,
                t,
                this_month=this_month,
            )
            for alert in alerts
        ]
        if member.telegram_id == ctx.member.telegram_id:
            author = "\n".join(lines)
        elif await _alert_member(ctx.bot, member.telegram_id, "\n".join(lines)) and key:
            await ctx.books.remember_alerted(key, member.telegram_id)
    if author is not None:
        # A reply held for the webhook's answer is not delivered until the answer is:
        # lost with it, the update comes again and must still carry it.
        sent_now = not holding()
        await reply_text(ctx.bot, ctx.member.telegram_id, author)
        if sent_now and key:
            await ctx.books.remember_alerted(key, ctx.member.telegram_id)


async def _alert_member(bot: Bot, telegram_id: int, text: str) -> bool:
    """One member's alert; False when it could not be delivered. A member who blocked the
    bot (or deleted their account) cannot be told, now or by a retry, and must not cost the
    others theirs; any other failure is the update's, retried as such. A 403 about another
    chat (a reply held for the webhook's answer, sent before this request) is not this
    member's and is raised."""
    try:
        await send_text(bot, telegram_id, text)
    except TelegramForbiddenError as error:
        if getattr(error.method, "chat_id", None) != telegram_id:
            raise
        # No id or name: who blocked the bot is the household's business, not the log's.
        log.info("budget alert not delivered: a member blocked the bot")
        return False
    return True
