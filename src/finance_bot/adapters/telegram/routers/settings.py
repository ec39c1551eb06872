"""Start, help, language, and the answer to an unknown command."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message

from finance_bot.adapters.telegram.callbacks import answer_press
from finance_bot.adapters.telegram.context import ChatContext
from finance_bot.adapters.telegram.filters import CommandsOnly, When, named
from finance_bot.domain.languages import LANGUAGES


def settings_router() -> Router:
    router = Router(name="settings")
    router.message.filter(CommandsOnly())
    router.message.register(start, CommandStart(ignore_case=True))
    router.message.register(help_, named("help"))
    router.message.register(language, named("lang"))
    router.callback_query.register(stale_button)
    router.message.register(unknown_command, When(F.text.startswith("/")))
    return router


async def start(message: Message, command: CommandObject, ctx: ChatContext) -> None:
    if ctx.joined is not None:  # this very /start made them a member (signup.py)
        await ctx.answer(message, ctx.t(f"start_{ctx.joined}"))
    elif (command.args or "").strip():
        # An invitation opened by someone in a household already: one household a person.
        await ctx.answer(message, ctx.t("start_already_member"))
    else:
        await ctx.answer(message, ctx.t("start"))


async def help_(message: Message, ctx: ChatContext) -> None:
    await ctx.answer(message, ctx.t("help"))


async def language(message: Message, command: CommandObject, ctx: ChatContext) -> None:
    chosen = (command.args or "").strip().lower()
    if chosen not in LANGUAGES:
        await ctx.answer(message, ctx.t("language_usage"))
        return
    await ctx.books.set_language(chosen)
    await ctx.answer(message, ctx.services.catalog.translator(chosen)("language_set"))


async def stale_button(query: CallbackQuery, ctx: ChatContext) -> None:
    # A press no handler reads: an old keyboard, or data made by hand. Answered all
    # the same, or the person's client spins until it gives up.
    ctx.parse_error()
    await answer_press(ctx.bot, query.id, ctx.t("callback_stale"), show_alert=True)


async def unknown_command(message: Message, ctx: ChatContext) -> None:
    await ctx.answer(message, ctx.t("help"))
