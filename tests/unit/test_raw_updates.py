"""A poll's updates are decoded once: those in hand, which every poll brings back while the
offset cannot pass them, are left as they came (raw_updates.decode_fresh)."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import ClientDecodeError

from finance_bot.adapters.telegram.raw_updates import decode_fresh

BOT = Bot("42:TEST")


def _text(update_id: int, text: str) -> dict[str, Any]:
    chat = {"id": 7, "type": "private"}
    sender = {"id": 7, "is_bot": False, "first_name": "A"}
    message = {"message_id": update_id, "date": 0, "chat": chat, "from": sender, "text": text}
    return {"update_id": update_id, "message": message}


def test_only_the_updates_not_in_hand_are_decoded() -> None:
    # The one in hand would not even decode now: it is not looked at again.
    in_hand = {"update_id": 1, "message": "not a message"}
    [fresh] = decode_fresh(BOT, [in_hand, _text(2, "250 кафе")], seen={1})
    assert fresh.update_id == 2
    assert fresh.message is not None
    assert fresh.message.text == "250 кафе"


def test_a_new_update_that_does_not_decode_fails_the_poll_as_aiogram_would() -> None:
    with pytest.raises(ClientDecodeError):
        decode_fresh(BOT, [_text(1, "a"), {"update_id": 2, "message": "?"}], seen=set())
