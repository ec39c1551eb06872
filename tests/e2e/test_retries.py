"""What a person is told when a failure strikes before or after their entry committed.

A failure that may pass is retried, holding the update; the idempotency key turns a retry
after the COMMIT into a replay of the stored result. A failure that keeps recurring is
given up on after a bounded number of attempts, and the person is told what is certain:
"not recorded" only when nothing committed (docs/adr/0008).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from finance_bot.adapters.telegram import polling, signup
from finance_bot.adapters.telegram.i18n import Catalog
from finance_bot.adapters.telegram.routers import capture
from finance_bot.adapters.transient import INTERRUPTION_ATTEMPTS
from finance_bot.sandbox.fake_api import FakeTelegram
from finance_bot.sandbox.people import Person
from tests.e2e.conftest import PollingLog
from tests.e2e.processes import eventually
from tests.e2e.support import ALICE, RunningBot, running_bot, settings_for
from tests.e2e.test_delivery import fragment, transaction_count

pytestmark = pytest.mark.postgres

WAIT = 60.0
CATALOG = Catalog.load()
APOLOGY = CATALOG.raw("ru", "something_went_wrong")


@pytest.fixture
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries in milliseconds, so that a test can walk through all of them."""
    quick = polling.Backoff(0.01, 0.05)
    monkeypatch.setattr(polling, "Backoff", lambda: quick)


@pytest.fixture
async def quick_bot(
    fake: FakeTelegram, fresh_database_url: str, quick_backoff: None
) -> AsyncIterator[RunningBot]:
    async with running_bot(settings_for(fake, fresh_database_url)) as running:
        yield running


def view_failing(monkeypatch: pytest.MonkeyPatch, error: BaseException, times: int) -> list[int]:
    """Building a confirmation fails `times` times (after the entry committed). A fresh
    entry's confirmation reads nothing (Recorded.view); a replayed one reads the books."""
    real = capture.confirmation_reply
    calls: list[int] = []

    async def failing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return await real(*args, **kwargs)

    monkeypatch.setattr(capture, "confirmation_reply", failing)
    return calls


async def test_a_retry_after_the_commit_replays_and_confirms_from_the_stored_result(
    quick_bot: RunningBot,
    alice: Person,
    fresh_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    polling_log: PollingLog,
) -> None:
    # The connection dies while the confirmation is being built: the entry has committed.
    calls = view_failing(monkeypatch, asyncpg.InternalClientError("backend died"), times=2)

    reply = await alice.say("250 кафе")

    assert polling_log.count("update will be retried", "InternalClientError") == 2
    assert len(calls) == 3
    [text] = reply.texts  # one answer: the confirmation, rebuilt from the stored result
    assert text.startswith("#1 ")
    assert fragment(250, ALICE) in text
    assert "u:1" in reply.buttons().values()
    assert await transaction_count(fresh_database_url) == 1
    assert (await alice.say("100 такси")).text.startswith("#2 ")  # the replay took no number


async def test_a_confirmation_that_fails_for_good_still_says_the_entry_was_recorded(
    quick_bot: RunningBot,
    alice: Person,
    fresh_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    polling_log: PollingLog,
) -> None:
    view_failing(monkeypatch, RuntimeError("a bug in the confirmation"), times=1)

    reply = await alice.say("250 кафе")

    assert reply.texts == [CATALOG.translator("ru")("recorded_unconfirmed", number=1)]
    assert APOLOGY not in reply.text
    assert polling_log.count("update failed") == 1
    assert await transaction_count(fresh_database_url) == 1


async def test_an_undo_whose_edit_is_refused_still_says_it_was_undone(
    fake: FakeTelegram, quick_bot: RunningBot, alice: Person, fresh_database_url: str
) -> None:
    confirmation = await alice.say("250 кафе")
    fake.fail_next("editMessageText", status=400, description="Bad Request: text is too long")

    await alice.press(confirmation, CATALOG.raw("ru", "button_undo"))

    [answer] = fake.calls("answerCallbackQuery")
    assert answer.params["text"] == CATALOG.translator("ru")("voided", number=1, reversal=2)
    assert await transaction_count(fresh_database_url) == 2  # the entry and its reversal


@pytest.fixture
async def lock_timeout(fresh_database_url: str) -> None:
    """The bot's sessions give up waiting for a lock after 100 ms (SQLSTATE 55P03)."""
    connection = await asyncpg.connect(fresh_database_url)
    try:
        name = await connection.fetchval("SELECT current_database()")
        await connection.execute(f'ALTER DATABASE "{name}" SET lock_timeout = 100')
    finally:
        await connection.close()


async def hold_households(database_url: str) -> asyncpg.Connection:
    """A connection that locks every ledger write out until it rolls back."""
    connection = await asyncpg.connect(database_url)
    await connection.execute("BEGIN; LOCK TABLE households IN ACCESS EXCLUSIVE MODE")
    return connection


@pytest.mark.usefixtures("lock_timeout")
async def test_a_lock_timeout_is_retried_until_the_lock_is_released(
    quick_bot: RunningBot,
    fake: FakeTelegram,
    alice: Person,
    fresh_database_url: str,
    polling_log: PollingLog,
) -> None:
    await alice.say("10 кафе")  # she is a member now
    holder = await hold_households(fresh_database_url)
    try:
        update_id = fake.send_text(ALICE, "250 кафе", first_name="Алиса")
        await eventually(
            lambda: polling_log.count("update will be retried", "LockNotAvailableError") >= 2,
            timeout=WAIT,
        )
        assert fake.confirmed_offset <= update_id  # held, not dropped
    finally:
        await holder.close()
    await alice.processed(update_id, timeout=WAIT)

    [_, text] = [m["text"] for m in fake.messages_to(ALICE)]
    assert text.startswith("#2 ")
    assert fragment(250, ALICE) in text
    assert await transaction_count(fresh_database_url) == 2


@pytest.mark.usefixtures("lock_timeout")
async def test_a_lock_timeout_that_keeps_recurring_is_given_up_and_said_so(
    quick_bot: RunningBot,
    fake: FakeTelegram,
    alice: Person,
    fresh_database_url: str,
    polling_log: PollingLog,
) -> None:
    await alice.say("10 кафе")
    holder = await hold_households(fresh_database_url)
    try:
        reply = await alice.say("250 кафе")
    finally:
        await holder.close()

    assert reply.texts == [APOLOGY]  # true: nothing was recorded
    retried = polling_log.count("update will be retried", "LockNotAvailableError")
    assert retried == INTERRUPTION_ATTEMPTS - 1
    assert polling_log.count("update failed") == 1
    assert await transaction_count(fresh_database_url) == 1
    # The others are not held up behind it.
    assert (await alice.say("100 такси")).text.startswith("#2 ")


def joining_failing(monkeypatch: pytest.MonkeyPatch, error: BaseException, times: int) -> None:
    """Enrolling the member (on every update, before any handler) fails `times` times."""
    real = signup.join_whitelisted
    calls: list[int] = []

    async def failing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return await real(*args, **kwargs)

    monkeypatch.setattr(signup, "join_whitelisted", failing)


async def test_a_member_lookup_that_loses_its_connection_is_retried(
    quick_bot: RunningBot,
    alice: Person,
    fresh_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    polling_log: PollingLog,
) -> None:
    joining_failing(monkeypatch, asyncpg.ConnectionDoesNotExistError("closed"), times=2)

    reply = await alice.say("250 кафе")

    assert polling_log.count("update will be retried", "ConnectionDoesNotExistError") == 2
    assert reply.text.startswith("#1 ")
    assert await transaction_count(fresh_database_url) == 1


async def test_a_member_lookup_that_fails_for_good_is_answered(
    quick_bot: RunningBot,
    alice: Person,
    fresh_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    polling_log: PollingLog,
) -> None:
    joining_failing(monkeypatch, RuntimeError("a bug"), times=1)

    reply = await alice.say("250 кафе")

    assert reply.texts == [APOLOGY]  # true: nothing was recorded
    assert polling_log.count("update failed") == 1
    assert await transaction_count(fresh_database_url) == 0
    assert (await alice.say("250 кафе")).text.startswith("#1 ")
