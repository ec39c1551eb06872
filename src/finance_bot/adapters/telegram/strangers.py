"""Answering people off the whitelist without letting them cost the household anything.

A stranger is told their id once per window, so the operator can add them; after that
they are ignored. A flood of many distinct ids is held by a global cap on denial replies
per minute, so strangers can never spend the bot's own sending budget. Memory is bounded:
the oldest ids are forgotten first (they may then be answered once more, still under the
global cap).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

WINDOW_SECONDS: Final = 6 * 3600
MAX_REMEMBERED_IDS: Final = 10_000
REPLIES_PER_MINUTE: Final = 20


@dataclass(frozen=True, slots=True)
class Verdict:
    first_in_window: bool  # log this id: the one line it gets in the window
    reply: bool  # send the denial now


@dataclass(slots=True)
class _Seen:
    since: float
    answered: bool


class StrangerGate:
    def __init__(
        self,
        *,
        window_seconds: float = WINDOW_SECONDS,
        max_ids: int = MAX_REMEMBERED_IDS,
        replies_per_minute: int = REPLIES_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._window = window_seconds
        self._max_ids = max_ids
        self._replies_per_minute = replies_per_minute
        self._clock = clock
        self._seen: OrderedDict[int, _Seen] = OrderedDict()  # oldest first
        self._replies: deque[float] = deque()  # when the replies of the last minute went out

    def admit(self, telegram_id: int, *, can_reply: bool) -> Verdict:
        """What to do with one attempt; a reply, once granted, counts as given."""
        now = self._clock()
        self._forget_before(now - self._window)
        seen = self._seen.get(telegram_id)
        first = seen is None
        if seen is None:
            seen = self._seen[telegram_id] = _Seen(since=now, answered=False)
            while len(self._seen) > self._max_ids:
                self._seen.popitem(last=False)
        reply = can_reply and not seen.answered and self._reply_budget_left(now)
        if reply:
            seen.answered = True
            self._replies.append(now)
        return Verdict(first_in_window=first, reply=reply)

    def unanswered(self, telegram_id: int) -> None:
        """The reply did not go out (Telegram said wait): a later attempt may answer."""
        seen = self._seen.get(telegram_id)
        if seen is not None:
            seen.answered = False

    def __len__(self) -> int:
        return len(self._seen)

    def _forget_before(self, moment: float) -> None:
        while self._seen:
            oldest = next(iter(self._seen.values()))
            if oldest.since > moment:
                break
            self._seen.popitem(last=False)

    def _reply_budget_left(self, now: float) -> bool:
        while self._replies and self._replies[0] <= now - 60.0:
            self._replies.popleft()
        return len(self._replies) < self._replies_per_minute
