"""The bot in webhook mode, for the end-to-end tests: the fake Bot API pushes updates to it."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from finance_bot.adapters.telegram.webhook import SECRET_HEADER, WEBHOOK_PATH, WebhookServer
from finance_bot.bootstrap import set_webhook
from finance_bot.config import Settings
from finance_bot.sandbox.fake_api import FakeTelegram
from tests.e2e.processes import eventually
from tests.e2e.support import RunningBot, ledger_rows, running_bot, settings_for

SECRET = "test-webhook-secret_0123456789"


def free_port() -> int:
    """A port nobody listens on now, for a bot process that must be told its port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def webhook_settings(fake: FakeTelegram, database_url: str, **overrides: Any) -> Settings:
    return settings_for(
        fake,
        database_url,
        bot_mode="webhook",
        webhook_host="127.0.0.1",
        webhook_port=0,
        webhook_secret=SECRET,
        **overrides,
    )


def webhook_url(port: int) -> str:
    return f"http://127.0.0.1:{port}{WEBHOOK_PATH}"


@contextlib.asynccontextmanager
async def webhook_bot(
    fake: FakeTelegram, database_url: str, *, max_connections: int = 40, **overrides: Any
) -> AsyncIterator[tuple[RunningBot, str]]:
    """The real bot in this process, listening for the webhook, registered with the fake
    the way an operator does it (`finance-bot set-webhook`); yields it and its URL."""
    settings = webhook_settings(fake, database_url, **overrides)
    async with running_bot(settings) as running:
        source = running.chat.source
        assert isinstance(source, WebhookServer)
        await eventually(lambda: source.port is not None, timeout=30, what="webhook listening")
        assert source.port is not None
        url = webhook_url(source.port)
        await set_webhook(settings, url, max_connections=max_connections)
        yield running, url


async def post_update(
    url: str, update: dict[str, Any], *, secret: str | None = SECRET
) -> tuple[int, str]:
    """One POST as Telegram makes it; the status and body of the answer."""
    headers = {} if secret is None else {SECRET_HEADER: secret}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=update, headers=headers) as response,
    ):
        return response.status, await response.text()


async def numbered_amounts(database_url: str, author: int) -> list[tuple[int, int]]:
    """(number, cafe amount in units) of the author's entries, by number."""
    rows = await ledger_rows(
        database_url,
        "SELECT t.number, p.amount_minor FROM transactions t"
        " JOIN postings p ON p.transaction_id = t.id JOIN accounts a ON a.id = p.account_id"
        " WHERE a.code = 'cafe' AND p.direction = 'debit' AND t.author_telegram_id = $1"
        " ORDER BY t.number",
        author,
    )
    return [(int(row["number"]), int(row["amount_minor"]) // 100) for row in rows]
