"""The idempotency key of the writes an update causes (docs/adr/0012).

Telegram numbers updates in sequence, but after a week without updates it starts again
from a random number, so an update id can repeat: keyed on it, a new message could meet
an old key and be answered with an old confirmation, unrecorded. A key is therefore built
from what Telegram never reuses: the chat and message id of a message, the id of a
button press. A redelivered update carries the same ids, so it still finds its key.

The first version keyed on `tg:<bot>:<update_id>`. An update it handled just before an
upgrade may be redelivered to the new version (Telegram keeps unconfirmed updates for a
day), so for a day after the newest such key the old form is looked up first.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from aiogram.types import Update

# Telegram keeps an unconfirmed update for 24 hours; no redelivery comes later than that.
REDELIVERY_WINDOW = timedelta(hours=24)
_LEGACY = re.compile(r"tg:[0-9]+:[0-9]+")


def update_key(bot_id: int, update: Update) -> str:
    if update.message is not None:
        return f"tg:{bot_id}:m:{update.message.chat.id}:{update.message.message_id}"
    if update.callback_query is not None:
        return f"tg:{bot_id}:q:{update.callback_query.id}"
    if update.edited_message is not None:
        edited = update.edited_message
        return f"tg:{bot_id}:e:{edited.chat.id}:{edited.message_id}:{edited.edit_date}"
    return f"tg:{bot_id}:u:{update.update_id}"


def forward_key(bot_id: int, chat_id: int, answer_message_id: int) -> str:
    """The key of recording a forwarded line: the bot's answer to the forward, whose
    Record button may be pressed more than once, records it once."""
    return f"tg:{bot_id}:forward:{chat_id}:{answer_message_id}"


def key_prefix(bot_id: int) -> str:
    """What every key of this bot's updates starts with, of either form."""
    return f"tg:{bot_id}:"


def legacy_key(bot_id: int, update: Update) -> str:
    """The key the first version gave this update."""
    return f"{key_prefix(bot_id)}{update.update_id}"


def is_legacy(key: str) -> bool:
    return _LEGACY.fullmatch(key) is not None


class LegacyKeys:
    """Keys of the first form claimed within the last redelivery window, read once."""

    def __init__(self, keys: set[str], read_at: datetime) -> None:
        self._keys = {key for key in keys if is_legacy(key)}
        self._until = read_at + REDELIVERY_WINDOW

    def key_for(self, bot_id: int, update: Update, now: datetime) -> str | None:
        if now >= self._until:
            self._keys.clear()  # nothing of the first version's can be redelivered now
            return None
        key = legacy_key(bot_id, update)
        return key if key in self._keys else None
