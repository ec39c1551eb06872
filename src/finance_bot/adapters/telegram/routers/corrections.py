"""Undo, /del and the buttons under a confirmation (docs/product.md §3)."""

from __future__ import annotations

import re

from aiogram import Router
from aiogram.filters import CommandObject
from aiogram.types import CallbackQuery, InaccessibleMessage, Message

from finance_bot.adapters.telegram.callbacks import answer_press
from finance_bot.adapters.telegram.context import ChatContext
from finance_bot.adapters.telegram.filters import CommandsOnly, named
from finance_bot.adapters.telegram.i18n import Translator
from finance_bot.adapters.telegram.keyboards import (
    BackButton,
    CategoryMenuButton,
    RefileButton,
    UndoButton,
    categories_keyboard,
    confirmation_keyboard,
)
from finance_bot.adapters.telegram.replies import (
    confirmation_reply,
    edit_markup,
    edit_text,
    send_budget_alerts,
    send_text,
)
from finance_bot.application.results import Voided

# "/del42", "/del_42", and anything else glued to "del" (then refused): one rule for
# every form, ASCII digits only, so "/del٣" voids nothing just as "/del ٢" does not.
_TRANSACTION_NUMBER = re.compile(r"[0-9]{1,18}")
_DEL_GLUED = re.compile(r"^del_?(.+)$", re.IGNORECASE)


def corrections_router() -> Router:
    router = Router(name="corrections")
    router.message.filter(CommandsOnly())
    router.message.register(undo, named("undo"))
    router.message.register(delete_glued, named(_DEL_GLUED))
    router.message.register(delete, named("del"))
    router.callback_query.register(undo_button, UndoButton.filter())
    router.callback_query.register(category_menu, CategoryMenuButton.filter())
    router.callback_query.register(back, BackButton.filter())
    router.callback_query.register(refile_button, RefileButton.filter())
    return router


async def undo(message: Message, ctx: ChatContext) -> None:
    voided = await ctx.books.undo_last()
    ctx.committed(_voided_text(voided, ctx.t))
    await ctx.answer(message, _voided_text(voided, ctx.t))


async def delete_glued(message: Message, command: CommandObject, ctx: ChatContext) -> None:
    assert command.regexp_match is not None
    await _delete(message, command.regexp_match.group(1), ctx)


async def delete(message: Message, command: CommandObject, ctx: ChatContext) -> None:
    await _delete(message, (command.args or "").strip().lstrip("#"), ctx)


async def undo_button(query: CallbackQuery, callback_data: UndoButton, ctx: ChatContext) -> None:
    voided = await _void(callback_data.number, ctx)
    message = query.message
    if isinstance(message, Message) and message.text:
        await edit_text(
            ctx.bot,
            message.chat.id,
            message.message_id,
            f"{message.text}\n\n{_voided_text(voided, ctx.t)}",
        )
    await answer_press(ctx.bot, query.id, ctx.t("callback_done"))


async def category_menu(
    query: CallbackQuery, callback_data: CategoryMenuButton, ctx: ChatContext
) -> None:
    choices = await ctx.books.refile_choices(callback_data.number)
    message = query.message
    if message is not None and not isinstance(message, InaccessibleMessage):
        await edit_markup(
            ctx.bot,
            message.chat.id,
            message.message_id,
            categories_keyboard(callback_data.number, choices, ctx.t),
        )
    await answer_press(ctx.bot, query.id, ctx.t("choose_category", number=callback_data.number))


async def back(query: CallbackQuery, callback_data: BackButton, ctx: ChatContext) -> None:
    message = query.message
    if message is not None and not isinstance(message, InaccessibleMessage):
        await edit_markup(
            ctx.bot,
            message.chat.id,
            message.message_id,
            confirmation_keyboard(callback_data.number, ctx.t, with_category=True),
        )
    await answer_press(ctx.bot, query.id)


async def refile_button(
    query: CallbackQuery, callback_data: RefileButton, ctx: ChatContext
) -> None:
    refiled = await ctx.books.refile(callback_data.number, callback_data.category_id)
    recorded = refiled.recorded
    if refiled.moved:
        ctx.committed(ctx.t("recorded_unconfirmed", number=recorded.number))
    message = query.message
    text, keyboard = await confirmation_reply(
        ctx,
        recorded.transaction_id,
        ctx.services.today(),
        learned_alias=refiled.learned_alias,
    )
    if isinstance(message, Message):
        await edit_text(ctx.bot, message.chat.id, message.message_id, text, keyboard)
    else:
        await send_text(ctx.bot, query.from_user.id, text, keyboard)
    await answer_press(ctx.bot, query.id, ctx.t("callback_done"))
    await send_budget_alerts(ctx, recorded.alerts, replayed=refiled.replayed)


async def _void(number: int, ctx: ChatContext) -> Voided:
    voided = await ctx.books.void(number)
    ctx.committed(_voided_text(voided, ctx.t))
    return voided


async def _delete(message: Message, argument: str, ctx: ChatContext) -> None:
    if _TRANSACTION_NUMBER.fullmatch(argument) is None:
        ctx.parse_error()
        await ctx.answer(message, ctx.t("del_usage"))
        return
    voided = await _void(int(argument), ctx)
    await ctx.answer(message, _voided_text(voided, ctx.t))


def _voided_text(voided: Voided, t: Translator) -> str:
    return t("voided", number=voided.number, reversal=voided.reversal_number)
