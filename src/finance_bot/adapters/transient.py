"""Which failures are worth retrying: the database or Telegram briefly out of reach."""

from __future__ import annotations

import asyncio

import aiohttp
import asyncpg
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError

_TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,  # connection refused / reset, DNS
    asyncio.TimeoutError,
    aiohttp.ClientError,
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.CannotConnectNowError,  # the server is starting up
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.InterfaceError,  # "connection is closed" and the like
    TelegramNetworkError,
    TelegramServerError,
    TelegramRetryAfter,
)


def is_transient(error: BaseException) -> bool:
    return isinstance(error, _TRANSIENT)
