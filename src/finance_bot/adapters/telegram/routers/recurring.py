"""Bills that repeat: `/every`, `/every off N`, `/recurring` (docs/product.md §9)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import CommandObject
from aiogram.types import Message

from finance_bot.adapters.telegram.context import ChatContext
from finance_bot.adapters.telegram.filters import CommandsOnly, named
from finance_bot.adapters.telegram.formatting import format_date
from finance_bot.adapters.telegram.lines import default_currency
from finance_bot.adapters.telegram.presenters import parse_error_text, short
from finance_bot.adapters.telegram.recurring_texts import rule_added_text, rules_text
from finance_bot.application import recurring
from finance_bot.domain.commands import ParseError
from finance_bot.domain.parser import parse_line
from finance_bot.domain.schedules import ScheduleError, ScheduleProblem, read_rule
from finance_bot.ports.unit_of_work import RecurringUnitOfWorkFactory


def recurring_router() -> Router:
    router = Router(name="recurring")
    router.message.filter(CommandsOnly())
    router.message.register(every, named("every"))
    router.message.register(list_rules, named("recurring"))
    return router


async def every(message: Message, command: CommandObject, ctx: ChatContext) -> None:
    args = (command.args or "").strip()
    words = args.split()
    if words and words[0].casefold() in ("off", "stop", "стоп", "выкл"):
        await _stop(message, words[1:], ctx)
        return
    today = ctx.services.local_date(message.date)
    rule = read_rule(args, today=today)
    if isinstance(rule, ScheduleError):
        ctx.parse_error()
        await ctx.answer(message, _schedule_error_text(rule, ctx))
        return
    vocabulary = await ctx.books.vocabulary()
    parsed = parse_line(
        rule.line, vocabulary, today=today, currency=default_currency(vocabulary, ctx)
    )
    if isinstance(parsed, ParseError):
        ctx.parse_error()
        await ctx.answer(message, parse_error_text(parsed, ctx.t))
        return
    if parsed.booked_on != today:
        ctx.parse_error()
        await ctx.answer(message, ctx.t("every_line_dated"))
        return
    view = await recurring.add_rule(
        ctx.member.telegram_id,
        rule,
        parsed,
        today=today,
        uow_factory=_rules(ctx),
        ids=ctx.services.ids,
    )
    await ctx.answer(message, rule_added_text(view, rule.starts_on, today, ctx.t))


async def _stop(message: Message, words: list[str], ctx: ChatContext) -> None:
    number = words[0].lstrip("#") if len(words) == 1 else ""
    if not (number.isascii() and number.isdigit() and 0 < int(number) < 2**62):
        await ctx.answer(message, ctx.t("every_off_usage"))
        return
    stopped = await recurring.stop_rule(
        ctx.member.telegram_id, int(number), uow_factory=_rules(ctx)
    )
    key = "every_stopped" if stopped else "every_off_unknown"
    await ctx.answer(message, ctx.t(key, number=int(number)))


async def list_rules(message: Message, ctx: ChatContext) -> None:
    today = ctx.services.local_date(message.date)
    views = await recurring.list_rules(ctx.member.telegram_id, today=today, uow_factory=_rules(ctx))
    await ctx.answer(message, rules_text(views, ctx.t))


def _rules(ctx: ChatContext) -> RecurringUnitOfWorkFactory:
    factory = ctx.services.recurring
    if factory is None:  # wired in bootstrap; a test that leaves it out says so here
        raise RuntimeError("repeating entries are not wired")
    return factory


def _schedule_error_text(error: ScheduleError, ctx: ChatContext) -> str:
    t = ctx.t
    if error.problem in (ScheduleProblem.MISSING, ScheduleProblem.NO_LINE) or not error.detail:
        return t("every_usage")  # "/every month": nothing to quote back, the usage says it
    detail = short(error.detail)
    if error.problem is ScheduleProblem.BAD_FROM:
        example = format_date(ctx.services.today().replace(day=1), t.language)
        return t("every_bad_from", detail=detail, example=example)
    return t(f"every_{error.problem.value}", detail=detail) + "\n\n" + t("every_usage")
