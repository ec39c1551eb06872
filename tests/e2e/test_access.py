"""Who is served, what is ignored, and Telegram's limits, through the running bot."""

from __future__ import annotations

import pytest

from finance_bot.sandbox.fake_api import FakeTelegram
from finance_bot.sandbox.people import Person
from tests.e2e.support import (
    STRANGER,
    RunningBot,
    ledger_rows,
    spending_of,
    transaction_count,
)

pytestmark = pytest.mark.postgres


async def test_stranger_gets_their_id_and_nothing_is_written(
    bot: RunningBot, fake: FakeTelegram
) -> None:
    stranger = Person(fake, STRANGER, "Eve", language_code="en")
    reply = await stranger.say("250 cafe")
    assert reply.texts == [f"Access denied. Your id is {STRANGER}"]
    assert await transaction_count(bot.database_url) == 0
    members = await ledger_rows(bot.database_url, "SELECT count(*) AS n FROM members")
    assert members[0]["n"] == 0


async def test_group_chats_are_ignored(bot: RunningBot, fake: FakeTelegram, alice: Person) -> None:
    update_id = fake.send_text(alice.telegram_id, "250 кафе", chat_type="group")
    await alice.processed(update_id)
    assert fake.calls("sendMessage") == []
    assert await transaction_count(bot.database_url) == 0


async def test_edited_message_changes_nothing(
    bot: RunningBot, fake: FakeTelegram, alice: Person
) -> None:
    await alice.say("250 кафе")
    sent_before = len(fake.calls("sendMessage"))
    update_id = fake.edit_text(alice.telegram_id, 1, "999 кафе")
    await alice.processed(update_id)
    assert len(fake.calls("sendMessage")) == sent_before
    assert await spending_of(bot.database_url, "cafe") == 25000
    assert await transaction_count(bot.database_url) == 1


async def test_photos_stickers_and_voice_get_a_hint(
    bot: RunningBot, fake: FakeTelegram, alice: Person
) -> None:
    for send in (fake.send_photo, fake.send_sticker, fake.send_voice):
        update_id = send(alice.telegram_id)
        await alice.processed(update_id)
    texts = [m["text"] for m in fake.messages_to(alice.telegram_id)]
    assert len(texts) == 3
    assert all("только текст" in text for text in texts)
    assert await transaction_count(bot.database_url) == 0


async def test_long_reply_is_split_within_telegrams_limit(bot: RunningBot, alice: Person) -> None:
    for number in range(1, 31):
        aliases = ", ".join(f"{word * 6}{number}" for word in ("слово", "фраза", "термин"))
        await alice.say(f"/addcategory категория{number:02d}, {aliases}")
    reply = await alice.say("/categories")
    assert len(reply.texts) >= 2
    assert all(0 < len(text) <= 4096 for text in reply.texts)
    assert "категория30" in reply.text


async def test_every_button_fits_and_every_callback_is_answered(
    bot: RunningBot, fake: FakeTelegram, alice: Person
) -> None:
    offered = await alice.say("250 шаурма")  # an unknown word: categories at once
    assert len(offered.buttons()) > 10
    reply = await alice.say("250 кафе")
    menu = await alice.press(reply, "Категория")
    back = await alice.press(menu, "Назад")
    await alice.press(back, "Отменить")
    stale = await alice.press(back, "Отменить")  # an old button pressed again
    assert "уже отменена" not in stale.texts[0]  # the answer is a pop-up, not an edit
    presses = fake.calls("answerCallbackQuery")
    assert len(presses) == 4
    for call in fake.calls("sendMessage") + fake.calls("editMessageReplyMarkup"):
        markup = call.params.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []):
            for button in row:
                assert len(button["callback_data"].encode()) <= 64


async def test_nul_characters_are_dropped_not_fatal(bot: RunningBot, alice: Person) -> None:
    reply = await alice.say("250 ка\x00фе ужин\x00")
    assert reply.text.startswith("#1 −250,00\u00a0₴ · кафе")
    assert await spending_of(bot.database_url, "cafe") == 25000
