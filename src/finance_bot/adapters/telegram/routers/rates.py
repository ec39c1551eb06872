"""Exchange rates: `/rate USD 41.50` and `/rates` (docs/product.md §8)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import CommandObject
from aiogram.types import Message

from finance_bot.adapters.telegram.context import ChatContext
from finance_bot.adapters.telegram.filters import CommandsOnly, named
from finance_bot.adapters.telegram.formatting import format_date
from finance_bot.adapters.telegram.presenters import rate_text, rates_text, short
from finance_bot.domain.commands import ParseError
from finance_bot.domain.currencies import is_known, read_currency
from finance_bot.domain.parser import parse_rate


def rates_router() -> Router:
    router = Router(name="rates")
    router.message.filter(CommandsOnly())
    router.message.register(set_rate, named("rate"))
    router.message.register(rates, named("rates"))
    return router


def currency_code(word: str) -> str | None:
    """A currency as `/rate` and `/addaccount` take it: a code in any case, or a word or
    sign that names exactly one ("$", "евро")."""
    found = read_currency(word)
    if isinstance(found, str):
        return found
    code = word.upper()
    return code if len(code) == 3 and code.isascii() and is_known(code) else None


async def set_rate(message: Message, command: CommandObject, ctx: ChatContext) -> None:
    words = (command.args or "").split()
    if len(words) != 2:
        await ctx.answer(message, ctx.t("rate_usage"))
        return
    first, second = words
    code, value = currency_code(first), second
    if code is None and currency_code(second) is not None:  # "/rate 41.50 USD"
        code, value = currency_code(second), first
    rate = parse_rate(value)
    if code is None or isinstance(rate, ParseError):
        ctx.parse_error()
        unknown = code is None and not first[:1].isdigit()
        text = (
            ctx.t("error_unknown_currency", code=short(first)) if unknown else ctx.t("rate_usage")
        )
        await ctx.answer(message, text)
        return
    if code == ctx.currency:
        await ctx.answer(message, ctx.t("rate_base", code=code))
        return
    today = ctx.services.local_date(message.date)
    await ctx.books.set_rate(code, rate, today=today)
    said = rate_text(code, rate, ctx.currency, ctx.t)
    await ctx.answer(message, ctx.t("rate_set", date=format_date(today, ctx.t.language), rate=said))


async def rates(message: Message, ctx: ChatContext) -> None:
    await ctx.answer(message, rates_text(await ctx.books.rates(), ctx.t))
