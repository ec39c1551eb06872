"""Fair shares between partners: /settle and its Settle up button, /split, /personal and
/shared (docs/product.md §12)."""

from __future__ import annotations

import re

from aiogram import Router
from aiogram.filters import CommandObject
from aiogram.types import CallbackQuery, Message

from finance_bot.adapters.telegram.callbacks import answer_press
from finance_bot.adapters.telegram.context import ChatContext
from finance_bot.adapters.telegram.filters import CommandsOnly, named
from finance_bot.adapters.telegram.formatting import format_money
from finance_bot.adapters.telegram.i18n import Translator
from finance_bot.adapters.telegram.keyboards import SettleButton, settle_keyboard
from finance_bot.adapters.telegram.presenters import account_label
from finance_bot.adapters.telegram.replies import edit_text
from finance_bot.adapters.telegram.report_views import person_name
from finance_bot.application.shares import Settled, SharesView
from finance_bot.domain.money import Money
from finance_bot.ports.records import Member

_PERCENT = re.compile(r"^([0-9]{1,3})\s*%?$")


def shares_router() -> Router:
    router = Router(name="shares")
    router.message.filter(CommandsOnly())
    router.message.register(settle, named("settle"))
    router.message.register(split, named("split"))
    router.message.register(personal, named("personal", "shared"))
    router.callback_query.register(settle_button, SettleButton.filter())
    return router


async def settle(message: Message, ctx: ChatContext) -> None:
    view = await ctx.books.shares()
    if not view.debts:
        await ctx.answer(message, ctx.t("settle_even"))
        return
    lines = [
        _debt_line(d.debtor, d.creditor, d.amount.amount_minor, view, ctx.t) for d in view.debts
    ]
    keyboard = settle_keyboard(
        view.last_number,
        [
            (d.debtor.telegram_id, d.creditor.telegram_id, d.amount.amount_minor, line)
            for d, line in zip(view.debts, lines, strict=True)
        ],
        ctx.t,
    )
    await ctx.answer(message, "\n".join([ctx.t("settle_title"), *lines]), keyboard)


async def settle_button(
    query: CallbackQuery, callback_data: SettleButton, ctx: ChatContext
) -> None:
    settled = await ctx.books.settle(
        last_number=callback_data.last,
        debtor=callback_data.debtor,
        creditor=callback_data.creditor,
        amount_minor=callback_data.amount,
        today=ctx.services.today(),
    )
    text = await _settled_text(settled, ctx)
    if not settled.recorded.replayed:
        ctx.committed(text)
    message = query.message
    if isinstance(message, Message) and message.text:
        # The buttons go: the debt they name is paid.
        await edit_text(ctx.bot, message.chat.id, message.message_id, f"{message.text}\n\n{text}")
    await answer_press(ctx.bot, query.id, ctx.t("callback_done"))


async def split(message: Message, command: CommandObject, ctx: ChatContext) -> None:
    match = _PERCENT.match((command.args or "").strip())
    percent = int(match[1]) if match else -1
    if not 0 <= percent <= 100:
        ctx.parse_error()
        await ctx.answer(message, ctx.t("split_usage"))
        return
    other = await ctx.books.set_split(percent)
    members = {m.telegram_id: m for m in await ctx.books.members()}
    await ctx.answer(
        message,
        ctx.t(
            "split_set",
            mine=percent,
            other=person_name(other, members, ctx.t),
            theirs=100 - percent,
        ),
    )


async def personal(message: Message, command: CommandObject, ctx: ChatContext) -> None:
    assert command.command is not None
    is_personal = command.command.lower() == "personal"
    name = " ".join((command.args or "").split())
    if not name:
        ctx.parse_error()
        await ctx.answer(message, ctx.t("personal_usage"))
        return
    category = await ctx.books.mark_personal(name, personal=is_personal)
    key = "category_personal" if is_personal else "category_shared"
    await ctx.answer(message, ctx.t(key, name=account_label(category, ctx.t)))


def _debt_line(
    debtor: Member, creditor: Member, amount_minor: int, view: SharesView, t: Translator
) -> str:
    members = {debtor.telegram_id: debtor, creditor.telegram_id: creditor}
    return t(
        "settle_line",
        debtor=person_name(debtor.telegram_id, members, t),
        creditor=person_name(creditor.telegram_id, members, t),
        amount=format_money(Money(amount_minor, view.base), t.language),
    )


async def _settled_text(settled: Settled, ctx: ChatContext) -> str:
    members = {m.telegram_id: m for m in await ctx.books.members()}
    key = "settle_replayed" if settled.recorded.replayed else "settle_recorded"
    return ctx.t(
        key,
        number=settled.recorded.number,
        debtor=person_name(settled.debtor, members, ctx.t),
        creditor=person_name(settled.creditor, members, ctx.t),
        amount=format_money(settled.amount, ctx.t.language),
    )
