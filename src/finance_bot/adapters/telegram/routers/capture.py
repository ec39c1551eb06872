"""Recording by chat: one line, one transaction (docs/product.md §2)."""

from __future__ import annotations

from datetime import date

from aiogram import F, Router
from aiogram.filters import CommandObject
from aiogram.types import InlineKeyboardMarkup, Message

from finance_bot.adapters.telegram.context import ChatContext
from finance_bot.adapters.telegram.filters import named
from finance_bot.adapters.telegram.keyboards import categories_keyboard
from finance_bot.adapters.telegram.lines import kind_of, record_lines
from finance_bot.adapters.telegram.presenters import parse_error_text
from finance_bot.adapters.telegram.replies import (
    confirmation_reply,
    send_budget_alerts,
    send_text,
)
from finance_bot.application.corrections import refile_choices
from finance_bot.application.household import vocabulary
from finance_bot.application.recording import record
from finance_bot.application.results import Recorded
from finance_bot.domain.commands import ParseError, RecordCommand, RecordExpense, RecordIncome
from finance_bot.domain.parser import parse_line, parse_transfer_arguments


def capture_router() -> Router:
    router = Router(name="capture")

    @router.message(named("transfer"))
    async def transfer(message: Message, command: CommandObject, ctx: ChatContext) -> None:
        today = ctx.services.local_date(message.date)
        words = await vocabulary(ctx.member.telegram_id, uow_factory=ctx.services.uow_factory)
        parsed = parse_transfer_arguments(
            command.args or "", words, today=today, currency=ctx.currency
        )
        if isinstance(parsed, ParseError):
            ctx.outcome.value = "parse_error"
            text = ctx.t("transfer_usage") if not command.args else parse_error_text(parsed, ctx.t)
            await send_text(ctx.bot, message.chat.id, text)
            return
        await _record_and_confirm(message, parsed, ctx)

    @router.message(F.text & ~F.text.startswith("/"))
    async def line(message: Message, ctx: ChatContext) -> None:
        assert message.text is not None
        today = ctx.services.local_date(message.date)
        words = await vocabulary(ctx.member.telegram_id, uow_factory=ctx.services.uow_factory)
        if len([line for line in message.text.splitlines() if line.strip()]) > 1:
            await record_lines(message, message.text, words, ctx)
            return
        parsed = parse_line(message.text, words, today=today, currency=ctx.currency)
        if isinstance(parsed, ParseError):
            ctx.outcome.value = "parse_error"
            await send_text(ctx.bot, message.chat.id, parse_error_text(parsed, ctx.t))
            return
        await _record_and_confirm(message, parsed, ctx)

    @router.message(~F.text)
    async def not_text(message: Message, ctx: ChatContext) -> None:
        await send_text(ctx.bot, message.chat.id, ctx.t("non_text"))

    return router


async def _record_and_confirm(message: Message, command: RecordCommand, ctx: ChatContext) -> None:
    recorded = await record_as_author(command, ctx, idempotency_key=ctx.update_key)
    today = ctx.services.local_date(message.date)
    text, keyboard = await confirmation_with_buttons(ctx, command, recorded, today)
    await send_text(ctx.bot, message.chat.id, text, keyboard)
    await send_budget_alerts(ctx, recorded.alerts)


async def record_as_author(
    command: RecordCommand, ctx: ChatContext, *, idempotency_key: str
) -> Recorded:
    """Record for the person this update is from, counted once (a replay is a duplicate)."""
    recorded = await record(
        command,
        author_telegram_id=ctx.member.telegram_id,
        idempotency_key=idempotency_key,
        uow_factory=ctx.services.uow_factory,
        ids=ctx.services.ids,
    )
    ctx.wrote(kind_of(command), replayed=recorded.replayed)
    ctx.committed(ctx.t("recorded_unconfirmed", number=recorded.number))
    return recorded


async def confirmation_with_buttons(
    ctx: ChatContext, command: RecordCommand, recorded: Recorded, today: date
) -> tuple[str, InlineKeyboardMarkup]:
    """The confirmation; an unknown word gets the categories at once (docs/product.md §2)."""
    unknown_word = (
        command.unknown_word if isinstance(command, RecordExpense | RecordIncome) else None
    )
    text, keyboard = await confirmation_reply(
        ctx, recorded.transaction_id, today, unknown_word=unknown_word
    )
    if unknown_word is not None:
        choices = await refile_choices(
            recorded.number,
            author_telegram_id=ctx.member.telegram_id,
            uow_factory=ctx.services.uow_factory,
        )
        keyboard = categories_keyboard(recorded.number, choices, ctx.t, first_offer=True)
    return text, keyboard
