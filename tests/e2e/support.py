"""Driving the real bot through the fake Telegram: the bot's lifecycle and the ledger it wrote.

The people who chat with it (`Person`, `Reply`) live in finance_bot.sandbox.people.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg

from finance_bot.adapters.observability.http_endpoints import Endpoints
from finance_bot.bootstrap import Application, ChatBot, application, chat, serving_metrics
from finance_bot.config import Settings
from finance_bot.sandbox.fake_api import FakeTelegram

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
            bot.source.stop()
            await asyncio.wait_for(task, timeout=30)


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
