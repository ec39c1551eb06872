"""The fake Bot API's webhook: Telegram pushing updates to the bot over HTTP.

As Telegram does it: setWebhook(url, secret_token, max_connections, allowed_updates)
makes every pending and later update go to url as a JSON POST carrying the secret in
X-Telegram-Bot-Api-Secret-Token, at most max_connections at once; an update is delivered
once the bot answers a 2xx, and anything else — another status, a refused or dropped
connection, no answer in time — is retried with growing pauses, for as long as it takes.
While a webhook is set, getUpdates answers 409 Conflict.

An answer may carry a Bot API call, as Telegram allows: a 2xx whose body is a JSON object
(application/json) or a form (application/x-www-form-urlencoded) naming the `method` and
its parameters. The fake makes that call as if the bot had made it — same checks, same
faults and limits, recorded in `sent` with `inline=True` — and, like Telegram, tells the
bot nothing of how it went. A body on any other answer is ignored, and so is a multipart
one (not read by the fake). The call is made before the chat's next update is sent.
`lose_next_answers` plays an answer lost on its way back: the update counts as not
answered, its call is not made, and the update is delivered again.

Ordering: Telegram promises no order across its connections. The fake keeps one order
Telegram also keeps in practice, and the one the bot relies on (docs/adr/0020): the next
update of a chat is not sent before the previous one of that chat got its 2xx; updates of
different chats go out at once, up to max_connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp

from finance_bot.sandbox.fake_api_rules import ApiError, nested_decoded
from finance_bot.sandbox.fake_api_updates import JSON, UpdateQueue

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
NO_TYPE = "?"


@dataclass(frozen=True)
class Webhook:
    url: str
    secret_token: str | None
    max_connections: int = 40
    allowed_updates: tuple[str, ...] = ()  # empty: every type
    token: str = ""  # the bot's token that set it: a call in an answer is that bot's


@dataclass(frozen=True)
class WebhookPost:
    """One delivery attempt, recorded once it ended."""

    update_id: int
    status: int | None  # None: no answer (refused, dropped or timed out)
    at: float  # time.monotonic() when it was sent
    chat: str
    answer: str | None = None  # the method a 2xx's body called, as the body named it


@dataclass
class WebhookBackoff:
    """Telegram's pauses between attempts grow; these are short so that tests run fast."""

    first_seconds: float = 0.05
    max_seconds: float = 1.0

    def delay(self, failures: int) -> float:
        return float(min(self.max_seconds, self.first_seconds * 2 ** max(failures - 1, 0)))


def update_chat(update: JSON) -> str:
    """The chat an update belongs to, as the bot's chat_order sees it."""
    for kind in ("message", "edited_message"):
        message = update.get(kind)
        if isinstance(message, dict):
            return f"chat:{message['chat']['id']}"
    query = update.get("callback_query")
    if isinstance(query, dict):
        if isinstance(query.get("message"), dict):
            return f"chat:{query['message']['chat']['id']}"
        return f"user:{query['from']['id']}"
    return f"update:{update.get('update_id')}"


def update_type(update: JSON) -> str:
    return next((key for key in update if key != "update_id"), NO_TYPE)


def answer_call(content_type: str, body: bytes) -> tuple[str, JSON] | None:
    """The Bot API call a webhook answer's body makes: its method and parameters, if any.

    Telegram reads a JSON object or a form; a body that is neither, or names no method,
    calls nothing — and nobody is told, as Telegram tells nobody.
    """
    try:
        if content_type == "application/json":
            decoded = json.loads(body) if body.strip() else {}
            if not isinstance(decoded, dict):
                return None
            params: JSON = decoded
        elif content_type == "application/x-www-form-urlencoded":
            params = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        else:
            return None
        method = params.pop("method", None)
        if not isinstance(method, str) or not method:
            return None
        return method, nested_decoded(params)
    except (ValueError, ApiError):  # not JSON, not UTF-8, or a nested object unreadable
        return None


@dataclass
class WebhookDelivery:
    """Delivers the queue's updates to the webhook until it is deleted or the fake stops."""

    queue: UpdateQueue
    next_change: Callable[[], Awaitable[None]]
    notify: Callable[[], None]
    # Makes the call an answer carried: (webhook, method, params); set by FakeTelegram.
    call: Callable[[Webhook, str, JSON], Awaitable[None]] | None = None
    backoff: WebhookBackoff = field(default_factory=WebhookBackoff)
    request_timeout: float = 60.0  # how long Telegram waits for an answer
    webhook: Webhook | None = None
    posts: list[WebhookPost] = field(default_factory=list)
    _in_flight: dict[int, str] = field(default_factory=dict)  # update_id -> chat
    _failures: dict[int, int] = field(default_factory=dict)
    _not_before: dict[int, float] = field(default_factory=dict)
    _answers_to_lose: int = 0
    _task: asyncio.Task[None] | None = None

    def set(self, webhook: Webhook) -> None:
        self.webhook = webhook
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="fake-webhook-delivery")
        self.notify()

    def delete(self) -> None:
        self.webhook = None
        self.notify()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def in_flight(self) -> list[int]:
        return sorted(self._in_flight)

    def lose_next_answers(self, times: int = 1) -> None:
        """The next answers, whatever they are, never reach Telegram: as a connection that
        breaks after the bot answered. The update is delivered again; a call its answer
        carried is not made."""
        self._answers_to_lose += times

    async def _run(self) -> None:
        posting: set[asyncio.Task[None]] = set()
        async with aiohttp.ClientSession() as session:
            try:
                while self.webhook is not None:
                    for update in self._ready(self.webhook):
                        task = asyncio.create_task(self._post(session, self.webhook, update))
                        posting.add(task)
                        task.add_done_callback(posting.discard)
                    await self._wait()
            finally:
                for task in list(posting):
                    task.cancel()
                for task in list(posting):
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    def _ready(self, webhook: Webhook) -> list[JSON]:
        """What may be sent now: each idle chat's oldest update, if its pause is over."""
        now = time.monotonic()
        free = webhook.max_connections - len(self._in_flight)
        busy = set(self._in_flight.values())
        chosen: list[JSON] = []
        for update in self.queue.peek():
            if free <= 0:
                break
            update_id = update["update_id"]
            if webhook.allowed_updates and update_type(update) not in webhook.allowed_updates:
                self.queue.delivered(update_id)  # Telegram never sends what was not asked for
                continue
            chat = update_chat(update)
            if chat in busy:
                continue
            busy.add(chat)  # this chat's later updates wait for this one
            if self._not_before.get(update_id, 0.0) > now:
                continue
            self._in_flight[update_id] = chat
            chosen.append(update)
            free -= 1
        return chosen

    async def _wait(self) -> None:
        waits = [t for t in self._not_before.values() if t > time.monotonic()]
        timeout = min(waits) - time.monotonic() if waits else None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(timeout, 0.0) if timeout is not None else None):
                await self.next_change()

    async def _post(self, session: aiohttp.ClientSession, webhook: Webhook, update: JSON) -> None:
        update_id = update["update_id"]
        chat = self._in_flight[update_id]
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token is not None:
            headers[SECRET_HEADER] = webhook.secret_token
        sent_at = time.monotonic()
        status: int | None = None
        call: tuple[str, JSON] | None = None
        try:
            try:
                async with session.post(
                    webhook.url,
                    data=json.dumps(update),
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self.request_timeout),
                ) as response:
                    body = await response.read()
                    status = response.status
                    if 200 <= status < 300:
                        call = answer_call(response.content_type, body)
            except (aiohttp.ClientError, OSError, TimeoutError):
                status = None
            if status is not None and self._answers_to_lose > 0:
                self._answers_to_lose -= 1
                status, call = None, None
            if call is not None and self.call is not None:
                await self.call(webhook, *call)  # before the chat's next update goes out
        finally:
            del self._in_flight[update_id]
            answer = call[0] if call is not None else None
            self.posts.append(WebhookPost(update_id, status, sent_at, chat, answer))
            if status is not None and 200 <= status < 300:
                self._failures.pop(update_id, None)
                self._not_before.pop(update_id, None)
                self.queue.delivered(update_id)
            else:
                failures = self._failures[update_id] = self._failures.get(update_id, 0) + 1
                self._not_before[update_id] = time.monotonic() + self.backoff.delay(failures)
            self.notify()
