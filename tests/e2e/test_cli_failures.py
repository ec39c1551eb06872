"""A command that fails for a reason nobody foresaw ends with exit code 1 and the failure in
the JSON log — its type and stack — never with a bare traceback, whose messages may quote
the bot token or a database password (README, "When things fail")."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import pytest
from aiohttp import web

from finance_bot.sandbox.fake_api import FakeTelegram
from tests.e2e.processes import BotProcess

# Shaped like a real one, so that the bot accepts it and puts it in every request's path.
TOKEN = "987654:CliFailure-secret_TOKEN"
WEBHOOK_SECRET = "cli-failure-webhook-secret"


@pytest.fixture
async def echoing_proxy() -> AsyncIterator[str]:
    """A Bot API behind a proxy whose error page quotes the path it could not forward: the
    path `/bot<token>/<method>` — and so the token — is in the answer the bot cannot decode."""

    async def unavailable(request: web.Request) -> web.Response:
        return web.Response(status=502, text=f"upstream unavailable: {request.path}")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", unavailable)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


async def finance_bot(*arguments: str, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "finance_bot",
        *arguments,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def assert_no_secret(text: str, *secrets: str) -> None:
    for secret in secrets:
        for shown in (secret, quote(secret, safe=""), json.dumps(secret)[1:-1]):
            assert shown not in text
    assert TOKEN.split(":")[1] not in text  # the token's secret half, alone


# At DEBUG too: the libraries' own debug lines join the log, and none may carry the token.
@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
@pytest.mark.parametrize(
    "command", [["set-webhook", "https://bot.example.org/telegram/webhook"], ["delete-webhook"]]
)
async def test_a_webhook_command_failing_logs_the_error_type_not_the_token(
    echoing_proxy: str, command: list[str], level: str
) -> None:
    code, out, err = await finance_bot(
        *command,
        env={
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE": echoing_proxy,
            "WEBHOOK_SECRET": WEBHOOK_SECRET,
            "LOG_LEVEL": level,
        },
    )

    assert code == 1
    assert out == ""
    assert "Traceback" not in err
    assert_no_secret(err, TOKEN, WEBHOOK_SECRET)
    records = [json.loads(line) for line in err.splitlines()]
    [record] = [r for r in records if r["level"] == "error"]
    assert record["exception"] == "TelegramServerError"  # the proxy's 502, not its page
    assert record["stack"]


async def test_a_webhook_telegram_refuses_says_why_and_nothing_secret(fake: FakeTelegram) -> None:
    code, out, err = await finance_bot(
        "set-webhook",
        "ftp://bot.example.org/telegram/webhook",
        env={
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE": fake.base_url,
            "WEBHOOK_SECRET": WEBHOOK_SECRET,
            "LOG_LEVEL": "INFO",
        },
    )

    assert code == 1
    assert out == ""
    # Telegram's own words about the request: what the operator must fix.
    assert "set-webhook refused by Telegram: Bad Request: bad webhook: An HTTPS URL" in err
    assert "Traceback" not in err
    assert_no_secret(err, TOKEN, WEBHOOK_SECRET)
    assert fake.webhook.webhook is None


@pytest.mark.postgres
async def test_the_bot_waits_out_an_answer_it_cannot_read_and_logs_no_token(
    echoing_proxy: str, fresh_database_url: str, tmp_path: Path
) -> None:
    # Its first request, deleteWebhook, gets the proxy's page: not a Bot API answer at all,
    # and a 502 — Telegram unheard, as when it is out of reach: retried, not a reason to stop.
    bot = BotProcess(
        api_base=echoing_proxy, database_url=fresh_database_url, data_dir=tmp_path, token=TOKEN
    )

    def retries() -> list[dict[str, object]]:
        return [
            r for r in bot.log_records() if r.get("message") == "telegram request failed; retrying"
        ]

    try:
        bot.start()
        await bot.wait_until(lambda: len(retries()) >= 3, timeout=60, what="three retries")
        assert await bot.terminate(timeout=60) == 0
    finally:
        bot.ensure_dead()

    assert {r["method"] for r in retries()} == {"deleteWebhook"}
    assert {r["error"] for r in retries()} == {"TelegramServerError"}
    text = bot.log_text()
    assert "Traceback" not in text
    assert_no_secret(text, TOKEN)
    assert not [r for r in bot.log_records() if r["level"] == "error"]
