"""The fake Bot API's webhook, against a plain aiohttp receiver that plays the bot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramConflictError
from aiohttp import web

from finance_bot.sandbox.fake_api import FakeTelegram
from finance_bot.sandbox.fake_api_webhook import SECRET_HEADER

SECRET = "fake-secret"
WAIT = 20.0


@dataclass
class Receiver:
    """Answers each POST with the next planned status for its update (200 when none)."""

    plan: dict[int, list[int]] = field(default_factory=dict)
    hold_seconds: float = 0.2
    got: list[tuple[int, str | None]] = field(default_factory=list)
    in_hand: set[int] = field(default_factory=set)
    most_at_once: int = 0
    chats_in_hand: list[int] = field(default_factory=list)
    overlapping_chat: bool = False

    async def serve(self, request: web.Request) -> web.Response:
        update: dict[str, Any] = await request.json()
        update_id = update["update_id"]
        chat = update["message"]["chat"]["id"]
        self.got.append((update_id, request.headers.get(SECRET_HEADER)))
        self.overlapping_chat |= chat in self.chats_in_hand
        self.chats_in_hand.append(chat)
        self.in_hand.add(update_id)
        self.most_at_once = max(self.most_at_once, len(self.in_hand))
        try:
            await asyncio.sleep(self.hold_seconds)
            planned = self.plan.get(update_id) or [200]
            return web.Response(status=planned.pop(0))
        finally:
            self.in_hand.discard(update_id)
            self.chats_in_hand.remove(chat)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    plays = Receiver()
    app = web.Application()
    app.router.add_post("/hook", plays.serve)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    yield plays, f"http://127.0.0.1:{port}/hook"
    await runner.cleanup()


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    yield Bot(token="42:TEST", session=session)
    await session.close()


async def test_updates_are_pushed_with_the_secret_retried_until_2xx_in_each_chats_order(
    fake: FakeTelegram, bot: Bot, receiver: tuple[Receiver, str]
) -> None:
    plays, url = receiver
    first = [fake.send_text(chat, f"{chat} one") for chat in (1, 2, 3, 4)]
    second = [fake.send_text(chat, f"{chat} two") for chat in (1, 2, 3, 4)]
    plays.plan[first[0]] = [500, 503]  # chat 1's first update fails twice
    await bot.set_webhook(url, secret_token=SECRET, max_connections=3, allowed_updates=["message"])

    info = await bot.get_webhook_info()
    assert (info.url, info.max_connections, info.allowed_updates) == (url, 3, ["message"])
    with pytest.raises(TelegramConflictError):
        await bot.get_updates()

    await fake.wait_for(lambda: not fake.pending_update_ids(), timeout=WAIT)
    assert {secret for _, secret in plays.got} == {SECRET}
    assert plays.most_at_once == 3  # max_connections
    assert not plays.overlapping_chat  # never two of one chat at once
    order = [update_id for update_id, _ in plays.got]
    assert order.count(first[0]) == 3  # 500, 503, then 200
    # Chat 1's second update went out only after its first got a 2xx.
    assert order.index(second[0]) > max(i for i, u in enumerate(order) if u == first[0])
    statuses = [p.status for p in fake.webhook.posts if p.update_id == first[0]]
    assert statuses == [500, 503, 200]
    assert fake.confirmed_offset > max(second)


async def test_delete_webhook_goes_back_to_polling_with_the_updates_kept(
    fake: FakeTelegram, bot: Bot
) -> None:
    await bot.set_webhook("http://127.0.0.1:9/nobody-listens", secret_token=SECRET)
    update_id = fake.send_text(1, "250 кафе")
    await fake.wait_for(lambda: len(fake.webhook.posts) >= 2, timeout=WAIT)
    assert {p.status for p in fake.webhook.posts} == {None}  # refused, and retried

    assert await bot.delete_webhook()
    [update] = await bot.get_updates(timeout=0)
    assert update.update_id == update_id
    assert (await bot.get_webhook_info()).url == ""
