"""The system clock and the UUIDv7 id source."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime
from uuid import UUID


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class UuidV7Source:
    """UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits.

    Ids made by one process are strictly increasing, even within one millisecond: the
    12-bit `rand_a` field counts up (the RFC's "method 1"), so index order is creation order.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._counter = 0

    def new_id(self) -> UUID:
        with self._lock:
            now_ms = time.time_ns() // 1_000_000
            if now_ms > self._last_ms:
                self._last_ms = now_ms
                self._counter = int.from_bytes(os.urandom(2)) & 0x07FF  # leave room to count
            else:
                self._counter += 1
                if self._counter > 0x0FFF:  # counter spent: borrow the next millisecond
                    self._last_ms += 1
                    self._counter = 0
            timestamp_ms, counter = self._last_ms, self._counter
        value = (timestamp_ms & 0xFFFF_FFFF_FFFF) << 80
        value |= 0x7 << 76  # version 7
        value |= counter << 64
        value |= 0b10 << 62  # RFC 9562 variant
        value |= int.from_bytes(os.urandom(8)) & 0x3FFF_FFFF_FFFF_FFFF
        return UUID(int=value)
