"""ChatLanes: each chat's updates in order, different chats at once up to the limit, and
`unfinished` holding every update not done — what the polling loop may not acknowledge."""

from __future__ import annotations

import asyncio

from aiogram.types import Update

from finance_bot.adapters.telegram.chat_order import chat_key
from finance_bot.adapters.telegram.lanes import ChatLanes
from tests.support.updates import text_message


def update(update_id: int, chat_id: int) -> Update:
    return Update.model_validate(text_message(update_id, chat_id))


class Handler:
    def __init__(self) -> None:
        self.gates: dict[int, asyncio.Event] = {}
        self.started: list[int] = []
        self.finished: list[int] = []

    def gate(self, update_id: int) -> asyncio.Event:
        return self.gates.setdefault(update_id, asyncio.Event())

    async def __call__(self, item: Update) -> bool:
        self.started.append(item.update_id)
        await self.gate(item.update_id).wait()
        self.finished.append(item.update_id)
        return True


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_held_chat_holds_neither_the_others_nor_loses_its_order() -> None:
    handle = Handler()
    lanes = ChatLanes(handle, stopping=asyncio.Event(), limit=8)
    for item in (update(1, 10), update(2, 20), update(3, 10), update(4, 30), update(5, 20)):
        lanes.add(item)
    await settle()
    assert sorted(handle.started) == [1, 2, 4]  # one per chat; chat 10's second waits
    for update_id in (2, 4, 5):
        handle.gate(update_id).set()
    await settle()
    assert sorted(handle.finished) == [2, 4, 5]
    assert handle.finished.index(2) < handle.finished.index(5)  # chat 20's order
    assert lanes.unfinished == {1, 3}  # the offset may not pass 1
    handle.gate(3).set()  # done early, yet 3 must wait for 1
    await settle()
    assert 3 not in handle.started
    handle.gate(1).set()
    await settle()
    assert handle.finished[-2:] == [1, 3]
    await lanes.close()
    assert lanes.unfinished == set()


async def test_no_more_chats_than_the_limit_at_once() -> None:
    handle = Handler()
    lanes = ChatLanes(handle, stopping=asyncio.Event(), limit=2)
    for chat in range(5):
        lanes.add(update(chat + 1, 100 + chat))
    await settle()
    assert handle.started == [1, 2]
    handle.gate(1).set()
    await settle()
    assert handle.started == [1, 2, 3]  # first come, first served
    for update_id in (2, 3, 4, 5):
        handle.gate(update_id).set()
    await settle()
    assert sorted(handle.finished) == [1, 2, 3, 4, 5]
    await lanes.close()
    assert lanes.unfinished == set()


async def test_stopping_finishes_what_is_in_hand_and_starts_nothing_new() -> None:
    handle = Handler()
    stopping = asyncio.Event()
    lanes = ChatLanes(handle, stopping=stopping)
    for item in (update(1, 10), update(2, 10), update(3, 20)):
        lanes.add(item)
    await settle()
    stopping.set()
    handle.gate(1).set()
    handle.gate(3).set()
    await lanes.close()
    assert handle.finished == [1, 3]
    assert lanes.unfinished == {2}


class Refused(Exception):
    pass


async def test_a_lane_that_raises_stops_every_lane_and_leaves_its_updates_unfinished() -> None:
    handle = Handler()

    async def refusing(item: Update) -> bool:
        if item.update_id == 2:
            raise Refused  # as a token Telegram refuses: no retry can help
        return await handle(item)

    lanes = ChatLanes(refusing, stopping=asyncio.Event(), limit=2)
    # Chat 10 in hand, chat 20 refused with one more queued, chat 30 waiting for a slot.
    for item in (update(1, 10), update(2, 20), update(3, 30), update(4, 20)):
        lanes.add(item)
    await settle()
    assert isinstance(lanes.error, Refused)
    for update_id in (1, 3, 4):
        handle.gate(update_id).set()  # nothing but the stop holds 3 and 4 back
    await lanes.close()
    assert handle.started == handle.finished == [1]  # chat 30 never started
    assert lanes.unfinished == {2, 3, 4}  # the offset may not pass the refused one


def test_a_press_belongs_to_the_chat_of_its_message() -> None:
    press = Update.model_validate(
        {
            "update_id": 9,
            "callback_query": {
                "id": "q",
                "from": {"id": 7, "is_bot": False, "first_name": "x"},
                "chat_instance": "i",
                "data": "undo",
                "message": update(1, 10).message.model_dump(by_alias=True),  # type: ignore[union-attr]
            },
        }
    )
    assert chat_key(press) == chat_key(update(1, 10)) == "chat:10"
    assert chat_key(Update(update_id=5)) == "update:5"
