"""Driving the real bot through the fake Telegram: people who chat, and the bot's lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from finance_bot.adapters.http_endpoints import Endpoints
from finance_bot.adapters.telegram.fake_api import FakeTelegram
from finance_bot.bootstrap import Application, ChatBot, application, chat, serving_metrics
from finance_bot.config import Settings

TOKEN = "42:TEST-TOKEN"
ALICE, BOB, STRANGER = 1001, 1002, 6666


def settings_for(fake: FakeTelegram, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_bot_token": TOKEN,
        "telegram_api_base": fake.base_url,
        "whitelist_telegram_ids": (ALICE, BOB),
        "database_url": database_url,
        "bot_timezone": "Europe/Kyiv",
        "bot_language": "ru",
        "metrics_port": 0,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class RunningBot:
    app: Application
    chat: ChatBot
    task: asyncio.Task[None]
    endpoints: Endpoints

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.endpoints.port}"

    @property
    def database_url(self) -> str:
        assert self.app.settings.database_url is not None
        return self.app.settings.database_url.get_secret_value()


@contextlib.asynccontextmanager
async def running_bot(settings: Settings) -> AsyncIterator[RunningBot]:
    """The real bot, in this process, long-polling the fake over HTTP."""
    token = settings.telegram_bot_token
    assert token is not None
    async with (
        application(settings) as app,
        chat(app, token=token.get_secret_value(), api_base=settings.telegram_api_base) as bot,
        serving_metrics(app, bot) as endpoints,
    ):
        task = asyncio.create_task(bot.run())
        try:
            yield RunningBot(app, bot, task, endpoints)
        finally:
            bot.poller.stop()
            await asyncio.wait_for(task, timeout=30)


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
            self.telegram_id, text, language_code=self.language_code,
            first_name=self.first_name, date=date,
        )  # fmt: skip
        await self.processed(update_id)
        return self._since(before)

    async def press(self, reply: Reply, button: str) -> Reply:
        data = reply.buttons()[button]
        message = next(
            m for m in reversed(reply.messages)
            if any(b["callback_data"] == data
                   for row in (m.get("reply_markup") or {}).get("inline_keyboard", [])
                   for b in row)
        )  # fmt: skip
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
        return Reply([m["text"] for m in messages], messages)


async def ledger_rows(database_url: str, query: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(database_url)
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


async def spending_of(database_url: str, category_code: str) -> int:
    """The live balance of an expense category, in minor units (voids cancel out)."""
    rows = await ledger_rows(
        database_url,
        "SELECT COALESCE(sum(b.balance_minor), 0) AS total FROM accounts a"
        " JOIN account_balances b ON b.account_id = a.id WHERE a.code = $1",
        category_code,
    )
    return int(rows[0]["total"])


async def transaction_count(database_url: str) -> int:
    rows = await ledger_rows(database_url, "SELECT count(*) AS n FROM transactions")
    return int(rows[0]["n"])
