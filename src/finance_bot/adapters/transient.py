"""Which failures are worth retrying, and how long (docs/adr/0008).

Decided by what can be retried, not by a list of names: PostgreSQL's own SQLSTATE classes
for what the server reports, asyncpg's client-side connection errors for what it cannot
(a backend that died mid-query reaches the client as InternalClientError, with no
SQLSTATE), and the Bot API's network, 5xx and 429 answers.

Two kinds of retryable failure:

- OUTAGE: the database or Telegram is out of reach. Nothing else could be served either,
  so holding the update costs nothing and dropping it would lose an entry: retried, with
  capped backoff, for as long as the bot runs.
- INTERRUPTION: this attempt lost a race or was cut short (serialization failure, deadlock,
  lock or statement timeout, a cancel). A retry almost always succeeds; one that keeps
  failing may be caused by the update itself, and holding it would stall everyone behind
  it, so it is retried a bounded number of times.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass

import aiohttp
import asyncpg
from aiogram.exceptions import (
    TelegramEntityTooLarge,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)


class Retry(enum.Enum):
    OUTAGE = "outage"
    INTERRUPTION = "interruption"


# SQLSTATE prefixes, longest first wins: a five-character code, or a class prefix.
_SQLSTATES: dict[str, Retry] = {
    "08": Retry.OUTAGE,  # connection exception
    "53": Retry.OUTAGE,  # insufficient resources: disk full, out of memory, too many connections
    "57P": Retry.OUTAGE,  # admin or crash shutdown, cannot connect now, idle session timeout
    "40": Retry.INTERRUPTION,  # transaction rollback: serialization failure, deadlock
    "57014": Retry.INTERRUPTION,  # query_canceled: statement timeout or a cancel request
    "55P03": Retry.INTERRUPTION,  # lock_not_available: lock timeout
    "25P03": Retry.INTERRUPTION,  # idle_in_transaction_session_timeout
    "25P04": Retry.INTERRUPTION,  # transaction_timeout
}

# Failures with no SQLSTATE of their own: the connection, not the statement, failed.
_CLIENT_OUTAGES: tuple[type[BaseException], ...] = (
    OSError,  # connection refused or reset, DNS; TimeoutError is one too
    asyncio.TimeoutError,
    aiohttp.ClientError,
    asyncpg.InterfaceError,  # "connection is closed", a pool being closed
    asyncpg.InternalClientError,  # the backend died mid-query; the protocol lost its footing
    TelegramNetworkError,
    TelegramServerError,
    TelegramRetryAfter,
)


def sqlstate_retry(sqlstate: str | None) -> Retry | None:
    """How a PostgreSQL error code is retried; None when it is permanent."""
    if not sqlstate:
        return None
    for length in (5, 3, 2):
        found = _SQLSTATES.get(sqlstate[:length])
        if found is not None:
            return found
    return None


def retry_kind(error: BaseException) -> Retry | None:
    """How a failure is retried; None when retrying cannot help (a bug, a refusal)."""
    if isinstance(error, asyncpg.PostgresError):
        return sqlstate_retry(getattr(error, "sqlstate", None))
    if isinstance(error, TelegramEntityTooLarge):  # a network error by class, not by nature
        return None
    if isinstance(error, _CLIENT_OUTAGES):
        return Retry.OUTAGE
    return None


def is_transient(error: BaseException) -> bool:
    return retry_kind(error) is not None


# Attempts at an update whose failures are interruptions; outages are retried without limit.
INTERRUPTION_ATTEMPTS = 8


@dataclass(frozen=True)
class Attempt:
    """Which attempt at an update this is, so the handler and the polling loop agree on
    whether a failure will be retried: a retried update gets no reply yet, a given-up one
    gets an honest one."""

    number: int = 0  # 0 for the first
    interruption_attempts: int = INTERRUPTION_ATTEMPTS

    def will_retry(self, error: BaseException) -> bool:
        kind = retry_kind(error)
        if kind is Retry.OUTAGE:
            return True
        return kind is Retry.INTERRUPTION and self.number + 1 < self.interruption_attempts
