"""Reports and views: /today /week /month /year /chart /last /balance /budget(s)
(docs/product.md §4, §11)."""

from __future__ import annotations

import asyncio
import re
from datetime import date

from aiogram import Router
from aiogram.filters import CommandObject
from aiogram.types import BufferedInputFile, Message

from finance_bot.adapters.telegram.charts import chart_caption, chart_png
from finance_bot.adapters.telegram.context import ChatContext
from finance_bot.adapters.telegram.filters import CommandsOnly, named
from finance_bot.adapters.telegram.formatting import format_money
from finance_bot.adapters.telegram.presenters import account_label, fit, parse_error_text
from finance_bot.adapters.telegram.report_views import (
    balance_text,
    budgets_text,
    last_text,
    period_report_text,
    period_title,
)
from finance_bot.domain.accounts import AccountType
from finance_bot.domain.commands import ParseError
from finance_bot.domain.parser import parse_amount
from finance_bot.domain.periods import PeriodKind, reportable

_ME = frozenset({"me", "я", "мне", "мои"})
_TOTAL = frozenset({"total", "всего", "итого", "общий"})
_OFF = frozenset({"off", "выкл", "нет", "0"})
_MONTH = re.compile(r"^([0-9]{4})-([0-9]{1,2})$")
_YEAR = re.compile(r"^([0-9]{4})$")
_LAST_DEFAULT, _LAST_MAX = 10, 100
_CAPTION_LIMIT = 1024  # Telegram's, for a photo's caption
_CHART_KINDS = {
    "week": PeriodKind.WEEK,
    "неделя": PeriodKind.WEEK,
    "month": PeriodKind.MONTH,
    "месяц": PeriodKind.MONTH,
    "year": PeriodKind.YEAR,
    "год": PeriodKind.YEAR,
}
_KINDS = {
    "today": PeriodKind.DAY,
    "week": PeriodKind.WEEK,
    "month": PeriodKind.MONTH,
    "year": PeriodKind.YEAR,
}


def _period_arguments(kind: PeriodKind, args: str | None, today: date) -> tuple[date, bool] | None:
    """The day the period contains, and whether `me` was asked for; None if unreadable."""
    words = (args or "").lower().split()
    only_me = bool(words) and words[-1] in _ME
    if only_me:
        words = words[:-1]
    if not words:
        return today, only_me
    if len(words) > 1:
        return None
    # Only the years reports cover (ADR-0012): "/month 9999-12" has no next month to end on.
    if kind is PeriodKind.MONTH and (match := _MONTH.match(words[0])):
        year, month = int(match[1]), int(match[2])
        if 1 <= month <= 12 and reportable(date(max(year, 1), month, 1)):
            return date(year, month, 1), only_me
    if (
        kind is PeriodKind.YEAR
        and (match := _YEAR.match(words[0]))
        and reportable(date(max(int(match[1]), 1), 1, 1))
    ):
        return date(int(match[1]), 1, 1), only_me
    return None


def _chart_arguments(args: str | None, today: date) -> tuple[PeriodKind, date, bool] | None:
    """`/chart [week|month|year] [YYYY-MM | YYYY] [me]`: a month unless said otherwise; a
    lone `2026-11` or `2026` tells the period by itself."""
    words = (args or "").lower().split()
    kind = PeriodKind.MONTH
    if words and words[0] in _CHART_KINDS:
        kind = _CHART_KINDS[words.pop(0)]
    elif words and _YEAR.match(words[0]):
        kind = PeriodKind.YEAR
    arguments = _period_arguments(kind, " ".join(words), today)
    return None if arguments is None else (kind, *arguments)


def _name_and_amount(words: list[str], currency: str) -> tuple[str, str] | None:
    """`/budget кафе 1 000`: the amount is the longest trailing run of words that reads as
    one (the entries' grammar: "1 000", "1000+500", "2 000,50"), or a word like "off"."""
    if len(words) < 2:
        return None
    if words[-1].lower() in _OFF:
        return " ".join(words[:-1]), words[-1]
    for start in range(1, len(words)):
        amount = " ".join(words[start:])
        if not isinstance(parse_amount(amount, currency), ParseError):
            return " ".join(words[:start]), amount
    return " ".join(words[:-1]), words[-1]  # unreadable: the reply quotes it


def reports_router() -> Router:
    router = Router(name="reports")
    router.message.filter(CommandsOnly())
    router.message.register(period, named(*_KINDS))
    router.message.register(chart, named("chart"))
    router.message.register(last, named("last"))
    router.message.register(balance, named("balance"))
    router.message.register(budgets, named("budgets"))
    router.message.register(budget, named("budget"))
    return router


async def period(message: Message, command: CommandObject, ctx: ChatContext) -> None:
    kind = _KINDS[command.command.casefold()]
    today = ctx.services.local_date(message.date)
    arguments = _period_arguments(kind, command.args, today)
    if arguments is None:
        await ctx.answer(message, ctx.t("report_usage"))
        return
    day, only_me = arguments
    report = await ctx.books.period_report(kind, day, only_me=only_me, today=today)
    members = {person.telegram_id: person for person in await ctx.books.members()}
    await ctx.answer(message, period_report_text(report, members, ctx.t))


async def chart(message: Message, command: CommandObject, ctx: ChatContext) -> None:
    today = ctx.services.local_date(message.date)
    arguments = _chart_arguments(command.args, today)
    if arguments is None:
        await ctx.answer(message, ctx.t("chart_usage"))
        return
    kind, day, only_me = arguments
    data = await ctx.books.spending_chart(kind, day, only_me=only_me, today=today)
    if data.empty:
        title = period_title(data.report.period, ctx.t)
        await ctx.answer(message, ctx.t("chart_nothing", title=title))
        return
    # Drawing is CPU-bound (about half a second, more at the first chart as matplotlib
    # loads): off the loop, so polling, the health check and the metrics keep answering.
    png = await asyncio.to_thread(chart_png, data, ctx.t)
    await ctx.bot.send_photo(
        message.chat.id,
        BufferedInputFile(png, filename="chart.png"),
        caption=fit(chart_caption(data, ctx.t), limit=_CAPTION_LIMIT),
    )


async def last(message: Message, command: CommandObject, ctx: ChatContext) -> None:
    words = (command.args or "").lower().split()
    only_me = bool(words) and words[-1] in _ME
    count_word = words[0] if words and words[0] not in _ME else ""
    limit = int(count_word) if count_word.isascii() and count_word.isdigit() else _LAST_DEFAULT
    limit = max(1, min(limit, _LAST_MAX))
    lines, accounts = await ctx.books.last_transactions(limit, only_me=only_me)
    await ctx.answer(message, last_text(lines, accounts, ctx.t))


async def balance(message: Message, ctx: ChatContext) -> None:
    await ctx.answer(message, balance_text(await ctx.books.balances(), ctx.t))


async def budgets(message: Message, ctx: ChatContext) -> None:
    today = ctx.services.local_date(message.date)
    lines = await ctx.books.budget_progress(today, today=today)
    categories = {view.category.id: view.category for view in await ctx.books.categories()}
    await ctx.answer(message, budgets_text(lines, categories, today, ctx.t))


async def budget(message: Message, command: CommandObject, ctx: ChatContext) -> None:
    split = _name_and_amount((command.args or "").split(), ctx.currency)
    if split is None:
        await ctx.answer(message, ctx.t("budget_usage"))
        return
    name, amount_word = split
    category = None
    if name.lower() not in _TOTAL:
        category = await ctx.books.find_category(name, AccountType.EXPENSE)
    label = account_label(category, ctx.t) if category is not None else ctx.t("budget_total")
    category_id = category.id if category is not None else None
    if amount_word.lower() in _OFF:
        removed = await ctx.books.remove_budget(category_id)
        key = "budget_removed" if removed else "budget_not_found"
        await ctx.answer(message, ctx.t(key, category=label))
        return
    limit = parse_amount(amount_word, ctx.currency)
    if isinstance(limit, ParseError):
        await ctx.answer(message, parse_error_text(limit, ctx.t))
        return
    await ctx.books.set_budget(category_id, limit)
    await ctx.answer(
        message, ctx.t("budget_set", category=label, limit=format_money(limit, ctx.t.language))
    )
