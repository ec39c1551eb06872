"""/digest: a person's daily, weekly or monthly digest (docs/product.md §10)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import CommandObject
from aiogram.types import Message

from finance_bot.adapters.telegram.context import ChatContext
from finance_bot.adapters.telegram.digests import schedule_text
from finance_bot.adapters.telegram.filters import CommandsOnly, named
from finance_bot.domain.digests import (
    DigestOff,
    DigestSchedule,
    DigestShow,
    DigestUnreadable,
    parse_digest_request,
)


def digests_router() -> Router:
    router = Router(name="digests")
    router.message.filter(CommandsOnly())
    router.message.register(digest, named("digest"))
    return router


async def digest(message: Message, command: CommandObject, ctx: ChatContext) -> None:
    request = parse_digest_request(command.args)
    zone = ctx.services.timezone.key
    if isinstance(request, DigestUnreadable):
        ctx.parse_error()
        if request.bad_time is not None:
            text = ctx.t("digest_bad_time", time=request.bad_time)
        else:
            text = ctx.t("digest_usage")
    elif isinstance(request, DigestShow):
        current = await ctx.books.digest_setting()
        if current is None:
            text = ctx.t("digest_none")
        else:
            text = ctx.t("digest_current", schedule=schedule_text(current, ctx.t), timezone=zone)
    elif isinstance(request, DigestOff):
        was_on = await ctx.books.set_digest(None, now=message.date)
        text = ctx.t("digest_off" if was_on else "digest_was_off")
    else:
        schedule: DigestSchedule = request
        await ctx.books.set_digest(schedule, now=message.date)
        text = ctx.t("digest_set", schedule=schedule_text(schedule, ctx.t), timezone=zone)
    await ctx.answer(message, text)
