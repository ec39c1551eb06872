"""The one typed settings object. No other module reads the environment."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from finance_bot.domain.errors import UnknownCurrency
from finance_bot.domain.languages import Language
from finance_bot.domain.money import currency_scale

DEFAULT_TELEGRAM_API_BASE = "https://api.telegram.org"
DEFAULT_FX_RATES_URL = "https://bank.gov.ua"  # the National Bank of Ukraine's own host
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


def default_data_dir() -> Path:
    """The per-user data directory, without a dependency for something this small."""
    import os
    import sys

    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "finance-bot"
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home())) / "finance-bot"
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "finance-bot"


def _hosts_readable(url: str) -> bool:
    """Whether the driver finds the hosts where they are meant to be: after the one `@`,
    each (`host:port,host:port`) with a numeric port or none."""
    netloc = urlsplit(url).netloc
    if netloc.count("@") > 1:
        return False  # the driver splits at the first one: the password's rest is a host
    hosts = netloc.rpartition("@")[2]
    try:
        for host in hosts.split(","):
            _ = urlsplit(f"//{host}").port
    except ValueError:
        return False
    return True


class Settings(BaseSettings):
    # hide_input_in_errors: an error about one setting would otherwise print every value read,
    # tokens, secrets and database passwords among them.
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", hide_input_in_errors=True
    )

    telegram_bot_token: SecretStr | None = None
    telegram_api_base: str = DEFAULT_TELEGRAM_API_BASE
    whitelist_telegram_ids: Annotated[tuple[int, ...], NoDecode] = ()
    # Who may start (SPEC §14, docs/adr/0022): the whitelist alone, also whoever a member
    # invites, or anyone (their own household). The whitelist's ids join the first household.
    signup: Literal["whitelist", "invite", "open"] = "whitelist"
    # The bot's own login, finance_bot_app (docs/adr/0009). Unset: the embedded server.
    database_url: SecretStr | None = None
    # Migrations and restores: finance_bot_owner. Unset: DATABASE_URL.
    database_owner_url: SecretStr | None = None
    # Backups: finance_bot_dump. Unset: DATABASE_URL.
    database_backup_url: SecretStr | None = None
    # A superuser's, for `finance-bot setup-roles` alone; the bot never needs it.
    database_admin_url: SecretStr | None = None
    data_dir: Path = Field(default_factory=default_data_dir)
    bot_timezone: str = "Europe/Kyiv"
    default_currency: str = "UAH"
    bot_language: Language = "ru"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9464
    # Backups (docs/adr/0006). An empty value in .env means unset, never "encrypt with ''".
    backup_dir: Path | None = None  # unset: DATA_DIR/backups
    backup_keep_days: int = Field(default=14, ge=1)
    backup_passphrase: SecretStr | None = None
    backup_s3_bucket: str | None = None
    backup_s3_endpoint: str | None = None
    backup_s3_region: str | None = None
    backup_s3_access_key_id: str | None = None
    backup_s3_secret_access_key: SecretStr | None = None
    backup_s3_prefix: str = ""
    invariant_check_interval_seconds: float = Field(default=3600.0, gt=0)
    # How often the running bot looks for due scheduled work (recurring entries, digests).
    scheduler_interval_seconds: float = Field(default=30.0, gt=0)
    # Official daily rates (SPEC §8): off, or the National Bank of Ukraine's statistics service.
    fx_rates_source: Literal["off", "nbu"] = "off"
    fx_rates_url: str = DEFAULT_FX_RATES_URL
    # How updates arrive (SPEC §15, docs/adr/0020): long polling, or Telegram's webhook.
    bot_mode: Literal["polling", "webhook"] = "polling"
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(default=8080, ge=0, le=65535)
    # Shared by every replica; Telegram sends it in X-Telegram-Bot-Api-Secret-Token.
    webhook_secret: SecretStr | None = None
    # An update's last reply in the webhook's 200 instead of a request of its own (ADR-0026).
    webhook_inline_replies: bool = True

    @field_validator("whitelist_telegram_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(int(part) for part in value.replace(" ", "").split(",") if part)
        if isinstance(value, int):
            return (value,)
        return value

    @field_validator(
        "database_url",
        "database_owner_url",
        "database_backup_url",
        "database_admin_url",
        "backup_dir",
        "backup_passphrase",
        "backup_s3_bucket",
        "backup_s3_endpoint",
        "backup_s3_region",
        "backup_s3_access_key_id",
        "backup_s3_secret_access_key",
        "webhook_secret",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator(
        "database_url", "database_owner_url", "database_backup_url", "database_admin_url"
    )
    @classmethod
    def _database_url_parses(cls, value: SecretStr | None) -> SecretStr | None:
        # An unescaped / # or ? in the password ends the URL's host part early, and the
        # driver would then report the password's first part as the port it could not read,
        # in an error message; after an unescaped @ it would look the password's rest up as a
        # host name. Refused here, where the error names the setting and hides its value.
        if value is not None and not _hosts_readable(value.get_secret_value()):
            raise ValueError(
                "not a postgresql:// URL the driver reads as meant: percent-encode / # ? @ "
                "in the user name and password (%2F %23 %3F %40)"
            )
        return value

    @field_validator("signup", mode="before")
    @classmethod
    def _signup_name(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().lower() or "whitelist"
        return value

    @field_validator("bot_mode", mode="before")
    @classmethod
    def _mode_name(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().lower() or "polling"
        return value

    @model_validator(mode="after")
    def _webhook_secret(self) -> Settings:
        # Checked here, not in a field validator, whose error would show the value.
        secret = self.webhook_secret
        # Telegram's own rule for secret_token: 1-256 characters of A-Z, a-z, 0-9, _ and -.
        if secret is not None and not _WEBHOOK_SECRET.fullmatch(secret.get_secret_value()):
            raise ValueError(
                "WEBHOOK_SECRET must be 1-256 characters, only letters A-Z a-z, digits, _ and -"
            )
        if self.bot_mode == "webhook" and secret is None:
            raise ValueError(
                "BOT_MODE=webhook requires WEBHOOK_SECRET (the secret token Telegram sends with "
                "every update; the same on every replica): see README, Configuration"
            )
        return self

    @field_validator("fx_rates_source", mode="before")
    @classmethod
    def _source_name(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().lower() or "off"
        return value

    @field_validator("fx_rates_url")
    @classmethod
    def _rates_url(cls, value: str) -> str:
        url = value.strip().rstrip("/") or DEFAULT_FX_RATES_URL  # empty in .env: unset
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {value!r}")
        if parts.query or parts.fragment:
            raise ValueError(f"a base URL takes no query or fragment: {value!r}")
        return url

    @field_validator("bot_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

    @field_validator("default_currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        code = value.upper()
        try:
            currency_scale(code)
        except UnknownCurrency:
            raise ValueError(f"unsupported currency {value!r}") from None
        return code

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.bot_timezone)

    @property
    def backup_path(self) -> Path:
        return self.backup_dir if self.backup_dir is not None else self.data_dir / "backups"
