"""Start, help, language, and the answer to an unknown command."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message

from finance_bot.adapters.telegram.callbacks import answer_press
from finance_bot.adapters.telegram.context import ChatContext
from finance_bot.adapters.telegram.filters import named
from finance_bot.adapters.telegram.i18n import LANGUAGES
from finance_bot.adapters.telegram.replies import send_text
from finance_bot.application import directory


def settings_router() -> Router:
    router = Router(name="settings")

    @router.message(CommandStart(ignore_case=True))
    async def start(message: Message, ctx: ChatContext) -> None:
        await send_text(ctx.bot, message.chat.id, ctx.t("start"))

    @router.message(named("help"))
    async def help_(message: Message, ctx: ChatContext) -> None:
        await send_text(ctx.bot, message.chat.id, ctx.t("help"))

    @router.message(named("lang"))
    async def language(message: Message, command: CommandObject, ctx: ChatContext) -> None:
        chosen = (command.args or "").strip().lower()
        if chosen not in LANGUAGES:
            await send_text(ctx.bot, message.chat.id, ctx.t("language_usage"))
            return
        await directory.set_language(
            ctx.member.telegram_id, chosen, uow_factory=ctx.services.uow_factory
        )
        await send_text(
            ctx.bot, message.chat.id, ctx.services.catalog.translator(chosen)("language_set")
        )

    @router.callback_query()
    async def stale_button(query: CallbackQuery, ctx: ChatContext) -> None:
        # A press no handler reads: an old keyboard, or data made by hand. Answered all
        # the same, or the person's client spins until it gives up.
        ctx.outcome.value = "parse_error"
        await answer_press(ctx.bot, query.id, ctx.t("callback_stale"), show_alert=True)

    @router.message(F.text.startswith("/"))
    async def unknown_command(message: Message, ctx: ChatContext) -> None:
        await send_text(ctx.bot, message.chat.id, ctx.t("help"))

    return router
