"""A message of several lines: each line its own entry, all of them or none (ADR 0012)."""

from __future__ import annotations

from aiogram.types import Message

from finance_bot.adapters.telegram.context import ChatContext
from finance_bot.adapters.telegram.presenters import confirmation, parse_error_text, short
from finance_bot.adapters.telegram.replies import send_budget_alerts
from finance_bot.domain.accounts import visible
from finance_bot.domain.commands import ParseError, RecordCommand, Vocabulary
from finance_bot.domain.parser import parse_line


async def record_lines(
    message: Message, text: str, vocabulary: Vocabulary, ctx: ChatContext
) -> None:
    """People paste lists. One unreadable line refuses the whole message, named by its
    number, so a list is never half recorded; the reply confirms every entry at once."""
    today = ctx.services.local_date(message.date)
    commands: list[RecordCommand] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not visible(line).strip():  # a line holding only an invisible mark is blank too
            continue
        parsed = parse_line(
            line, vocabulary, today=today, currency=default_currency(vocabulary, ctx)
        )
        if isinstance(parsed, ParseError):
            ctx.parse_error()
            reason = parse_error_text(parsed, ctx.t)
            refused = ctx.t("lines_refused", line=number, text=short(line.strip()), reason=reason)
            await ctx.answer(message, refused)
            return
        commands.append(parsed)
    recorded = await ctx.books.record_all(commands)
    numbers = ", #".join(str(entry.number) for entry in recorded.entries)
    ctx.committed(ctx.t("recorded_unconfirmed", number=numbers))
    confirmations = []
    for entry in recorded.entries:
        view = await ctx.books.transaction_view(entry.transaction_id)
        confirmations.append(f"{confirmation(view, ctx.t, today=today)}  /del{entry.number}")
    await ctx.answer(message, "\n\n".join(confirmations))
    alerts = tuple(a for entry in recorded.entries for a in entry.alerts)
    await send_budget_alerts(ctx, alerts, replayed=recorded.replayed)


def default_currency(vocabulary: Vocabulary, ctx: ChatContext) -> str:
    """What an amount is in when the line names neither a currency nor an account: the
    currency of the person's default account (docs/product.md §8)."""
    default = ctx.member.default_account_id
    if default is None:
        return ctx.currency
    return vocabulary.account_currencies.get(default, ctx.currency)
