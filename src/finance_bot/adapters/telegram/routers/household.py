"""The household itself: /invite, /members, /leave, /settings (docs/product.md §14)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import CommandObject
from aiogram.types import CallbackQuery, Message

from finance_bot.adapters.telegram.callbacks import answer_press
from finance_bot.adapters.telegram.context import ChatContext
from finance_bot.adapters.telegram.filters import CommandsOnly, named
from finance_bot.adapters.telegram.i18n import resolve_language
from finance_bot.adapters.telegram.keyboards import LeaveButton, leave_keyboard
from finance_bot.adapters.telegram.presenters import short
from finance_bot.adapters.telegram.replies import edit_text
from finance_bot.application import membership
from finance_bot.domain.languages import LANGUAGES

_TIMEZONE_WORDS = frozenset({"timezone", "tz", "zone", "пояс", "часовой_пояс"})
_CURRENCY_WORDS = frozenset({"currency", "валюта"})
_LANGUAGE_WORDS = frozenset({"language", "lang", "язык"})


def household_router() -> Router:
    router = Router(name="household")
    router.message.filter(CommandsOnly())
    router.message.register(invite, named("invite"))
    router.message.register(members, named("members"))
    router.message.register(leave, named("leave"))
    router.callback_query.register(leave_button, LeaveButton.filter())
    router.message.register(settings, named("settings"))
    return router


async def invite(message: Message, ctx: ChatContext) -> None:
    if ctx.services.signup == "whitelist":
        await ctx.answer(message, ctx.t("invite_off"))
        return
    code = await membership.make_invite(
        ctx.member.telegram_id, now=ctx.services.clock.now(), uow_factory=ctx.services.uow_factory
    )
    me = await ctx.bot.me()  # read once at start-up (getMe), kept by aiogram since
    hours = int(membership.INVITE_VALIDITY.total_seconds() // 3600)
    if me.username:
        text = ctx.t("invite_link", link=f"https://t.me/{me.username}?start={code}", hours=hours)
    else:
        text = ctx.t("invite_code", code=code, hours=hours)
    await ctx.answer(message, text)


async def members(message: Message, ctx: ChatContext) -> None:
    people = await membership.active_members(
        ctx.member.telegram_id, uow_factory=ctx.services.uow_factory
    )
    lines = [ctx.t("members_title", count=len(people))]
    for person in people:
        name = short(person.display_name) if person.display_name else ctx.t("member_unnamed")
        key = "members_line_me" if person.telegram_id == ctx.member.telegram_id else "members_line"
        lines.append(ctx.t(key, name=name))
    await ctx.answer(message, "\n".join(lines))


async def leave(message: Message, ctx: ChatContext) -> None:
    if ctx.member.telegram_id in ctx.services.whitelist:
        await ctx.answer(message, ctx.t("leave_whitelisted"))
        return
    await ctx.answer(
        message, ctx.t("leave_confirm"), leave_keyboard(ctx.t, ctx.member.household_id)
    )


async def leave_button(query: CallbackQuery, callback_data: LeaveButton, ctx: ChatContext) -> None:
    if callback_data.household != ctx.member.household_id:
        # Asked in a household they have left since: this one was never asked about.
        ctx.parse_error()
        text = ctx.t("callback_stale")
    elif not callback_data.confirmed:
        text = ctx.t("leave_cancelled")
    elif ctx.member.telegram_id in ctx.services.whitelist:
        text = ctx.t("leave_whitelisted")
    else:
        await membership.leave(
            ctx.member.telegram_id,
            whitelist=ctx.services.whitelist,
            uow_factory=ctx.services.uow_factory,
        )
        text = ctx.t("leave_done")
        ctx.committed(text)
    message = query.message
    if isinstance(message, Message):
        # The buttons go: the question is answered.
        await edit_text(ctx.bot, message.chat.id, message.message_id, text)
    await answer_press(ctx.bot, query.id, ctx.t("callback_done"))


async def settings(message: Message, command: CommandObject, ctx: ChatContext) -> None:
    words = (command.args or "").split(maxsplit=1)
    what = words[0].casefold() if words else ""
    value = words[1].strip() if len(words) > 1 else ""
    uow_factory, telegram_id = ctx.services.uow_factory, ctx.member.telegram_id
    if not what:
        await ctx.answer(message, await _settings_text(ctx))
        return
    if what in _TIMEZONE_WORDS and value:
        try:
            zone = await membership.set_timezone(telegram_id, value, uow_factory=uow_factory)
        except membership.ZoneUnknown:
            ctx.parse_error()
            await ctx.answer(message, ctx.t("settings_timezone_unknown", name=short(value)))
            return
        await ctx.answer(message, ctx.t("settings_timezone_set", timezone=zone))
    elif what in _CURRENCY_WORDS and value:
        try:
            code = await membership.set_base_currency(telegram_id, value, uow_factory=uow_factory)
        except membership.CurrencyUnsupported:
            ctx.parse_error()
            await ctx.answer(message, ctx.t("settings_currency_unknown", code=short(value)))
            return
        except membership.BaseCurrencyFixed:
            await ctx.answer(message, ctx.t("settings_currency_fixed", currency=ctx.currency))
            return
        await ctx.answer(message, ctx.t("settings_currency_set", currency=code))
    elif what in _LANGUAGE_WORDS and value.casefold() in LANGUAGES:
        chosen = value.casefold()
        await membership.set_household_language(telegram_id, chosen, uow_factory=uow_factory)
        # Said in the language the asker will now be answered in.
        language = resolve_language(
            ctx.member.language or chosen, None, ctx.services.fallback_language
        )
        await ctx.answer(
            message, ctx.services.catalog.translator(language)("settings_language_set")
        )
    else:
        ctx.parse_error()
        await ctx.answer(message, ctx.t("settings_usage"))


async def _settings_text(ctx: ChatContext) -> str:
    household = await membership.settings_of(
        ctx.member.telegram_id, uow_factory=ctx.services.uow_factory
    )
    timezone = household.timezone or ctx.services.timezone.key
    language = (
        ctx.t(f"language_name_{household.language}")
        if household.language
        else ctx.t("language_name_each")
    )
    return ctx.t("settings_show", timezone=timezone, currency=household.currency, language=language)
