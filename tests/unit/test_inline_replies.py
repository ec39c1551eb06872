"""The outbox of a webhook update (inline_replies.py, docs/adr/0026): one reply held at a
time, the held one sent before anything else, what is left the body of the 200."""

from __future__ import annotations

import json
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.methods import AnswerCallbackQuery, SendMessage, TelegramMethod
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters

from finance_bot.adapters.telegram.inline_replies import (
    SendHeldFirst,
    answer_body,
    open_outbox,
    reset_outbox,
    send_or_hold,
)


class _Bot:
    """Records each method called, in order, through the session's middleware."""

    def __init__(self) -> None:
        self.called: list[str] = []
        self._middleware = SendHeldFirst()

    async def __call__(self, method: TelegramMethod[Any], **_: Any) -> None:
        await self._middleware(self._request, self, method)  # type: ignore[arg-type]

    async def _request(self, bot: Any, method: TelegramMethod[Any]) -> None:
        self.called.append(getattr(method, "text", None) or method.__api_method__)


def _text(text: str) -> SendMessage:
    return SendMessage(chat_id=1, text=text)


async def test_without_an_outbox_every_reply_is_sent_at_once() -> None:
    bot = _Bot()
    await send_or_hold(bot, _text("one"))  # type: ignore[arg-type]
    assert bot.called == ["one"]


async def test_the_last_reply_is_held_and_the_earlier_ones_go_first_in_order() -> None:
    bot = _Bot()
    outbox, token = open_outbox()
    try:
        await send_or_hold(bot, _text("one"))  # type: ignore[arg-type]
        assert bot.called == []
        await send_or_hold(bot, _text("two"))  # type: ignore[arg-type]
        assert bot.called == ["one"]
        # Any other request of the update sends the held reply first.
        await bot(AnswerCallbackQuery(callback_query_id="7"))
        assert bot.called == ["one", "two", "answerCallbackQuery"]
        await send_or_hold(bot, _text("three"))  # type: ignore[arg-type]
        held = outbox.close()
    finally:
        reset_outbox(token)
    assert held is not None
    assert held.text == "three"
    assert bot.called == ["one", "two", "answerCallbackQuery"]


async def test_once_the_update_ended_a_reply_is_sent_at_once() -> None:
    bot = _Bot()
    outbox, token = open_outbox()
    try:
        await send_or_hold(bot, _text("held"))  # type: ignore[arg-type]
        assert outbox.close() is not None  # the update's answer carries it
        await send_or_hold(bot, _text("late"))  # type: ignore[arg-type]
    finally:
        reset_outbox(token)
    assert bot.called == ["late"]
    assert outbox.take() is None


def test_the_answer_is_the_method_and_its_parameters_as_json_defaults_filled_in() -> None:
    bot = Bot("42:TEST", default=DefaultBotProperties(parse_mode="HTML"))
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Отменить", callback_data="undo:1")]]
    )
    method = SendMessage(
        chat_id=1001,
        text="#1 −250,00 ₴",
        reply_markup=keyboard,
        reply_parameters=ReplyParameters(message_id=5, allow_sending_without_reply=True),
    )
    body = json.loads(answer_body(bot, method))
    assert body == {
        "method": "sendMessage",
        "chat_id": 1001,
        "text": "#1 −250,00 ₴",
        "parse_mode": "HTML",
        "reply_markup": {"inline_keyboard": [[{"text": "Отменить", "callback_data": "undo:1"}]]},
        # the bot's default reaches nested objects too, as in a request
        "reply_parameters": {
            "message_id": 5,
            "allow_sending_without_reply": True,
            "quote_parse_mode": "HTML",
        },
    }
