from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from finance_bot.adapters.telegram import polling
from finance_bot.sandbox.fake_api import FakeTelegram
from finance_bot.sandbox.people import Person
from tests.e2e.processes import BotProcess, DedicatedPostgres
from tests.e2e.support import ALICE, BOB, RunningBot, running_bot, settings_for


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def bot(fake: FakeTelegram, fresh_database_url: str) -> AsyncIterator[RunningBot]:
    async with running_bot(settings_for(fake, fresh_database_url)) as running:
        yield running


@pytest.fixture
async def dedicated_postgres() -> AsyncIterator[DedicatedPostgres]:
    """A PostgreSQL of the test's own, which it may stop and start (a database outage)."""
    server = DedicatedPostgres(Path(tempfile.mkdtemp(prefix="fb-out-")))
    try:
        await server.create()
        yield server
    finally:
        await asyncio.to_thread(server.destroy)


@pytest.fixture
def alice(fake: FakeTelegram) -> Person:
    return Person(fake, ALICE, "Алиса")


@pytest.fixture
def bob(fake: FakeTelegram) -> Person:
    return Person(fake, BOB, "Bob", language_code="en")


@pytest.fixture
def bot_process(fake: FakeTelegram, fresh_database_url: str) -> Iterator[BotProcess]:
    """`finance-bot run` in a process of its own, on this test's database; not started."""
    with tempfile.TemporaryDirectory(prefix="fb-bot-") as data_dir:
        process = BotProcess(
            api_base=fake.base_url, database_url=fresh_database_url, data_dir=Path(data_dir)
        )
        try:
            yield process
        finally:
            process.ensure_dead()


class PollingLog(logging.Handler):
    """What the polling loop of a bot running in this process logged."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def count(self, message: str, error: str | None = None) -> int:
        """Records with this message (and this error class name, if given)."""
        return sum(
            1
            for record in self.records
            if record.msg == message and error in (None, getattr(record, "error", ""))
        )


@pytest.fixture
def polling_log() -> Iterator[PollingLog]:
    handler = PollingLog()
    logger = logging.getLogger(polling.__name__)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
