"""Which answers the session reads as Telegram's, and what one that is not stands for."""

from __future__ import annotations

import json

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramServerError,
)
from aiogram.methods import SendMessage

from finance_bot.adapters.telegram.session import BotApiSession
from finance_bot.adapters.transient import is_transient

_METHOD = SendMessage(chat_id=1, text="hi")
_PAGE = "<html><body><h1>502 Bad Gateway</h1></body></html>"


def _answer(status: int, content: str) -> BaseException:
    session = BotApiSession()
    bot = Bot(token="42:TEST", session=session)
    try:
        session.check_response(bot, _METHOD, status, content)
    except Exception as error:  # which one is what the tests look at
        return error
    raise AssertionError("the answer was taken for a good one")


@pytest.mark.parametrize(
    ("status", "content", "expected"),
    [
        (502, _PAGE, TelegramServerError),
        (504, "", TelegramServerError),
        (503, json.dumps({"error": "upstream"}), TelegramServerError),  # JSON, not Telegram's
        (200, '{"ok": true, "resu', TelegramNetworkError),  # cut short on the way
        (403, _PAGE, TelegramNetworkError),  # a proxy's refusal, not Telegram's
    ],
)
def test_an_answer_not_from_telegram_is_transient(
    status: int, content: str, expected: type[Exception]
) -> None:
    error = _answer(status, content)
    assert type(error) is expected
    assert is_transient(error)
    assert error.__cause__ is None  # the page may quote the request path, token included
    assert "Bad Gateway" not in str(error)


@pytest.mark.parametrize(
    ("status", "expected"), [(400, TelegramBadRequest), (403, TelegramForbiddenError)]
)
def test_a_refusal_in_telegrams_words_stays_permanent(
    status: int, expected: type[Exception]
) -> None:
    body = json.dumps({"ok": False, "error_code": status, "description": "Forbidden"})
    error = _answer(status, body)
    assert type(error) is expected
    assert not is_transient(error)


def test_a_proxys_body_size_limit_is_not_retried() -> None:
    error = _answer(413, "<html>413 Request Entity Too Large</html>")
    assert type(error) is TelegramEntityTooLarge
    assert not is_transient(error)


def test_a_result_aiogram_cannot_model_stays_a_decode_error() -> None:
    # Telegram's own answer: the message was sent; sending it again would repeat it.
    error = _answer(200, json.dumps({"ok": True, "result": {"unexpected": 1}}))
    assert type(error) is ClientDecodeError
    assert not is_transient(error)
