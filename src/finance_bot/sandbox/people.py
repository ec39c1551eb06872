"""People who chat with the bot through the fake Bot API, and what the bot answers them.

The end-to-end tests speak this vocabulary: `await alice.say("250 кафе")` returns the
`Reply`, and `await alice.press(reply, label)` presses one of its buttons. Each call waits
until the bot has acknowledged the update, so the reply is whole when it returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from finance_bot.sandbox.fake_api import FakeTelegram


@dataclass
class Reply:
    texts: list[str]
    messages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    def buttons(self) -> dict[str, str]:
        """Button text -> callback data, of the last message that has buttons."""
        for message in reversed(self.messages):
            markup = message.get("reply_markup") or {}
            rows = markup.get("inline_keyboard") or []
            if rows:
                return {b["text"]: b["callback_data"] for row in rows for b in row}
        return {}


class Person:
    """Someone chatting with the bot in a private chat."""

    def __init__(
        self, fake: FakeTelegram, telegram_id: int, first_name: str, language_code: str = "ru"
    ) -> None:
        self.fake = fake
        self.telegram_id = telegram_id
        self.first_name = first_name
        self.language_code = language_code

    def _seen(self) -> int:
        return len(self.fake.messages_to(self.telegram_id))

    async def processed(self, update_id: int, timeout: float = 20.0) -> None:  # noqa: ASYNC109
        """Wait until the bot has acknowledged the update, i.e. finished handling it."""
        await self.fake.wait_for(lambda: self.fake.confirmed_offset > update_id, timeout=timeout)

    async def say(self, text: str, *, date: datetime | None = None) -> Reply:
        before = self._seen()
        update_id = self.fake.send_text(
            self.telegram_id,
            text,
            language_code=self.language_code,
            first_name=self.first_name,
            date=date,
        )
        await self.processed(update_id)
        return self._since(before)

    async def press(self, reply: Reply, button: str) -> Reply:
        data = reply.buttons()[button]
        message = next(
            m
            for m in reversed(reply.messages)
            if any(
                b["callback_data"] == data
                for row in (m.get("reply_markup") or {}).get("inline_keyboard", [])
                for b in row
            )
        )
        before = self._seen()
        update_id = self.fake.press_button(self.telegram_id, message["message_id"], data)
        await self.processed(update_id)
        edited = next(
            m
            for m in self.fake.messages_to(self.telegram_id)
            if m["message_id"] == message["message_id"]
        )
        new = self._since(before)
        return Reply([edited["text"], *new.texts], [edited, *new.messages])

    def _since(self, before: int) -> Reply:
        messages = self.fake.messages_to(self.telegram_id)[before:]
        # a photo or a document reads as its caption
        return Reply([str(m.get("text") or m.get("caption") or "") for m in messages], messages)
