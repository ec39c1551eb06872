"""An update's last reply carried in the webhook's answer (docs/adr/0026), through the bot.

In webhook mode the bot answers a line's update with a 200 whose body is the sendMessage
of its confirmation; the fake Bot API makes that call as Telegram does. So the line costs
the bot no request of its own, the reply and the acknowledgement travel together, and:
an answer lost on its way brings the update back and its reply with it (the entry once);
a 503 carries no reply, and a reply held by an update that then fails is dropped for its
retry to make; an update with several messages keeps their order, the earlier ones sent
by request before the last one goes in the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.types import Message

from finance_bot.adapters.telegram.replies import reply_text
from finance_bot.adapters.telegram.session import build_bot
from finance_bot.adapters.telegram.webhook import WebhookServer
from finance_bot.sandbox.fake_api import ApiCall, FakeTelegram
from finance_bot.sandbox.people import Person
from tests.e2e.processes import eventually
from tests.e2e.support import ALICE, BOB, TOKEN, transaction_count
from tests.e2e.test_delivery import assert_books_hold, bot_texts, fragment, say
from tests.e2e.webhooks import SECRET, post_update, webhook_bot, webhook_url

pytestmark = pytest.mark.postgres

WAIT = 60.0


def requests_sent(fake: FakeTelegram, since: int = 0) -> list[ApiCall]:
    """The bot's own sendMessage requests, not the calls carried by its answers."""
    return [c for c in fake.sent[since:] if c.method == "sendMessage" and not c.inline]


def answered(fake: FakeTelegram, since: int = 0) -> list[ApiCall]:
    return [c for c in fake.sent[since:] if c.method == "sendMessage" and c.inline]


def posts_of(fake: FakeTelegram, update_id: int) -> list[tuple[int | None, str | None]]:
    return [(p.status, p.answer) for p in fake.webhook.posts if p.update_id == update_id]


async def test_a_line_is_confirmed_in_the_answer_with_no_request_and_booked_once(
    fake: FakeTelegram, fresh_database_url: str, alice: Person
) -> None:
    async with webhook_bot(fake, fresh_database_url) as _:
        since = len(fake.sent)
        reply = await alice.say("250 кафе")
        assert reply.text.startswith("#1 ")
        assert fragment(250, ALICE) in reply.text
        assert requests_sent(fake, since) == []  # no request of the bot's for the reply
        [call] = answered(fake, since)
        assert call.status == 200
        assert int(call.params["chat_id"]) == ALICE
        [update_id] = {p.update_id for p in fake.webhook.posts}
        assert posts_of(fake, update_id) == [(200, "sendMessage")]

        # Its buttons work as any message's: Undo edits the message the answer sent.
        undone = await alice.press(reply, "Отменить")
        assert undone.texts[0] != reply.text
        assert await transaction_count(fresh_database_url) == 2  # the entry and its reversal

    assert await transaction_count(fresh_database_url) == 2


async def test_a_lost_answer_brings_the_update_and_its_reply_again_the_entry_once(
    fake: FakeTelegram, fresh_database_url: str, alice: Person
) -> None:
    async with webhook_bot(fake, fresh_database_url) as (_, url):
        fake.webhook.lose_next_answers(1)  # the 200 and its reply lost on the way back
        update_id = say(fake, ALICE, "250 кафе")
        await alice.processed(update_id, timeout=WAIT)
        assert posts_of(fake, update_id) == [(None, None), (200, "sendMessage")]
        [message] = fake.messages_to(ALICE)
        assert message["text"].startswith("#1 ")
        assert fragment(250, ALICE) in message["text"]
        assert requests_sent(fake) == []

        # Telegram's retry, by hand: the same update answers with the same call, each time.
        update = fake.update_json(update_id)
        answers = await asyncio.gather(*(post_update(url, update) for _ in range(2)))
        for status, body in answers:
            assert status == 200
            call = json.loads(body)
            assert call["method"] == "sendMessage"
            assert (call["chat_id"], call["text"]) == (ALICE, message["text"])
            assert call["reply_markup"] == message["reply_markup"]

        # And through the fake: the redelivered update's reply arrives again, the same.
        fake.redeliver(update_id)
        await fake.wait_for(lambda: len(fake.messages_to(ALICE)) == 2, timeout=WAIT)
        again = fake.messages_to(ALICE)[1]
        assert (again["text"], again["reply_markup"]) == (message["text"], message["reply_markup"])
        assert requests_sent(fake) == []

    assert await transaction_count(fresh_database_url) == 1
    await assert_books_hold(fresh_database_url, [250])


async def test_a_line_with_budget_alerts_keeps_its_messages_in_order_the_last_answered(
    fake: FakeTelegram, fresh_database_url: str, alice: Person, bob: Person
) -> None:
    async with webhook_bot(fake, fresh_database_url) as _:
        await bob.say("/start")
        await alice.say("/budget кафе 1000")
        since = len(fake.sent)
        crossing = await alice.say("1200 кафе")
        assert crossing.texts[0].startswith("#1 ")
        assert "⚠️" in crossing.texts[1]
        calls = [c for c in fake.sent[since:] if c.method == "sendMessage"]
        # The confirmation, then an alert to each member; all but the last by request.
        assert [c.inline for c in calls] == [False, False, True]
        assert calls[0].params["text"] == crossing.texts[0]
        assert {int(c.params["chat_id"]) for c in calls[1:]} == {ALICE, BOB}
        assert all(c.status == 200 for c in calls)
        assert "⚠️" in bot_texts(fake, BOB)[-1]

    assert await transaction_count(fresh_database_url) == 1


async def test_a_reply_split_in_parts_keeps_their_order_the_last_in_the_answer(
    fake: FakeTelegram, fresh_database_url: str, alice: Person
) -> None:
    units = list(range(1, 121))
    async with webhook_bot(fake, fresh_database_url) as _:
        await alice.say("/start")
        since = len(fake.sent)
        reply = await alice.say("\n".join(f"{n} кафе" for n in units))
        assert len(reply.texts) >= 2
        calls = [c for c in fake.sent[since:] if c.method == "sendMessage"]
        assert [c.inline for c in calls] == [False] * (len(calls) - 1) + [True]
        # In the order the person reads them (Telegram trims the blank lines at a cut).
        assert [str(c.params["text"]).strip() for c in calls] == reply.texts
        numbers = [
            int(word[len("/del") :])
            for text in reply.texts
            for word in text.split()
            if word.startswith("/del")
        ]
        assert numbers == list(range(1, len(units) + 1))

    await assert_books_hold(fresh_database_url, units)


async def test_a_transient_failure_answers_503_with_no_call_and_the_retry_replies_once(
    fake: FakeTelegram,
) -> None:
    """A reply held by an update that then fails is dropped: its retry makes it again."""
    attempts: list[int] = []

    router = Router()

    @router.message()
    async def answer_then_fail(message: Message) -> None:
        attempts.append(message.message_id)
        bot = message.bot
        assert bot is not None
        await reply_text(bot, message.chat.id, f"first of attempt {len(attempts)}")
        await reply_text(bot, message.chat.id, f"last of attempt {len(attempts)}")
        if len(attempts) == 1:
            raise ConnectionResetError("the database went away")  # an outage: retried

    async with webhook_server(fake, router) as (bot, url):
        # By hand first: a 503 carries no call in its body.
        update_id = fake.send_text(ALICE, "250 кафе")
        status, body = await post_update(url, fake.update_json(update_id))
        assert (status, body) == (503, "try again")
        assert [c.params["text"] for c in fake.calls("sendMessage")] == ["first of attempt 1"]

        # Telegram's delivery: the retry answers 200 with its own last reply.
        await bot.set_webhook(url, secret_token=SECRET)
        await fake.wait_for(lambda: not fake.pending_update_ids(), timeout=WAIT)

    assert posts_of(fake, update_id) == [(200, "sendMessage")]
    assert [m["text"] for m in fake.messages_to(ALICE)] == [
        "first of attempt 1",  # sent by request before the failure: that cannot be undone
        "first of attempt 2",
        "last of attempt 2",
    ]
    assert [c.inline for c in fake.calls("sendMessage")] == [False, False, True]


@contextlib.asynccontextmanager
async def webhook_server(fake: FakeTelegram, router: Router) -> AsyncIterator[tuple[Bot, str]]:
    """The bot's own webhook endpoint and session, with router for its handlers."""
    bot = build_bot(TOKEN, fake.base_url)
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    server = WebhookServer(bot, dispatcher, secret=SECRET, host="127.0.0.1", port=0)
    task = asyncio.create_task(server.run())
    try:
        await eventually(lambda: server.port is not None, timeout=WAIT, what="listening")
        assert server.port is not None
        yield bot, webhook_url(server.port)
    finally:
        server.stop()
        await asyncio.wait_for(task, timeout=WAIT)
        await bot.session.close()
