"""What is retried, and how long: the table of docs/adr/0008."""

from __future__ import annotations

import aiohttp
import asyncpg
import pytest
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import SendMessage

from finance_bot.adapters.transient import (
    INTERRUPTION_ATTEMPTS,
    Attempt,
    Retry,
    is_transient,
    retry_kind,
    sqlstate_retry,
)
from finance_bot.domain.errors import AlreadyVoided

_METHOD = SendMessage(chat_id=1, text="x")


def postgres(sqlstate: str) -> asyncpg.PostgresError:
    """The exception asyncpg raises for a server error with this SQLSTATE."""
    error: asyncpg.PostgresError = asyncpg.PostgresError.new({"C": sqlstate, "M": "message"})
    return error


@pytest.mark.parametrize(
    ("sqlstate", "expected"),
    [
        ("08000", Retry.OUTAGE),  # connection_exception
        ("08003", Retry.OUTAGE),  # connection_does_not_exist
        ("08006", Retry.OUTAGE),  # connection_failure
        ("08001", Retry.OUTAGE),  # sqlclient_unable_to_establish_sqlconnection
        ("57P01", Retry.OUTAGE),  # admin_shutdown: pg_terminate_backend
        ("57P02", Retry.OUTAGE),  # crash_shutdown
        ("57P03", Retry.OUTAGE),  # cannot_connect_now: starting up
        ("57P05", Retry.OUTAGE),  # idle_session_timeout
        ("53000", Retry.OUTAGE),  # insufficient_resources
        ("53100", Retry.OUTAGE),  # disk_full
        ("53200", Retry.OUTAGE),  # out_of_memory
        ("53300", Retry.OUTAGE),  # too_many_connections
        ("40001", Retry.INTERRUPTION),  # serialization_failure
        ("40P01", Retry.INTERRUPTION),  # deadlock_detected
        ("40003", Retry.INTERRUPTION),  # statement_completion_unknown
        ("57014", Retry.INTERRUPTION),  # query_canceled: statement timeout, pg_cancel_backend
        ("55P03", Retry.INTERRUPTION),  # lock_not_available: lock timeout
        ("25P03", Retry.INTERRUPTION),  # idle_in_transaction_session_timeout
        ("23505", None),  # unique_violation
        ("23514", None),  # check_violation: the ledger's own rules
        ("P0001", None),  # raise_exception: a trigger refused
        ("42501", None),  # insufficient_privilege
        ("42P01", None),  # undefined_table
        ("22003", None),  # numeric_value_out_of_range
        ("57000", None),  # operator_intervention, but no known retryable kind
        ("55000", None),  # object_not_in_prerequisite_state
        ("XX000", None),  # internal_error
        ("", None),
        (None, None),
    ],
)
def test_sqlstates_are_retried_by_class(sqlstate: str | None, expected: Retry | None) -> None:
    assert sqlstate_retry(sqlstate) is expected
    if sqlstate:
        assert retry_kind(postgres(sqlstate)) is expected


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        # A backend that dies mid-query: asyncpg's protocol raises these, with no SQLSTATE.
        (asyncpg.InternalClientError("unexpected"), Retry.OUTAGE),
        (asyncpg.exceptions.ProtocolError("lost"), Retry.OUTAGE),
        (asyncpg.InterfaceError("connection is closed"), Retry.OUTAGE),
        (asyncpg.ConnectionDoesNotExistError("closed mid-operation"), Retry.OUTAGE),
        (asyncpg.exceptions.QueryCanceledError("canceling statement"), Retry.INTERRUPTION),
        (asyncpg.exceptions.SerializationError("could not serialize"), Retry.INTERRUPTION),
        (asyncpg.exceptions.DeadlockDetectedError("deadlock"), Retry.INTERRUPTION),
        (asyncpg.exceptions.LockNotAvailableError("lock timeout"), Retry.INTERRUPTION),
        (asyncpg.exceptions.AdminShutdownError("terminating"), Retry.OUTAGE),
        (asyncpg.exceptions.UniqueViolationError("duplicate"), None),
        (ConnectionResetError(), Retry.OUTAGE),
        (ConnectionRefusedError(), Retry.OUTAGE),
        (TimeoutError(), Retry.OUTAGE),
        (aiohttp.ServerDisconnectedError(), Retry.OUTAGE),
        (TelegramNetworkError(_METHOD, "down"), Retry.OUTAGE),
        (TelegramServerError(_METHOD, "502"), Retry.OUTAGE),
        (TelegramRetryAfter(_METHOD, "flood", retry_after=3), Retry.OUTAGE),
        (TelegramEntityTooLarge(_METHOD, "too large"), None),
        (TelegramBadRequest(_METHOD, "message is too long"), None),
        (TelegramForbiddenError(_METHOD, "blocked"), None),
        (TelegramUnauthorizedError(_METHOD, "Unauthorized"), None),
        (ClientDecodeError("bad", ValueError(), {}), None),
        (AlreadyVoided("#1"), None),
        (AssertionError(), None),
        (KeyError("x"), None),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value),
)
def test_client_side_failures_are_classified(error: BaseException, expected: Retry | None) -> None:
    assert retry_kind(error) is expected
    assert is_transient(error) is (expected is not None)


def test_outages_are_retried_on_every_attempt() -> None:
    outage = asyncpg.InternalClientError("backend died")
    assert all(Attempt(number=n).will_retry(outage) for n in range(1000))


def test_interruptions_are_retried_a_bounded_number_of_times() -> None:
    cancelled = postgres("57014")
    retried = [n for n in range(50) if Attempt(number=n).will_retry(cancelled)]
    assert retried == list(range(INTERRUPTION_ATTEMPTS - 1))


def test_permanent_failures_are_never_retried() -> None:
    assert not Attempt(number=0).will_retry(postgres("23514"))
    assert not Attempt(number=0).will_retry(RuntimeError())
