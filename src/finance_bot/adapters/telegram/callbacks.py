"""Answering a button press. Telegram lets a press be answered once, for a short while;
a redelivered press was answered the first time, so its second answer is no error. The
pop-up text is cut to Telegram's 200 characters."""

from __future__ import annotations

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest

from finance_bot.adapters.telegram.presenters import CALLBACK_ANSWER_LIMIT, fit

_ALREADY_ANSWERED = ("query is too old", "query id is invalid")


async def answer_press(
    bot: Bot, query_id: str, text: str | None = None, *, show_alert: bool = False
) -> None:
    try:
        await bot.answer_callback_query(
            query_id,
            text=fit(text, CALLBACK_ANSWER_LIMIT) if text is not None else None,
            show_alert=show_alert,
        )
    except TelegramBadRequest as error:
        if not any(reason in error.message.lower() for reason in _ALREADY_ANSWERED):
            raise
