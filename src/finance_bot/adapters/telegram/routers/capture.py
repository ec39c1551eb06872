"""Recording by chat: one line, one transaction (docs/product.md §2)."""

from __future__ import annotations

from datetime import date

from aiogram import F, Router
from aiogram.filters import CommandObject
from aiogram.types import InlineKeyboardMarkup, Message

from finance_bot.adapters.telegram.context import ChatContext
from finance_bot.adapters.telegram.filters import When, named
from finance_bot.adapters.telegram.keyboards import categories_keyboard
from finance_bot.adapters.telegram.lines import default_currency, record_lines
from finance_bot.adapters.telegram.presenters import parse_error_text
from finance_bot.adapters.telegram.replies import confirmation_reply, send_budget_alerts
from finance_bot.application.results import Recorded
from finance_bot.domain.accounts import visible
from finance_bot.domain.commands import ParseError, RecordCommand, RecordExpense, RecordIncome
from finance_bot.domain.parser import parse_line, parse_transfer_arguments


def capture_router() -> Router:
    router = Router(name="capture")
    router.message.register(transfer, named("transfer"))
    router.message.register(line, When(F.text & ~F.text.startswith("/")))
    router.message.register(not_text, When(~F.text))
    return router


async def transfer(message: Message, command: CommandObject, ctx: ChatContext) -> None:
    today = ctx.services.local_date(message.date)
    vocabulary = await ctx.books.vocabulary()
    currency = default_currency(vocabulary, ctx)
    parsed = parse_transfer_arguments(
        command.args or "", vocabulary, today=today, currency=currency
    )
    if isinstance(parsed, ParseError):
        ctx.parse_error()
        text = ctx.t("transfer_usage") if not command.args else parse_error_text(parsed, ctx.t)
        await ctx.answer(message, text)
        return
    await _record_and_confirm(message, parsed, ctx)


async def line(message: Message, ctx: ChatContext) -> None:
    assert message.text is not None
    today = ctx.services.local_date(message.date)
    vocabulary = await ctx.books.vocabulary()
    if len([line for line in message.text.splitlines() if visible(line).strip()]) > 1:
        await record_lines(message, message.text, vocabulary, ctx)
        return
    parsed = parse_line(
        message.text, vocabulary, today=today, currency=default_currency(vocabulary, ctx)
    )
    if isinstance(parsed, ParseError):
        ctx.parse_error()
        await ctx.answer(message, parse_error_text(parsed, ctx.t))
        return
    await _record_and_confirm(message, parsed, ctx)


async def not_text(message: Message, ctx: ChatContext) -> None:
    await ctx.answer(message, ctx.t("non_text"))


async def _record_and_confirm(message: Message, command: RecordCommand, ctx: ChatContext) -> None:
    recorded = await record_as_author(command, ctx)
    today = ctx.services.local_date(message.date)
    text, keyboard = await confirmation_with_buttons(ctx, command, recorded, today)
    await ctx.answer(message, text, keyboard)
    await send_budget_alerts(ctx, recorded.alerts, replayed=recorded.replayed)


async def record_as_author(
    command: RecordCommand, ctx: ChatContext, *, idempotency_key: str | None = None
) -> Recorded:
    """Record for the person this update is from; once committed, a failed confirmation
    still says the entry is in the books."""
    recorded = await ctx.books.record(command, idempotency_key=idempotency_key)
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
        ctx, recorded.transaction_id, today, unknown_word=unknown_word, view=recorded.view
    )
    if unknown_word is not None:
        choices = await ctx.books.refile_choices(recorded.number)
        keyboard = categories_keyboard(recorded.number, choices, ctx.t, first_offer=True)
    return text, keyboard
