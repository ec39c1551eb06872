from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from finance_bot.adapters.telegram.fake_api import FakeTelegram
from tests.e2e.support import ALICE, BOB, Person, RunningBot, running_bot, settings_for


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
def alice(fake: FakeTelegram) -> Person:
    return Person(fake, ALICE, "Алиса")


@pytest.fixture
def bob(fake: FakeTelegram) -> Person:
    return Person(fake, BOB, "Bob", language_code="en")
