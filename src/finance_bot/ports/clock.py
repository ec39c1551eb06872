from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, time-zone aware."""
        ...


class IdSource(Protocol):
    def new_id(self) -> UUID:
        """A fresh, client-made transaction id (UUIDv7: time-ordered)."""
        ...
