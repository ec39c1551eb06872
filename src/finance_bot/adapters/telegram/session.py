"""The Bot API session: which server, and riding out flood limits and brief outages."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import TelegramType

log = logging.getLogger(__name__)


class RetryRequests(BaseRequestMiddleware):
    """Waits out 429 `retry_after` and retries 5xx and dropped connections a few times.

    getUpdates is left to the polling loop, which has its own backoff. Past the last
    attempt the error propagates and the update is handled again from the start.
    """

    def __init__(self, attempts: int = 4, first_delay_seconds: float = 0.2) -> None:
        self._attempts = attempts
        self._first_delay = first_delay_seconds

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        if method.__api_method__ == GetUpdates.__api_method__:
            return await make_request(bot, method)
        for attempt in range(self._attempts):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                if attempt == self._attempts - 1:
                    raise
                log.warning("flood limit", extra={"retry_after": error.retry_after})
                await asyncio.sleep(error.retry_after)
            except (TelegramServerError, TelegramNetworkError) as error:
                if attempt == self._attempts - 1:
                    raise
                log.warning("telegram request failed", extra={"error": type(error).__name__})
                await asyncio.sleep(self._first_delay * 2**attempt)
        raise AssertionError("unreachable")


def build_bot(token: str, api_base: str) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base))
    session.middleware(RetryRequests())
    return Bot(token=token, session=session)
