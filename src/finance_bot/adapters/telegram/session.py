"""The Bot API session: which server, and riding out flood limits and brief outages."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Iterator
from http import HTTPStatus
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramEntityTooLarge,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType

from finance_bot.adapters.observability.metrics import BotMetrics
from finance_bot.adapters.telegram.inline_replies import SendHeldFirst

log = logging.getLogger(__name__)

# Set around requests that must never wait: a reply to a stranger is worth one attempt,
# never a flood wait that would hold the updates behind it.
_single_attempt: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "single_attempt", default=False
)


@contextlib.contextmanager
def single_attempt() -> Iterator[None]:
    """Requests made inside go out once: a 429 or a failure is raised at once, not waited out."""
    token = _single_attempt.set(True)
    try:
        yield
    finally:
        _single_attempt.reset(token)


class RetryRequests(BaseRequestMiddleware):
    """Waits out 429 `retry_after` and retries 5xx and dropped connections a few times.

    getUpdates is left to the polling loop, which has its own backoff, and requests made
    under `single_attempt()` are sent once. Past the last attempt the error propagates and
    the update is handled again from the start.
    """

    def __init__(
        self,
        metrics: BotMetrics | None = None,
        attempts: int = 4,
        first_delay_seconds: float = 0.2,
    ) -> None:
        self._metrics = metrics
        self._attempts = attempts
        self._first_delay = first_delay_seconds

    async def _counted(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        try:
            return await make_request(bot, method)
        except TelegramAPIError as error:
            if self._metrics is not None:
                self._metrics.telegram_failed(method.__api_method__, _kind(error))
            raise

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        if method.__api_method__ == GetUpdates.__api_method__ or _single_attempt.get():
            return await self._counted(make_request, bot, method)
        for attempt in range(self._attempts):
            try:
                return await self._counted(make_request, bot, method)
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


class BotApiSession(AiohttpSession):
    """aiogram's session, telling an answer that is not the Bot API's from one that is.

    A proxy or CDN in front of Telegram answers for it when Telegram does not: an HTML
    "502 Bad Gateway" page, a 504 after its own timeout, a body cut short. aiogram raises
    ClientDecodeError for all of them, which no retry covers: the bot stopped at its first
    deleteWebhook, and a reply that met one was dropped. Such an answer says only that
    Telegram could not be heard, like a dropped connection, so it is raised as the transient
    error its status stands for. An answer in Telegram's own JSON is aiogram's to read: a
    4xx stays a refusal, and a result aiogram cannot model stays ClientDecodeError.
    """

    def check_response(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        status_code: int,
        content: str,
    ) -> Response[TelegramType]:
        try:
            return super().check_response(bot, method, status_code, content)
        except ClientDecodeError:
            if self._from_telegram(content):
                raise
            # Without the page as cause: it may quote the request's path, and so the token.
            raise _not_from_telegram(method, status_code) from None

    def _from_telegram(self, content: str) -> bool:
        """Whether the body is a Bot API answer: a JSON object with its boolean `ok`."""
        try:
            body = self.json_loads(content)
        except ValueError:
            return False
        return isinstance(body, dict) and isinstance(body.get("ok"), bool)


def _not_from_telegram(method: TelegramMethod[Any], status: int) -> TelegramAPIError:
    """The error an answer not in the Bot API's words stands for, by its HTTP status alone."""
    message = f"HTTP {status}: not a Bot API answer"
    if status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
        # A proxy's body-size limit: the same request would be refused again.
        return TelegramEntityTooLarge(method=method, message=message)
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return TelegramServerError(method=method, message=message)
    # Telegram unheard: a wrong-way proxy page, a body cut short. Retried like a dropped
    # connection, as an outage; the retry log names the API base to check.
    return TelegramNetworkError(method=method, message=message)


class HeldResponseModels(BaseRequestMiddleware):
    """Keeps alive the response model of each method the bot calls (`Response[Message]`).

    aiogram reads every answer through `Response[<the method's result type>]`. pydantic
    keeps such parametrised models in a weak cache only, and a model class holds reference
    cycles of its own, so each garbage collection dropped them and the next request built
    its model anew: a few percent of the bot's CPU under load. Held here, each is built once.
    """

    def __init__(self) -> None:
        self._held: dict[Any, type[Response[Any]]] = {}

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        returning = method.__returning__
        if returning not in self._held:
            self._held[returning] = Response[returning]  # type: ignore[valid-type]
        return await make_request(bot, method)


def _kind(error: TelegramAPIError) -> str:
    if isinstance(error, TelegramRetryAfter):
        return "retry_after"
    if isinstance(error, TelegramServerError):
        return "server"
    if isinstance(error, TelegramNetworkError):
        return "network"
    return "client"


class BeforeRequest(BaseRequestMiddleware):
    """Runs `before` ahead of every request: the update's database connection goes back to
    the pool while Telegram, which may be slow, answers (docs/adr/0027)."""

    def __init__(self, before: Callable[[], Awaitable[None]]) -> None:
        self._before = before

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        await self._before()
        return await make_request(bot, method)


def build_bot(
    token: str,
    api_base: str,
    metrics: BotMetrics | None = None,
    *,
    before_request: Callable[[], Awaitable[None]] | None = None,
) -> Bot:
    session = BotApiSession(api=TelegramAPIServer.from_base(api_base))
    # Outermost: a reply held for the webhook's answer goes out, retried like any request,
    # before another request of its update (inline_replies.py).
    session.middleware(SendHeldFirst())
    if before_request is not None:
        session.middleware(BeforeRequest(before_request))
    session.middleware(HeldResponseModels())
    session.middleware(RetryRequests(metrics))
    return Bot(token=token, session=session)
