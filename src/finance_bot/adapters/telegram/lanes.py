"""Updates of different chats at once, each chat's in order (docs/adr/0020).

The polling loop hands every update it fetched to its chat's lane: a queue worked through
one update at a time, oldest first. Lanes of different chats run side by side, at most
`limit` at once (the rest wait their turn, first come first served), so one slow chat —
a reply held up by Telegram, a row lock in the database — no longer holds every other.

What the loop may acknowledge is what `unfinished` says: Telegram's offset must never pass
an update still queued or in hand, however many later ones are done.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable

from aiogram.types import Update

from finance_bot.adapters.telegram.chat_order import chat_key

# Chats handled at once. Each holds at most one database connection at a time, and the
# pool has ten (adapters/postgres/unit_of_work.create_pool): eight leaves room for the
# watchers and the scheduler.
CHATS_AT_ONCE = 8

Handle = Callable[[Update], Awaitable[bool]]  # False: stopping cut it short, it stays pending


class ChatLanes:
    def __init__(
        self, handle: Handle, *, stopping: asyncio.Event, limit: int = CHATS_AT_ONCE
    ) -> None:
        self._handle = handle
        self._stopping = stopping  # set: the updates in hand finish, no new one starts
        self._slots = asyncio.Semaphore(limit)
        self._queues: dict[str, deque[Update]] = {}
        self._workers: set[asyncio.Task[None]] = set()
        self._unfinished: set[int] = set()
        self._progress = asyncio.Event()
        self._closing = False
        self.error: Exception | None = None  # what a lane raised; it stopped the lanes

    @property
    def unfinished(self) -> set[int]:
        """Ids of the updates queued or in hand."""
        return set(self._unfinished)

    def __len__(self) -> int:
        return len(self._unfinished)

    def add(self, update: Update) -> None:
        """Queue the update behind its chat's earlier ones."""
        self._unfinished.add(update.update_id)
        key = chat_key(update)
        queue = self._queues.get(key)
        if queue is not None:
            queue.append(update)  # its lane is running and will come to it
            return
        self._queues[key] = deque([update])
        worker = asyncio.create_task(self._lane(key), name=f"lane-{update.update_id}")
        self._workers.add(worker)
        worker.add_done_callback(self._workers.discard)

    async def progress(self, timeout: float) -> None:  # noqa: ASYNC109
        """Wait until some update is finished (or timeout seconds)."""
        event = self._progress
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    async def close(self) -> None:
        """Start nothing new; wait for the updates in hand to finish (or be cut short)."""
        self._closing = True
        while self._workers:
            await asyncio.gather(*self._workers, return_exceptions=True)

    def cancel(self) -> None:
        """Cut every lane short; what they held stays unfinished, to be delivered again."""
        self._closing = True
        for worker in self._workers:
            worker.cancel()

    async def _lane(self, key: str) -> None:
        queue = self._queues[key]
        try:
            async with self._slots:
                while queue and not self._closing and not self._stopping.is_set():
                    update = queue[0]
                    if not await self._handle(update):
                        return  # stopping: this one and the rest stay pending
                    queue.popleft()
                    self._unfinished.discard(update.update_id)
                    self._advanced()
        except Exception as error:  # TokenRejected: no retry can help, every lane stops
            if self.error is None:
                self.error = error
            self._closing = True
            self._advanced()
            raise
        finally:
            if self._queues.get(key) is queue:
                del self._queues[key]

    def _advanced(self) -> None:
        self._progress.set()
        self._progress = asyncio.Event()
