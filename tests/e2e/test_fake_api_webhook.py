"""The fake Bot API's webhook, against a plain aiohttp receiver that plays the bot."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
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


@dataclass(frozen=True)
class Answer:
    """An answer with a body: a Bot API call in it, when its status is a 2xx."""

    status: int
    body: str
    content_type: str = "application/json"


@dataclass
class Receiver:
    """Answers each POST with the next planned answer for its update (200 when none)."""

    plan: dict[int, list[int | Answer]] = field(default_factory=dict)
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
            planned = (self.plan.get(update_id) or [200]).pop(0)
            if isinstance(planned, Answer):
                return web.Response(
                    status=planned.status, text=planned.body, content_type=planned.content_type
                )
            return web.Response(status=planned)
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


# A call in the answer (Telegram: "you can perform a request to the Bot API while sending
# an answer to the webhook"; docs/adr/0026).


def json_answer(method: str, **params: Any) -> Answer:
    return Answer(200, json.dumps({"method": method, **params}))


def inline_calls(fake: FakeTelegram, method: str = "sendMessage") -> list[Any]:
    return [call for call in fake.calls(method) if call.inline]


async def test_a_call_in_a_json_answer_is_made_as_if_the_bot_had_sent_it(
    fake: FakeTelegram, bot: Bot, receiver: tuple[Receiver, str]
) -> None:
    plays, url = receiver
    plays.hold_seconds = 0.0
    update_id = fake.send_text(1, "250 кафе")
    keyboard = {"inline_keyboard": [[{"text": "Undo", "callback_data": "undo:1"}]]}
    plays.plan[update_id] = [
        json_answer(
            "sendMessage",
            chat_id=1,
            text="#1 −250,00 ₴ кафе",
            reply_markup=keyboard,
            reply_parameters={"message_id": 1},
        )
    ]
    await bot.set_webhook(url, secret_token=SECRET)
    await fake.wait_for(lambda: not fake.pending_update_ids(), timeout=WAIT)

    [call] = fake.calls("sendMessage")
    assert call.inline
    assert call.status == 200
    [message] = fake.messages_to(1)
    assert message["text"] == "#1 −250,00 ₴ кафе"
    assert message["reply_markup"] == keyboard
    assert message["reply_to_message"]["text"] == "250 кафе"
    [post] = fake.webhook.posts
    assert (post.update_id, post.status, post.answer) == (update_id, 200, "sendMessage")
    # A real message: the bot edits it later by its id, as any other.
    await bot.edit_message_text("#1 undone", chat_id=1, message_id=message["message_id"])
    assert fake.messages_to(1)[0]["text"] == "#1 undone"


async def test_a_call_in_a_form_answer_is_made_too_nested_objects_as_json_strings(
    fake: FakeTelegram, bot: Bot, receiver: tuple[Receiver, str]
) -> None:
    plays, url = receiver
    plays.hold_seconds = 0.0
    update_id = fake.send_text(1, "250 кафе")
    keyboard = {"inline_keyboard": [[{"text": "Undo", "callback_data": "undo:1"}]]}
    form = {"method": "sendmessage", "chat_id": "1", "text": "#1"}
    form["reply_markup"] = json.dumps(keyboard)
    plays.plan[update_id] = [
        Answer(200, urllib.parse.urlencode(form), "application/x-www-form-urlencoded")
    ]
    await bot.set_webhook(url, secret_token=SECRET)
    await fake.wait_for(lambda: not fake.pending_update_ids(), timeout=WAIT)

    [call] = inline_calls(fake)
    assert call.method == "sendMessage"  # Telegram's method names ignore case
    [message] = fake.messages_to(1)
    assert (message["text"], message["reply_markup"]) == ("#1", keyboard)


async def test_a_body_on_an_answer_that_is_no_2xx_calls_nothing_and_the_retry_calls_once(
    fake: FakeTelegram, bot: Bot, receiver: tuple[Receiver, str]
) -> None:
    plays, url = receiver
    plays.hold_seconds = 0.0
    update_id = fake.send_text(1, "250 кафе")
    plays.plan[update_id] = [
        Answer(503, json.dumps({"method": "sendMessage", "chat_id": 1, "text": "early"})),
        Answer(500, json.dumps({"method": "sendMessage", "chat_id": 1, "text": "early"})),
        json_answer("sendMessage", chat_id=1, text="#1"),
    ]
    await bot.set_webhook(url, secret_token=SECRET)
    await fake.wait_for(lambda: not fake.pending_update_ids(), timeout=WAIT)

    assert [m["text"] for m in fake.messages_to(1)] == ["#1"]
    assert len(fake.calls("sendMessage")) == 1
    posts = [(p.status, p.answer) for p in fake.webhook.posts]
    assert posts == [(503, None), (500, None), (200, "sendMessage")]


async def test_a_lost_answer_calls_nothing_and_the_update_comes_again(
    fake: FakeTelegram, bot: Bot, receiver: tuple[Receiver, str]
) -> None:
    plays, url = receiver
    plays.hold_seconds = 0.0
    update_id = fake.send_text(1, "250 кафе")
    plays.plan[update_id] = [
        json_answer("sendMessage", chat_id=1, text="#1 first answer"),
        json_answer("sendMessage", chat_id=1, text="#1 second answer"),
    ]
    fake.webhook.lose_next_answers(1)
    await bot.set_webhook(url, secret_token=SECRET)
    await fake.wait_for(lambda: not fake.pending_update_ids(), timeout=WAIT)

    assert [u for u, _ in plays.got] == [update_id, update_id]
    assert [(p.status, p.answer) for p in fake.webhook.posts] == [
        (None, None),
        (200, "sendMessage"),
    ]
    assert [m["text"] for m in fake.messages_to(1)] == ["#1 second answer"]


async def test_a_call_in_an_answer_meets_the_same_checks_and_limits_and_tells_nobody(
    fake: FakeTelegram, bot: Bot, receiver: tuple[Receiver, str]
) -> None:
    plays, url = receiver
    plays.hold_seconds = 0.0
    fake.limit_chat_rate(60.0)
    await bot.send_message(1, "sent by a request")  # the chat's one message a minute
    bad, limited, other, unknown, no_method, not_json, plain = (
        fake.send_text(chat, "?") for chat in (2, 1, 3, 4, 5, 6, 7)
    )
    plays.plan[bad] = [json_answer("sendMessage", chat_id=2, text="")]
    plays.plan[limited] = [json_answer("sendMessage", chat_id=1, text="too soon")]
    plays.plan[other] = [json_answer("sendMessage", chat_id=3, text="fine")]
    plays.plan[unknown] = [json_answer("sendTelepathy", chat_id=4)]
    plays.plan[no_method] = [Answer(200, json.dumps({"chat_id": 5, "text": "no method"}))]
    plays.plan[not_json] = [Answer(200, "{not json")]
    plays.plan[plain] = [Answer(200, "method=sendMessage&chat_id=7&text=x", "text/plain")]
    await bot.set_webhook(url, secret_token=SECRET)
    await fake.wait_for(lambda: not fake.pending_update_ids(), timeout=WAIT)

    statuses = {int(c.params["chat_id"]): c.status for c in inline_calls(fake)}
    assert statuses == {2: 400, 1: 429, 3: 200}
    assert [c.status for c in inline_calls(fake, "sendTelepathy")] == [404]
    assert [m["text"] for m in fake.messages_to(1)] == ["sent by a request"]
    assert [m["text"] for m in fake.messages_to(3)] == ["fine"]
    for chat in (2, 4, 5, 6, 7):
        assert fake.messages_to(chat) == []
    # However the call went, the update was answered: delivered once, as Telegram does.
    assert {p.status for p in fake.webhook.posts} == {200}
    assert len(fake.webhook.posts) == 7


async def test_a_fault_planned_for_a_method_meets_its_call_in_an_answer_too(
    fake: FakeTelegram, bot: Bot, receiver: tuple[Receiver, str]
) -> None:
    plays, url = receiver
    plays.hold_seconds = 0.0
    first, second = fake.send_text(1, "one"), fake.send_text(1, "two")
    plays.plan[first] = [json_answer("sendMessage", chat_id=1, text="lost")]
    plays.plan[second] = [json_answer("sendMessage", chat_id=1, text="kept")]
    fake.fail_next("sendMessage", status=500)
    await bot.set_webhook(url, secret_token=SECRET)
    await fake.wait_for(lambda: not fake.pending_update_ids(), timeout=WAIT)

    assert [c.status for c in inline_calls(fake)] == [500, 200]
    assert [m["text"] for m in fake.messages_to(1)] == ["kept"]
