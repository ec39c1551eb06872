"""Updates pushed by Telegram: `POST /telegram/webhook` (SPEC §15, docs/adr/0020).

Telegram sends one update per request and treats any answer but a 2xx as "try again
later". So the answer is 200 only once the update's work has committed and its replies
were sent — all but the last, which the 200 itself carries as a sendMessage for Telegram
to make (inline_replies.py, docs/adr/0026): the reply and the acknowledgement travel
together, and an answer lost on the way brings the update back with its reply. A failure
worth retrying (the database or Telegram out of reach, an interrupted transaction)
answers 503, which carries no call: Telegram delivers the update again, where its
idempotency key (update_keys.py) turns a repeat into the stored answer without a second
write. A failure no retry can mend has been told to the person already, and answers 200
so that it does not hold the chat up, as the polling loop moves on from it.

Every request must carry the secret set with setWebhook in X-Telegram-Bot-Api-Secret-Token:
compared in constant time, and refused before anything is read or written when it does not
match. A replica in this mode never calls getUpdates or deleteWebhook: either would take
the updates away from the webhook, or from the other replicas.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from finance_bot.adapters.telegram.chat_order import chat_key
from finance_bot.adapters.telegram.inline_replies import (
    CONTENT_TYPE,
    Outbox,
    answer_body,
    open_outbox,
    reset_outbox,
)
from finance_bot.adapters.telegram.polling import (
    PollingObserver,
    QuietObserver,
    TokenRejected,
    token_rejection,
    will_retry,
)
from finance_bot.adapters.transient import Attempt

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Attempts remembered per update id, so that an interruption that keeps recurring is given
# up after as many attempts as the polling loop allows (transient.Attempt). A replica that
# restarts forgets them and starts counting again: more attempts, never fewer.
REMEMBERED_ATTEMPTS = 10_000


@dataclass
class _ChatTurn:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Requests holding the lock or waiting for it. An unlocked lock may still have a waiter
    # that was woken and has not run yet: only at zero is the lock nobody's.
    users: int = 0


class WebhookServer:
    """The webhook endpoint of one replica, feeding the same dispatcher the poller feeds."""

    def __init__(
        self,
        bot: Bot,
        dispatcher: Dispatcher,
        *,
        secret: str,
        host: str,
        port: int,
        observer: PollingObserver | None = None,
        inline_replies: bool = True,
    ) -> None:
        if not secret:
            raise ValueError("a webhook needs a secret token")
        self._bot = bot
        self._dispatcher = dispatcher
        self._secret = secret.encode()
        self._host, self._port = host, port
        self._observer: PollingObserver = observer or QuietObserver()
        self._inline_replies = inline_replies  # an update's last reply in its 200 (ADR-0026)
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()
        self._rejected: TokenRejected | None = None
        self._attempts: OrderedDict[int, int] = OrderedDict()
        self._chats: dict[str, _ChatTurn] = {}
        self.port: int | None = None  # the real one once listening (0 asks for any)

    def healthy(self, now: float) -> bool:
        """Ready to take updates: the server is listening and not shutting down."""
        return self._runner is not None and not self._stopping.is_set()

    def stop(self) -> None:
        """Stop listening; requests in hand finish (SIGTERM calls this)."""
        self._stopping.set()

    async def run(self) -> None:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post(WEBHOOK_PATH, self._serve)
        # shutdown_timeout: an update in hand gets this long to finish its work and reply.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=30.0)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self._host, self._port).start()
            self.port = int(self._runner.addresses[0][1])
            log.info("webhook endpoint listening", extra={"port": self.port})
            await self._stopping.wait()
        finally:
            runner, self._runner = self._runner, None
            await runner.cleanup()
        if self._rejected is not None:
            raise self._rejected

    async def _serve(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            return web.Response(status=401, text="secret token missing")
        # The header's bytes as sent: aiohttp decodes them as UTF-8 with surrogateescape, so
        # a value that is not UTF-8 comes back whole here instead of failing to encode.
        if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self._secret):
            return web.Response(status=403, text="secret token does not match")
        if self._stopping.is_set():
            return web.Response(status=503, text="shutting down")  # another replica, or later
        try:
            body = await request.json(loads=json.loads)
        except (ValueError, LookupError, RecursionError):
            # Not JSON, not in its charset (UnicodeDecodeError is a ValueError), a charset
            # no codec knows (LookupError), or nested deeper than the parser follows: a
            # retry would fail alike, so a 400, not the 500 that asks for one.
            return web.Response(status=400, text="not a JSON update")
        try:
            update = Update.model_validate(body, context={"bot": self._bot})
        except ValidationError:
            return self._undecodable(body)
        async with self._chat_turn(chat_key(update)):
            return await self._handle(update)

    def _undecodable(self, body: object) -> web.Response:
        """Like the poller: an update the pinned aiogram cannot read is skipped, by id;
        a retry would fail the same way and hold the chat up."""
        update_id = body.get("update_id") if isinstance(body, dict) else None
        if not isinstance(update_id, int):
            return web.Response(status=400, text="not an update")
        log.error("undecodable update skipped", extra={"update_id": update_id})
        self._observer.update_skipped(update_id)
        return web.Response(status=200)

    async def _handle(self, update: Update) -> web.Response:
        number = self._attempts.get(update.update_id, 0)
        this = Attempt(number=number)
        outbox, token = open_outbox() if self._inline_replies else (None, None)
        try:
            await self._dispatcher.feed_update(self._bot, update, delivery_attempt=this)
        except Exception as error:
            rejected = token_rejection(error, "handler")
            if rejected is not None:
                # The update stays with Telegram for a good token; this replica stops.
                self._rejected = rejected
                self.stop()
                return web.Response(status=503, text="token rejected")
            if not will_retry(self._observer, update, error, this):
                self._forget(update.update_id)
                return self._done(outbox)
            self._remember(update.update_id, number + 1)
            # A reply still held is dropped: the retry makes it again (the update's key).
            return web.Response(status=503, text="try again")
        else:
            self._forget(update.update_id)
            return self._done(outbox)
        finally:
            if outbox is not None and token is not None:
                outbox.close()  # what a 503 leaves held is dropped; later sends go at once
                reset_outbox(token)

    def _done(self, outbox: Outbox | None) -> web.Response:
        """200, carrying the update's last reply if one is held (inline_replies.py)."""
        held = outbox.close() if outbox is not None else None
        if held is None:
            return web.Response(status=200)
        return web.Response(
            status=200, body=answer_body(self._bot, held), content_type=CONTENT_TYPE
        )

    @contextlib.asynccontextmanager
    async def _chat_turn(self, key: str) -> AsyncIterator[None]:
        """The chat's requests one at a time, in the order they arrived."""
        turn = self._chats.setdefault(key, _ChatTurn())
        turn.users += 1
        try:
            async with turn.lock:
                yield
        finally:
            turn.users -= 1
            if turn.users == 0:
                # Idle chats' turns are dropped, so the table holds the chats in hand only.
                del self._chats[key]

    def _remember(self, update_id: int, attempts: int) -> None:
        self._attempts[update_id] = attempts
        self._attempts.move_to_end(update_id)
        while len(self._attempts) > REMEMBERED_ATTEMPTS:
            self._attempts.popitem(last=False)

    def _forget(self, update_id: int) -> None:
        self._attempts.pop(update_id, None)
