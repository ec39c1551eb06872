"""Handlers called on their own, against the in-memory ledger: no Telegram, no database.

Each handler is a module-level function of (event, ctx), so a test builds the context the
member middleware would and reads what the handler said and what the books remember."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiogram.filters import CommandObject
from aiogram.methods import SendMessage
from aiogram.types import Chat, Message

from finance_bot.adapters.system import UuidV7Source
from finance_bot.adapters.telegram.context import ChatContext, ChatServices, Outcome, count_writes
from finance_bot.adapters.telegram.i18n import Catalog
from finance_bot.adapters.telegram.routers import corrections, digests, reports
from finance_bot.application.books import Books, Write
from finance_bot.domain.digests import DigestKind, DigestSchedule
from finance_bot.ports.export import ExportedPosting
from tests.support.household import Household, fake_world

CATALOG = Catalog.load()
NOW = datetime(2024, 5, 10, 12, tzinfo=UTC)


class _Bot:
    """Keeps what would have been sent."""

    id = 1

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_message(self, chat_id: int, text: str, **_: Any) -> Message:
        self.sent.append(text)
        return _message(chat_id, text)

    async def __call__(self, method: SendMessage, **_: Any) -> Message:
        """A method called as such (replies.py): only sendMessage is expected here."""
        assert isinstance(method, SendMessage), method
        assert isinstance(method.chat_id, int)
        return await self.send_message(method.chat_id, method.text)


class _Metrics:
    def __init__(self) -> None:
        self.written: list[str] = []

    def ledger_written(self, kind: str) -> None:
        self.written.append(kind)

    def ledger_voided(self) -> None:
        self.written.append("reversal")


class _Clock:
    def now(self) -> datetime:
        return NOW


def _message(chat_id: int, text: str) -> Message:
    return Message(message_id=1, date=NOW, chat=Chat(id=chat_id, type="private"), text=text)


class _NoExport:
    async def postings(
        self, household_id: int, *, start: date | None = None, end: date | None = None
    ) -> AsyncIterator[ExportedPosting]:
        return
        yield


async def _context(home: Household, bot: _Bot, language: str = "ru") -> ChatContext:
    async with home.factory() as uow:
        member = await uow.directory.member(home.alice)
    assert member is not None
    services = ChatServices(
        uow_factory=home.factory,
        ids=UuidV7Source(),
        catalog=CATALOG,
        timezone=ZoneInfo("Europe/Kyiv"),
        currency="UAH",
        fallback_language="ru",
        whitelist=frozenset({home.alice}),
        clock=_Clock(),
        metrics=_Metrics(),  # type: ignore[arg-type]
        export=_NoExport(),
    )
    books = Books(home.alice, "key-1", home.factory, services.ids, "UAH")
    return ChatContext(
        services=services,
        bot=bot,
        member=member,
        t=CATALOG.translator(language),  # type: ignore[arg-type]
        outcome=Outcome(),
        books=books,
        currency="UAH",
    )


async def test_undo_voids_the_last_entry_and_the_books_remember_the_reversal() -> None:
    home = await fake_world().household()
    await home.spend(120, "coffee")
    bot = _Bot()
    ctx = await _context(home, bot)

    await corrections.undo(_message(home.alice, "/undo"), ctx)

    assert bot.sent == [ctx.t("voided", number=1, reversal=2)]
    assert ctx.books.writes == [Write("reversal", replayed=False)]
    assert ctx.outcome.value == "handled"
    assert ctx.outcome.committed == bot.sent[0]  # what a failed reply would still say


async def test_an_unreadable_del_is_a_parse_error_and_writes_nothing() -> None:
    home = await fake_world().household()
    await home.spend(120, "coffee")
    bot = _Bot()
    ctx = await _context(home, bot)
    command = CommandObject(prefix="/", command="del", args="first")

    await corrections.delete(_message(home.alice, "/del first"), command, ctx)

    assert bot.sent == [ctx.t("del_usage")]
    assert ctx.books.writes == []
    assert ctx.outcome.value == "parse_error"


async def test_last_lists_the_household_entries() -> None:
    home = await fake_world().household()
    await home.spend(120, "coffee")
    await home.spend(30, "taxi", who=home.bob)
    bot = _Bot()
    ctx = await _context(home, bot)
    command = CommandObject(prefix="/", command="last", args="me")

    await reports.last(_message(home.alice, "/last me"), command, ctx)

    [text] = bot.sent
    assert "#1" in text
    assert "#2" not in text  # Bob's entry: "me" asked for Alice's only


def test_writes_are_counted_by_kind_and_a_replay_marks_the_update_a_duplicate() -> None:
    metrics, outcome = _Metrics(), Outcome()
    count_writes([Write("expense", False), Write("reversal", False)], outcome, metrics)  # type: ignore[arg-type]
    assert (metrics.written, outcome.value) == (["expense", "reversal"], "handled")

    count_writes([Write("expense", True)], outcome, metrics)  # type: ignore[arg-type]
    assert (metrics.written, outcome.value) == (["expense", "reversal"], "duplicate")


async def _digest(ctx: ChatContext, args: str | None) -> None:
    command = CommandObject(prefix="/", command="digest", args=args)
    await digests.digest(_message(ctx.member.telegram_id, f"/digest {args or ''}"), command, ctx)


@pytest.mark.parametrize("language", ["ru", "en"])
async def test_a_digest_request_it_cannot_read_is_answered_and_changes_nothing(
    language: str,
) -> None:
    home = await fake_world().household()
    bot = _Bot()
    ctx = await _context(home, bot, language)
    await _digest(ctx, "weekly")
    await _digest(ctx, "hourly")
    await _digest(ctx, "daily 25:00")
    await _digest(ctx, "off please")

    assert bot.sent[1:] == [
        ctx.t("digest_usage"),
        ctx.t("digest_bad_time", time="25:00"),
        ctx.t("digest_usage"),
    ]
    assert ctx.outcome.value == "parse_error"
    assert await ctx.books.digest_setting() == DigestSchedule.of(DigestKind.WEEKLY)


async def test_a_digest_is_set_shown_and_switched_off() -> None:
    home = await fake_world().household()
    bot = _Bot()
    ctx = await _context(home, bot, "en")
    await _digest(ctx, None)
    await _digest(ctx, "daily 07:30")
    await _digest(ctx, "")
    await _digest(ctx, "off")
    await _digest(ctx, "off")

    daily = "every day at 07:30"
    assert bot.sent == [
        ctx.t("digest_none"),
        ctx.t("digest_set", schedule=daily, timezone="Europe/Kyiv"),
        ctx.t("digest_current", schedule=daily, timezone="Europe/Kyiv"),
        ctx.t("digest_off"),
        ctx.t("digest_was_off"),
    ]
    assert ctx.outcome.value == "handled"
    assert await ctx.books.digest_setting() is None
