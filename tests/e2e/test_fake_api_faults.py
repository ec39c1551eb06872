"""The fake Bot API's faults of the polling kind: an update aiogram cannot decode, and a
token Telegram refuses."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import ClientDecodeError, TelegramNotFound, TelegramUnauthorizedError

from finance_bot.adapters.telegram.raw_updates import first_undecodable_update_id
from finance_bot.sandbox.fake_api import FakeTelegram

USER = 7
TOKEN = "42:TEST"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(bot_id=42) as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    yield Bot(token=TOKEN, session=session)
    await session.close()


async def test_an_undecodable_update_fails_aiogram_until_acknowledged(
    fake: FakeTelegram, bot: Bot
) -> None:
    good = fake.send_text(USER, "15 кафе")
    bad = fake.push_undecodable(USER)

    [first] = await bot.get_updates(limit=1, timeout=0)
    assert first.update_id == good
    with pytest.raises(ClientDecodeError):
        await bot.get_updates(timeout=0)  # the good one and the bad one
    with pytest.raises(ClientDecodeError):
        await bot.get_updates(offset=bad, timeout=0)
    assert await bot.get_updates(offset=bad + 1, timeout=0) == []
    assert fake.pending_update_ids() == []


async def test_the_raw_read_names_only_an_update_that_does_not_decode(
    fake: FakeTelegram, bot: Bot
) -> None:
    allowed = ["message", "callback_query"]
    assert await first_undecodable_update_id(bot, None, allowed) is None  # nothing pending
    good = fake.send_text(USER, "15 кафе")
    assert await first_undecodable_update_id(bot, None, allowed) is None  # nothing on a guess
    bad = fake.push_undecodable(USER)
    assert await first_undecodable_update_id(bot, good + 1, allowed) == bad
    assert fake.pending_update_ids() == [bad]  # reading did not acknowledge it


@pytest.mark.parametrize(
    ("status", "error"), [(401, TelegramUnauthorizedError), (404, TelegramNotFound)]
)
async def test_a_rejected_token_fails_every_method(
    fake: FakeTelegram, bot: Bot, status: int, error: type[Exception]
) -> None:
    fake.reject_token(TOKEN, status)
    with pytest.raises(error):
        await bot.get_updates(timeout=0)
    with pytest.raises(error):
        await bot.delete_webhook()
    assert [call.status for call in fake.sent] == [status, status]
