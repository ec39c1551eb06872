"""The fake Bot API's flood limit, reply threads, forwards and pop-up limit, over real HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.types import ReplyParameters

from finance_bot.sandbox.fake_api import FakeTelegram

USER, OTHER = 7, 8


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    yield Bot(token="42:TEST", session=session)
    await session.close()


async def test_the_per_chat_limit_answers_429_only_in_the_busy_chat(
    fake: FakeTelegram, bot: Bot
) -> None:
    fake.limit_chat_rate(1.0)
    await bot.send_message(USER, "one")
    with pytest.raises(TelegramRetryAfter) as refused:
        await bot.send_message(USER, "two")
    assert refused.value.retry_after == 1
    await bot.send_message(OTHER, "another chat is not held")
    assert [m["text"] for m in fake.messages_to(USER)] == ["one"]
    fake.limit_chat_rate(None)
    await bot.send_message(USER, "lifted")


async def test_without_a_limit_a_chat_takes_any_pace(fake: FakeTelegram, bot: Bot) -> None:
    for number in range(5):
        await bot.send_message(USER, f"m{number}")
    assert len(fake.messages_to(USER)) == 5


async def test_a_reply_carries_the_message_it_answers(fake: FakeTelegram, bot: Bot) -> None:
    fake.forward_text(USER, "250 кафе", origin_user_id=OTHER)
    updates = await bot.get_updates()
    forwarded = updates[0].message
    assert forwarded is not None
    assert forwarded.forward_origin is not None
    assert forwarded.forward_origin.type == "user"
    answer = await bot.send_message(
        USER, "seen", reply_parameters=ReplyParameters(message_id=forwarded.message_id)
    )
    assert answer.reply_to_message is not None
    assert answer.reply_to_message.text == "250 кафе"
    assert answer.reply_to_message.forward_origin is not None
    stored = fake.messages_to(USER)[0]
    fake.press_button(USER, stored["message_id"], "x")
    press = (await bot.get_updates(offset=updates[0].update_id + 1))[0].callback_query
    assert press is not None
    assert press.message is not None
    assert press.message.reply_to_message is not None  # type: ignore[union-attr]
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(USER, "x", reply_parameters=ReplyParameters(message_id=999))
    gone = ReplyParameters(message_id=999, allow_sending_without_reply=True)
    assert (await bot.send_message(USER, "x", reply_parameters=gone)).reply_to_message is None


async def test_a_pop_up_over_200_characters_is_refused(fake: FakeTelegram, bot: Bot) -> None:
    await bot.send_message(USER, "buttons")
    fake.press_button(USER, 1, "a")
    fake.press_button(USER, 1, "b")
    first, second = [u.callback_query for u in await bot.get_updates()]
    assert first is not None
    assert second is not None
    with pytest.raises(TelegramBadRequest, match="MESSAGE_TOO_LONG"):
        await bot.answer_callback_query(first.id, text="x" * 201)
    assert await bot.answer_callback_query(second.id, text="x" * 200)


async def test_a_lone_surrogate_reaches_the_bot_as_a_json_escape(fake: FakeTelegram) -> None:
    fake.send_text(USER, "250 кафе", first_name="A\ud800", language_code="r\x00u")
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{fake.base_url}/bot42:TEST/getUpdates") as response,
    ):
        raw = await response.text()
    assert "\\ud800" in raw
    assert "\\u0000" in raw
    person = json.loads(raw)["result"][0]["message"]["from"]
    assert (person["first_name"], person["language_code"]) == ("A\ud800", "r\x00u")
