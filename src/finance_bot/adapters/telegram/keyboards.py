"""Pure rendering: inline buttons, built here and sent elsewhere. Their data names the
transaction by number, never anything held in memory, so buttons keep working after a
restart. Every payload fits Telegram's 64 bytes."""

from __future__ import annotations

from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from pydantic import Field

from finance_bot.adapters.telegram.i18n import Translator
from finance_bot.adapters.telegram.presenters import account_label
from finance_bot.domain.accounts import Account

_CATEGORY_COLUMNS = 3
# Anyone can craft a press: an id outside PostgreSQL's bigint fails to unpack, and the
# press is answered as a stale button instead of reaching the database.
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]


class UndoButton(CallbackData, prefix="u"):
    number: Id


class CategoryMenuButton(CallbackData, prefix="c"):
    number: Id


class RefileButton(CallbackData, prefix="r"):
    number: Id
    category_id: Id


class BackButton(CallbackData, prefix="b"):
    number: Id


class SettleButton(CallbackData, prefix="s"):
    """Settle up: the debt /settle showed, and the state of the books it was computed on
    (the household's latest number), which makes a second press record nothing."""

    last: Annotated[int, Field(ge=0, le=2**63 - 1)]
    debtor: Id
    creditor: Id
    amount: Id


class LeaveButton(CallbackData, prefix="l"):
    """/leave's confirmation: True leaves, False stays. It names the household it asked
    about: a question left in the chat from a household the person has left since must
    not take them out of the one they are in now. (A button of the first form, "l:1",
    names none: it no longer unpacks, so it is answered as a stale button.)"""

    confirmed: bool
    household: Id


def leave_keyboard(t: Translator, household_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=t("leave_button_yes"),
                    callback_data=LeaveButton(confirmed=True, household=household_id).pack(),
                ),
                InlineKeyboardButton(
                    text=t("leave_button_no"),
                    callback_data=LeaveButton(confirmed=False, household=household_id).pack(),
                ),
            ]
        ]
    )


class RecordForwardButton(CallbackData, prefix="f"):
    """Records the forwarded line this message answers; the line is read from the message
    it replies to, so nothing is held in memory and the payload stays tiny."""


def forward_keyboard(t: Translator) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(
        text=t("button_record"), callback_data=RecordForwardButton().pack()
    )
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


def confirmation_keyboard(
    number: int, t: Translator, *, with_category: bool
) -> InlineKeyboardMarkup:
    row = [
        InlineKeyboardButton(text=t("button_undo"), callback_data=UndoButton(number=number).pack())
    ]
    if with_category:
        row.append(
            InlineKeyboardButton(
                text=t("button_category"),
                callback_data=CategoryMenuButton(number=number).pack(),
            )
        )
    return InlineKeyboardMarkup(inline_keyboard=[row])


def categories_keyboard(
    number: int, categories: list[Account], t: Translator, *, first_offer: bool = False
) -> InlineKeyboardMarkup:
    """The categories to move #number to; under a fresh confirmation (`first_offer`) the
    last row is Undo, in the menu opened by the Category button it is Back."""
    buttons = [
        InlineKeyboardButton(
            text=account_label(category, t),
            callback_data=RefileButton(number=number, category_id=category.id).pack(),
        )
        for category in categories
    ]
    rows = [buttons[i : i + _CATEGORY_COLUMNS] for i in range(0, len(buttons), _CATEGORY_COLUMNS)]
    if first_offer:
        last = InlineKeyboardButton(
            text=t("button_undo"), callback_data=UndoButton(number=number).pack()
        )
    else:
        last = InlineKeyboardButton(
            text=t("button_back"), callback_data=BackButton(number=number).pack()
        )
    rows.append([last])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def settle_keyboard(
    last_number: int, debts: list[tuple[int, int, int, str]], t: Translator
) -> InlineKeyboardMarkup:
    """A Settle up button per debt (debtor, creditor, amount in minor units, its line);
    one debt: the button says only "Settle up". A debt whose payload would not fit
    Telegram's 64 bytes (ids and amounts of absurd length) gets no button: the line says it."""
    rows = []
    for debtor, creditor, amount, line in debts:
        data = SettleButton(last=last_number, debtor=debtor, creditor=creditor, amount=amount)
        try:
            packed = data.pack()
        except ValueError:  # aiogram refuses a payload over 64 bytes
            continue
        text = t("button_settle") if len(debts) == 1 else t("button_settle_line", line=line)
        rows.append([InlineKeyboardButton(text=text, callback_data=packed)])
    return InlineKeyboardMarkup(inline_keyboard=rows)
