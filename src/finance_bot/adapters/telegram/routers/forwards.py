"""Forwarded messages write nothing until the member agrees (docs/product.md §5, ADR 0010).

A forward carries someone else's words, or the member's own from another time and
place: running it as a fresh line would let a forwarded `/undo` void an entry. So a
forwarded command is refused, and a forwarded entry line gets an answer showing how it
would be recorded, with a Record button. The answer replies to the forwarded message, so
the press reads the line from there (nothing is kept in memory); the answer's own id is
the idempotency key, so pressing twice records once.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message

from finance_bot.adapters.telegram.callbacks import answer_press
from finance_bot.adapters.telegram.context import ChatContext
from finance_bot.adapters.telegram.filters import When
from finance_bot.adapters.telegram.keyboards import RecordForwardButton, forward_keyboard
from finance_bot.adapters.telegram.lines import default_currency
from finance_bot.adapters.telegram.presenters import forward_preview, parse_error_text
from finance_bot.adapters.telegram.replies import edit_text, send_budget_alerts
from finance_bot.adapters.telegram.routers.capture import (
    confirmation_with_buttons,
    record_as_author,
)
from finance_bot.adapters.telegram.update_keys import forward_key
from finance_bot.domain.commands import ParseError, RecordCommand
from finance_bot.domain.parser import parse_line


def forwards_router() -> Router:
    router = Router(name="forwards")
    router.message.register(forwarded_command, When(F.forward_origin & F.text.startswith("/")))
    router.message.register(forwarded_line, When(F.forward_origin & F.text))
    router.message.register(forwarded_other, When(F.forward_origin))
    router.callback_query.register(record_forward, RecordForwardButton.filter())
    return router


async def forwarded_command(message: Message, ctx: ChatContext) -> None:
    await ctx.answer(message, ctx.t("forward_command"))


async def forwarded_line(message: Message, ctx: ChatContext) -> None:
    parsed = await _parse(message, ctx)
    if isinstance(parsed, ParseError):
        ctx.parse_error()
        await ctx.answer(message, parse_error_text(parsed, ctx.t))
        return
    text = await _preview(parsed, ctx)
    await ctx.answer(message, text, forward_keyboard(ctx.t), reply_to=message.message_id)


async def forwarded_other(message: Message, ctx: ChatContext) -> None:
    await ctx.answer(message, ctx.t("non_text"))


async def record_forward(query: CallbackQuery, ctx: ChatContext) -> None:
    answer = query.message
    original = answer.reply_to_message if isinstance(answer, Message) else None
    if not isinstance(answer, Message) or original is None or not original.text:
        await answer_press(ctx.bot, query.id, ctx.t("forward_gone"))
        return
    parsed = await _parse(original, ctx)
    if isinstance(parsed, ParseError):
        await answer_press(ctx.bot, query.id, parse_error_text(parsed, ctx.t))
        return
    key = forward_key(ctx.bot.id, answer.chat.id, answer.message_id)
    recorded = await record_as_author(parsed, ctx, idempotency_key=key)
    if recorded.replayed:
        # Already recorded by an earlier press; its message may have moved on since
        # (undone, re-filed), so it is left as it is.
        await answer_press(
            ctx.bot, query.id, ctx.t("forward_recorded_before", number=recorded.number)
        )
        # An earlier press that died before its alerts went out leaves them to this one.
        await send_budget_alerts(ctx, recorded.alerts, replayed=True, key=key)
        return
    today = ctx.services.today()
    text, keyboard = await confirmation_with_buttons(ctx, parsed, recorded, today)
    await edit_text(ctx.bot, answer.chat.id, answer.message_id, text, keyboard)
    await answer_press(ctx.bot, query.id, ctx.t("callback_done"))
    await send_budget_alerts(ctx, recorded.alerts, key=key)


async def _parse(forwarded: Message, ctx: ChatContext) -> RecordCommand | ParseError:
    """The line read as of when it was first written: "вчера" means the day before that."""
    assert forwarded.text is not None
    written = forwarded.forward_origin.date if forwarded.forward_origin else forwarded.date
    vocabulary = await ctx.books.vocabulary()
    return parse_line(
        forwarded.text,
        vocabulary,
        today=ctx.services.local_date(written),
        currency=default_currency(vocabulary, ctx),
    )


async def _preview(command: RecordCommand, ctx: ChatContext) -> str:
    accounts = await ctx.books.accounts()
    categories = await ctx.books.categories()
    accounts_by_id = {a.id: a for a in (*accounts.accounts, *(v.category for v in categories))}
    return forward_preview(
        command, accounts_by_id, accounts.default_account_id, ctx.t, today=ctx.services.today()
    )
