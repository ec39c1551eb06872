"""Long-polling that acknowledges only what is done.

Telegram counts an update as delivered when a later getUpdates asks for a higher offset.
So the offset moves past an update only after its handling finished — its ledger write
committed (with the update id as idempotency key) and its reply sent — and never past one
still in hand, however many later ones are done. Updates of different chats are handled at
once, each chat's in order (lanes.py, docs/adr/0020). A crash at any point leaves the
update unacknowledged; Telegram delivers it again and the idempotency key turns the
replay into the same answer without a second write. Transient failures (database or
Telegram out of reach) are retried with capped backoff, holding the update; pending
updates are never dropped at start-up. An update aiogram cannot decode is skipped, by id,
rather than stopping everyone behind it; a token Telegram refuses ends the loop with
TokenRejected (docs/adr/0008).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import Update

from finance_bot.adapters.telegram.lanes import CHATS_AT_ONCE, ChatLanes
from finance_bot.adapters.telegram.raw_updates import (
    GetRawUpdates,
    decode_fresh,
    first_undecodable_update_id,
)
from finance_bot.adapters.transient import Attempt, is_transient

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
# While updates are in hand the loop polls without waiting (Telegram answers at once, with
# them again); between such polls it waits for one to finish, or this long for new ones.
HELD_POLL_SECONDS = 0.5
# Updates fetched and not finished, at most: a getUpdates returns 100 at most, the ones in
# hand first, and must leave room for new ones.
MAX_IN_HAND = 80


@dataclass(frozen=True)
class Backoff:
    first_seconds: float = 0.2
    max_seconds: float = 30.0

    def delay(self, attempt: int) -> float:
        capped: float = min(self.max_seconds, self.first_seconds * 2**attempt)
        return capped * random.uniform(0.5, 1.0)  # jitter: restarts do not stampede


class TokenRejected(Exception):
    """Telegram refuses the bot's token: 401 when it is wrong or revoked, 404 when malformed.

    No retry can help; the process should stop and say so (exit code 3, README).
    """

    def __init__(self, method: str, status: int) -> None:
        super().__init__(f"{method}: {status}")
        self.method = method
        self.status = status

    @property
    def cause(self) -> str:
        return "token_unauthorized" if self.status == 401 else "token_malformed"


def token_rejection(error: BaseException, method: str) -> TokenRejected | None:
    if isinstance(error, TelegramUnauthorizedError):
        return TokenRejected(method, 401)
    # Telegram answers 404 to every method when the token is not even shaped like one; a
    # missing chat or message is a 400. (A 404 HTTP status is all aiogram's class means.)
    if isinstance(error, TelegramNotFound):
        return TokenRejected(method, 404)
    return None


def public_url(url: str, secret: str) -> str:
    """A URL fit for the log: no credentials, query or fragment, and never the secret."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    public = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return public.replace(secret, "***") if secret else public


class PollingObserver(Protocol):
    def poll_succeeded(self, updates: list[Update]) -> None: ...

    def poll_failed(self, error: BaseException) -> None: ...

    def update_retried(self, update: Update, error: BaseException) -> None: ...

    def update_failed(self, update: Update, error: BaseException) -> None: ...

    def update_skipped(self, update_id: int) -> None: ...


def will_retry(
    observer: PollingObserver, update: Update, error: BaseException, attempt: Attempt
) -> bool:
    """Whether a handler's failure is tried again, told to the observer and the log. Not
    retried: a bug, a permanent refusal, or an interruption that kept recurring — holding
    the update would block every later one; the person has been told, so it moves on.
    Polling and the webhook decide alike."""
    if not attempt.will_retry(error):
        observer.update_failed(update, error)
        log.exception("update failed", extra={"update_id": update.update_id})
        return False
    observer.update_retried(update, error)
    log.warning(
        "update will be retried",
        extra={
            "update_id": update.update_id,
            "error": type(error).__name__,
            "attempt": attempt.number + 1,
        },
    )
    return True


class QuietObserver:
    def poll_succeeded(self, updates: list[Update]) -> None:
        pass

    def poll_failed(self, error: BaseException) -> None:
        pass

    def update_retried(self, update: Update, error: BaseException) -> None:
        pass

    def update_failed(self, update: Update, error: BaseException) -> None:
        pass

    def update_skipped(self, update_id: int) -> None:
        pass


class Poller:
    def __init__(
        self,
        bot: Bot,
        dispatcher: Dispatcher,
        *,
        poll_timeout_seconds: int = 25,
        # Small batches: a crash mid-batch re-sends the replies of the batch's finished
        # updates (never their entries), so a short batch keeps that repetition short.
        batch_limit: int = 10,
        backoff: Backoff | None = None,
        observer: PollingObserver | None = None,
        api_base: str = "https://api.telegram.org",
        chats_at_once: int = CHATS_AT_ONCE,
    ) -> None:
        self._bot = bot
        self._dispatcher = dispatcher
        self._poll_timeout = poll_timeout_seconds
        self._batch_limit = batch_limit
        self._backoff = backoff or Backoff()
        self._observer: PollingObserver = observer or QuietObserver()
        self._api_base = public_url(api_base, bot.token)
        self._narrow = False  # fetching one update at a time, to find one that cannot decode
        self._stopping = asyncio.Event()
        self._fetch: asyncio.Task[list[dict[str, Any]]] | None = None
        self._offset: int | None = None
        self._last_poll_ok: float | None = None  # loop time of the last good getUpdates
        self._chats_at_once = chats_at_once
        self._seen: set[int] = set()  # fetched, and not yet below the acknowledged offset
        self._highest: int | None = None  # the highest update id fetched

    def healthy(self, now: float, *, grace_seconds: float = 30.0) -> bool:
        """Whether Telegram answered recently (a long poll lasts up to its timeout)."""
        if self._last_poll_ok is None:
            return False
        return now - self._last_poll_ok <= self._poll_timeout + grace_seconds

    def stop(self) -> None:
        """Finish the updates in hand, then return from `run` (SIGTERM calls this)."""
        self._stopping.set()
        if self._fetch is not None:
            self._fetch.cancel()  # what it would fetch stays with Telegram; lanes finish apart

    async def run(self) -> None:
        # A webhook would make getUpdates fail; removing it keeps every pending update.
        await self._call_until_stopped(
            "deleteWebhook", lambda: self._bot.delete_webhook(drop_pending_updates=False)
        )
        lanes = ChatLanes(self._handle, limit=self._chats_at_once, stopping=self._stopping)
        try:
            while not self._stopping.is_set() and lanes.error is None:
                if len(lanes) >= MAX_IN_HAND:
                    await lanes.progress(HELD_POLL_SECONDS)  # a full hand: finish some first
                    self._advance(lanes)
                    continue
                # With updates in hand, no long poll: the loop must come back to acknowledge
                # them as they finish.
                updates = await self._next_batch(
                    limit=self._batch_limit + len(self._seen),
                    wait_seconds=0 if len(lanes) else self._poll_timeout,
                )
                # By id, once: an update repeated within one batch would be handled twice,
                # its reply sent twice, and the offset moved past the copy still queued.
                fresh = list(
                    {u.update_id: u for u in updates if u.update_id not in self._seen}.values()
                )
                for update in fresh:
                    self._seen.add(update.update_id)
                    self._highest = max(self._highest or 0, update.update_id)
                    lanes.add(update)
                if not fresh and len(lanes):
                    # Ask again once one is done, or soon, for the other chats' new updates.
                    await lanes.progress(HELD_POLL_SECONDS)
                self._advance(lanes)
        except asyncio.CancelledError:
            lanes.cancel()  # cancelled, not stopped: nothing is to be finished
            raise
        finally:
            await lanes.close()
            self._advance(lanes)
        if lanes.error is not None:
            raise lanes.error
        await self._acknowledge()

    def _advance(self, lanes: ChatLanes) -> None:
        """Move the offset up to the oldest update not finished, never past it."""
        unfinished = lanes.unfinished
        if unfinished:
            reach = min(unfinished)
        elif self._highest is not None:
            reach = self._highest + 1
        else:
            return
        # max: a redelivered old update must not move the acknowledgement back
        self._offset = max(self._offset or 0, reach)
        # Updates below the offset are acknowledged; one coming again is a redelivery.
        self._seen = {i for i in self._seen if i >= self._offset or i in unfinished}

    async def _next_batch(self, *, limit: int, wait_seconds: int) -> list[Update]:
        attempt = 0
        while not self._stopping.is_set():
            self._fetch = asyncio.ensure_future(
                self._bot(
                    GetRawUpdates(
                        offset=self._offset,
                        limit=1 if self._narrow else min(limit, 100),
                        timeout=wait_seconds,
                        allowed_updates=list(ALLOWED_UPDATES),
                    ),
                    request_timeout=self._poll_timeout + 10,
                )
            )
            try:
                raw = await self._fetch
                # The ones in hand come back at every poll: only new ones are decoded.
                updates = decode_fresh(self._bot, raw, self._seen)
            except asyncio.CancelledError:
                if self._stopping.is_set():
                    return []
                raise
            except ClientDecodeError as error:
                self._observer.poll_failed(error)
                if not self._narrow:
                    # Some update in the batch does not decode: take them one at a time.
                    log.warning("getUpdates answer did not decode; fetching one at a time")
                    self._narrow = True
                elif await self._skip_undecodable():
                    self._narrow = False
                    attempt = 0
                else:
                    await self._pause(self._backoff.delay(attempt))
                    attempt += 1
            except TelegramRetryAfter as error:
                self._observer.poll_failed(error)
                await self._pause(error.retry_after)
            except Exception as error:
                rejected = token_rejection(error, "getUpdates")
                if rejected is not None:
                    raise rejected from None
                self._observer.poll_failed(error)
                await self._wait_to_retry("getUpdates", error, attempt)
                attempt += 1
            else:
                self._last_poll_ok = asyncio.get_running_loop().time()
                self._observer.poll_succeeded(updates)
                if not raw:
                    self._narrow = False
                return updates
            finally:
                self._fetch = None
        return []

    async def _skip_undecodable(self) -> bool:
        """Acknowledge past the first pending update if it cannot be decoded; True if done."""
        try:
            update_id = await first_undecodable_update_id(
                self._bot, self._offset, list(ALLOWED_UPDATES)
            )
        except Exception as error:
            log.warning("pending update could not be read", extra={"error": type(error).__name__})
            return False
        if update_id is None:
            return False  # it decodes after all: nothing is skipped on a guess
        # Its id only: what it holds may be a person's words.
        log.error("undecodable update skipped", extra={"update_id": update_id})
        self._offset = max(self._offset or 0, update_id + 1)
        self._observer.update_skipped(update_id)
        return True

    async def _wait_to_retry(self, method: str, error: BaseException, attempt: int) -> None:
        delay = self._backoff.delay(attempt)
        log.warning(
            "telegram request failed; retrying",
            extra={
                "method": method,
                "error": type(error).__name__,
                "base_url": self._api_base,
                "seconds": round(delay, 1),
                "attempt": attempt + 1,
            },
        )
        await self._pause(delay)

    async def _handle(self, update: Update) -> bool:
        """Handle one update to the end; False if stopping cut a retry short."""
        attempt = 0
        while True:
            this = Attempt(number=attempt)
            try:
                await self._dispatcher.feed_update(self._bot, update, delivery_attempt=this)
            except Exception as error:
                rejected = token_rejection(error, "handler")
                if rejected is not None:
                    raise rejected from None  # the update stays pending for a good token
                if not will_retry(self._observer, update, error, this):
                    return True
                if self._stopping.is_set():
                    return False
                delay = (
                    error.retry_after
                    if isinstance(error, TelegramRetryAfter)
                    else self._backoff.delay(attempt)
                )
                await self._pause(delay)
                if self._stopping.is_set():
                    return False
                attempt += 1
            else:
                return True

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _call_until_stopped(self, method: str, call: Callable[[], Awaitable[object]]) -> None:
        attempt = 0
        while not self._stopping.is_set():
            try:
                await call()
                return
            except Exception as error:
                rejected = token_rejection(error, method)
                if rejected is not None:
                    raise rejected from None
                if not is_transient(error):
                    raise
                await self._wait_to_retry(method, error, attempt)
                attempt += 1

    async def _acknowledge(self) -> None:
        """Tell Telegram what was finished, so a clean restart gets no repeats."""
        if self._offset is None:
            return
        try:
            await self._bot.get_updates(offset=self._offset, limit=1, timeout=0)
        except Exception as error:  # the updates come again and are replayed harmlessly
            log.warning("final acknowledgement failed", extra={"error": type(error).__name__})
