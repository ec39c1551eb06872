"""The fake Bot API's update queue, and the shapes of the updates a user's actions produce."""

from __future__ import annotations

import copy
from typing import Any

JSON = dict[str, Any]


class UpdateQueue:
    """Telegram's getUpdates queue.

    An update stays queued — and is returned by every getUpdates — until the bot confirms it
    by asking for a higher offset; nothing else ever drops it. Redelivery re-queues a copy of an
    update the bot already confirmed, so that it reaches the bot once more whatever offset the
    bot asks for next: that is how a duplicate looks to a bot in the wild.
    """

    def __init__(self) -> None:
        self._pending: dict[int, JSON] = {}
        self._history: dict[int, JSON] = {}
        self._redelivered: set[int] = set()  # returned once regardless of the offset asked for
        self._doubled: set[int] = set()  # twice in the next batch that returns them
        self._next_id = 1
        self.confirmed_offset = 0

    def push(self, update: JSON) -> int:
        update_id = update.get("update_id")
        if update_id is None:
            update_id = self._next_id
            update = {"update_id": update_id, **update}
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            raise TypeError(f"update_id must be an int, not {update_id!r}")
        self._next_id = max(self._next_id, update_id + 1)
        self._history[update_id] = copy.deepcopy(update)
        self._pending[update_id] = update
        if update_id < self.confirmed_offset:
            self._redelivered.add(update_id)
        return update_id

    def redeliver(self, update_id: int) -> int:
        if update_id not in self._history:
            raise KeyError(f"update {update_id} was never queued")
        self._pending[update_id] = copy.deepcopy(self._history[update_id])
        self._redelivered.add(update_id)
        return update_id

    def double(self, update_id: int) -> int:
        """The next getUpdates that returns the update returns it twice, side by side."""
        if update_id not in self._history:
            raise KeyError(f"update {update_id} was never queued")
        self._doubled.add(update_id)
        return update_id

    def confirm(self, offset: int) -> None:
        """getUpdates' offset: forget every update below it (a negative one keeps the last -n)."""
        if offset < 0:
            doomed = sorted(self._pending)[:offset]
        else:
            doomed = [i for i in self._pending if i < offset and i not in self._redelivered]
            self.confirmed_offset = max(self.confirmed_offset, offset)
        for update_id in doomed:
            del self._pending[update_id]
            self._redelivered.discard(update_id)

    def take(self, offset: int | None, limit: int) -> list[JSON]:
        """What a getUpdates returns now, oldest first; the updates stay queued."""
        ready = [
            self._pending[i]
            for i in sorted(self._pending)
            if offset is None or offset < 0 or i >= offset or i in self._redelivered
        ][:limit]
        # A redelivery is used up when it is what brought the update back (below the
        # offset). Returned at an offset it would be returned at anyway — a bot that still
        # holds it — the "once more" is still owed.
        below = offset is not None and offset >= 0
        self._redelivered.difference_update(
            update["update_id"] for update in ready if below and update["update_id"] < offset
        )
        doubled = [u for u in ready for _ in range(2 if u["update_id"] in self._doubled else 1)]
        self._doubled.difference_update(update["update_id"] for update in ready)
        return copy.deepcopy(doubled)

    def queued(self, update_id: int) -> JSON:
        """A copy of an update as it was queued, whether or not it is still pending."""
        return copy.deepcopy(self._history[update_id])

    def peek(self) -> list[JSON]:
        """Every pending update, oldest first, for the webhook to push; they stay queued."""
        return [self._pending[i] for i in sorted(self._pending)]

    def delivered(self, update_id: int) -> None:
        """The webhook got a 2xx for it: it is done. The confirmed offset then stands below
        the oldest update still to deliver, as for a bot that polls."""
        self._pending.pop(update_id, None)
        self._redelivered.discard(update_id)
        waiting = [i for i in self._pending if i not in self._redelivered]
        self.confirmed_offset = max(self.confirmed_offset, min(waiting, default=self._next_id))

    def drop_all(self) -> None:
        self._pending.clear()
        self._redelivered.clear()

    def pending_ids(self) -> list[int]:
        return sorted(self._pending)


def user(user_id: int, first_name: str, language_code: str | None) -> JSON:
    person: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
    if language_code:
        person["language_code"] = language_code
    return person


def chat(chat_id: int, chat_type: str, name: str) -> JSON:
    if chat_type == "private":
        return {"id": chat_id, "type": "private", "first_name": name}
    return {"id": chat_id, "type": chat_type, "title": name}


def text_content(text: str) -> JSON:
    """A user's text; a leading /command carries the bot_command entity Telegram marks it with."""
    content: JSON = {"text": text}
    if text.startswith("/") and len(text) > 1:
        command = text.split(maxsplit=1)[0]
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return content


def sticker_content(file_number: int) -> JSON:
    return {
        "sticker": {
            "file_id": f"sticker-{file_number}",
            "file_unique_id": f"u-sticker-{file_number}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        }
    }


def photo_sizes(file_id: str, file_size: int | None = None) -> list[JSON]:
    sizes = [(90, 67), (320, 240), (1280, 960)]
    return [
        {
            "file_id": f"{file_id}-{width}",
            "file_unique_id": f"u-{file_id}-{width}",
            "width": width,
            "height": height,
            **({"file_size": file_size} if file_size is not None else {}),
        }
        for width, height in sizes
    ]


def voice_content(file_number: int) -> JSON:
    return {
        "voice": {
            "file_id": f"voice-{file_number}",
            "file_unique_id": f"u-voice-{file_number}",
            "duration": 2,
            "mime_type": "audio/ogg",
            "file_size": 4096,
        }
    }
