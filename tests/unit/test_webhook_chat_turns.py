"""The webhook's per-chat turns (docs/adr/0020): inside a replica, a chat's requests are
handled one at a time, whatever other chats arrive meanwhile."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiohttp import web

from finance_bot.adapters.telegram.webhook import SECRET_HEADER, WebhookServer
from tests.support.updates import text_message

SECRET = "s3cret"


class Posted:
    """What the endpoint reads of a request: the secret header and the JSON body."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.headers = {SECRET_HEADER: SECRET}
        self._body = body

    async def json(self, *, loads: Any) -> dict[str, Any]:
        return self._body


class Held(Dispatcher):
    """Each update is in hand until its gate opens; records who is in hand at once."""

    def __init__(self) -> None:
        super().__init__()
        self.gates: dict[int, asyncio.Event] = {}
        self.in_hand: set[int] = set()
        self.together: list[set[int]] = []  # who was in hand each time one started

    def gate(self, update_id: int) -> asyncio.Event:
        return self.gates.setdefault(update_id, asyncio.Event())

    async def feed_update(self, bot: Bot, update: Update, **kwargs: Any) -> Any:
        self.in_hand.add(update.update_id)
        self.together.append(set(self.in_hand))
        try:
            await self.gate(update.update_id).wait()
        finally:
            self.in_hand.discard(update.update_id)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def post(server: WebhookServer, body: dict[str, Any]) -> asyncio.Task[web.Response]:
    return asyncio.create_task(server._serve(cast(web.Request, Posted(body))))


async def test_another_chat_arriving_as_a_turn_passes_on_does_not_unlock_the_chat() -> None:
    held = Held()
    bot = Bot("42:TEST")
    server = WebhookServer(bot, held, secret=SECRET, host="127.0.0.1", port=0, inline_replies=False)
    try:
        first = post(server, text_message(1, 10))
        await settle()
        second = post(server, text_message(2, 10))  # waits for the first: the same chat
        await settle()
        assert held.in_hand == {1}
        # The first is done; the second is woken, and before it runs another chat arrives.
        held.gate(1).set()
        other = post(server, text_message(3, 20))
        await settle()
        assert held.in_hand == {2, 3}
        # A third of chat 10 arrives while the second is in hand: it must wait its turn.
        third = post(server, text_message(4, 10))
        await settle()
        assert held.in_hand == {2, 3}, "two updates of one chat in hand at once"
        for update_id in (2, 3, 4):
            held.gate(update_id).set()
        responses = await asyncio.gather(first, second, other, third)
        assert [r.status for r in responses] == [200] * 4
        assert all(not {2, 4} <= together for together in held.together)
    finally:
        await bot.session.close()
