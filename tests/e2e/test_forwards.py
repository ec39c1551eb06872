"""Forwarded messages write nothing without the member's Record press (issue 7 §6)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from finance_bot.adapters.telegram.keyboards import RecordForwardButton
from finance_bot.sandbox.fake_api import FakeTelegram
from finance_bot.sandbox.people import Person, Reply
from tests.e2e.support import ALICE, BOB, RunningBot, ledger_rows, transaction_count

pytestmark = pytest.mark.postgres

KYIV = ZoneInfo("Europe/Kyiv")


async def forward(fake: FakeTelegram, person: Person, text: str, **origin: object) -> Reply:
    before = len(fake.messages_to(person.telegram_id))
    update_id = fake.forward_text(
        person.telegram_id,
        text,
        language_code=person.language_code,
        **origin,  # type: ignore[arg-type]
    )
    await person.processed(update_id)
    messages = fake.messages_to(person.telegram_id)[before:]
    return Reply([m["text"] for m in messages], messages)


async def test_a_forwarded_undo_voids_nothing(
    bot: RunningBot, fake: FakeTelegram, alice: Person
) -> None:
    await alice.say("250 кафе")
    reply = await forward(fake, alice, "/undo")
    assert reply.texts == [
        "Это пересланная команда — такие я не выполняю, ничего не изменено. Напишите команду сами."
    ]
    for command in ("/del 1", "/del1", "/addaccount чужой", "/lang en"):
        await forward(fake, alice, command)
    voided = await ledger_rows(
        bot.database_url,
        "SELECT count(*) AS n FROM transactions WHERE voids_transaction_id IS NOT NULL",
    )
    assert voided[0]["n"] == 0
    assert await transaction_count(bot.database_url) == 1
    names = await ledger_rows(bot.database_url, "SELECT name FROM accounts WHERE name = 'чужой'")
    assert names == []
    language = await ledger_rows(bot.database_url, "SELECT language FROM members")
    assert [row["language"] for row in language] != ["en"]


async def test_a_forwarded_line_is_recorded_once_only_when_record_is_pressed(
    bot: RunningBot, fake: FakeTelegram, alice: Person
) -> None:
    preview = await forward(fake, alice, "250 кафе ужин", origin_user_id=BOB)
    assert preview.texts == [
        "Это пересланное сообщение. Записать его от вашего имени?\n"
        "−250,00\u00a0₴ · кафе · карта\n📝 ужин"
    ]
    assert set(preview.buttons()) == {"Записать"}
    assert preview.messages[0]["reply_to_message"]["text"] == "250 кафе ужин"
    assert await transaction_count(bot.database_url) == 0

    recorded = await alice.press(preview, "Записать")
    assert recorded.texts[0] == "#1 −250,00\u00a0₴ · кафе · карта\n📝 ужин"
    assert set(recorded.buttons()) == {"Отменить", "Категория"}
    again = fake.press_button(
        ALICE, preview.messages[0]["message_id"], RecordForwardButton().pack()
    )
    await alice.processed(again)
    assert fake.calls("answerCallbackQuery")[-1].params["text"] == "Уже записано как #1."

    rows = await ledger_rows(
        bot.database_url, "SELECT number, author_telegram_id FROM transactions"
    )
    assert [(row["number"], row["author_telegram_id"]) for row in rows] == [(1, ALICE)]
    undone = await alice.say("/undo")  # the recorded line is hers to undo
    assert undone.text.startswith("Отменено: #1")


async def test_a_forwarded_line_is_booked_on_the_day_it_was_written(
    bot: RunningBot, fake: FakeTelegram, bob: Person
) -> None:
    written = datetime.now(KYIV) - timedelta(days=3)
    preview = await forward(fake, bob, "вчера 90 coffee", origin_date=written)
    expected = (written - timedelta(days=1)).date()
    assert f"📅 {expected.isoformat()}" in preview.text
    await bob.press(preview, "Record")
    rows = await ledger_rows(
        bot.database_url, "SELECT booked_on, author_telegram_id FROM transactions"
    )
    assert [(row["booked_on"], row["author_telegram_id"]) for row in rows] == [(expected, BOB)]


async def test_a_forwarded_line_that_is_no_entry_gets_the_hint_and_no_button(
    bot: RunningBot, fake: FakeTelegram, alice: Person
) -> None:
    reply = await forward(fake, alice, "привет, как дела?")
    assert "250 кафе" in reply.text
    assert reply.buttons() == {}
    assert await transaction_count(bot.database_url) == 0


async def test_the_longest_forwarded_line_can_still_be_recorded(
    bot: RunningBot, fake: FakeTelegram, alice: Person
) -> None:
    line = "250 кафе " + "n" * (4096 - len("250 кафе "))
    preview = await forward(fake, alice, line)
    assert len(preview.texts) == 2  # split: the buttons and the reply are on the last part
    assert all(len(text) <= 4096 for text in preview.texts)
    recorded = await alice.press(preview, "Записать")
    assert recorded.texts[0].startswith("#1 −250,00")
    assert len(recorded.texts[0]) <= 4096
    assert await transaction_count(bot.database_url) == 1
