"""BOT_MODE and the WEBHOOK_* settings: webhook mode refuses to start without its secret,
and the secret never shows in an error or a repr."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from finance_bot.config import Settings

SECRET = "s3cret-Token_for_tests"


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_polling_is_the_default_and_the_webhook_listens_on_loopback() -> None:
    found = settings()
    assert found.bot_mode == "polling"
    assert (found.webhook_host, found.webhook_port) == ("127.0.0.1", 8080)
    assert found.webhook_secret is None


def test_webhook_mode_without_a_secret_says_what_to_set() -> None:
    with pytest.raises(ValidationError) as raised:
        settings(bot_mode="webhook")
    assert "BOT_MODE=webhook requires WEBHOOK_SECRET" in str(raised.value)
    with pytest.raises(ValidationError, match="requires WEBHOOK_SECRET"):
        settings(bot_mode="Webhook", webhook_secret="")  # empty in .env is unset


def test_webhook_mode_with_a_secret_keeps_it_hidden() -> None:
    found = settings(bot_mode=" WEBHOOK ", webhook_secret=SECRET, webhook_port="0")
    assert found.bot_mode == "webhook"
    assert found.webhook_secret is not None
    assert found.webhook_secret.get_secret_value() == SECRET
    assert SECRET not in repr(found)
    assert SECRET not in str(found.model_dump())


@pytest.mark.parametrize("secret", ["has space", "ключ", "x" * 257, "semi;colon"])
def test_a_secret_telegram_would_refuse_is_refused_without_showing_it(secret: str) -> None:
    with pytest.raises(ValidationError) as raised:
        settings(bot_mode="webhook", webhook_secret=secret)
    assert "WEBHOOK_SECRET must be" in str(raised.value)
    assert secret not in str(raised.value)


@pytest.mark.parametrize("mode", ["poll", "webhooks", "both"])
def test_an_unknown_mode_is_refused(mode: str) -> None:
    with pytest.raises(ValidationError):
        settings(bot_mode=mode)
