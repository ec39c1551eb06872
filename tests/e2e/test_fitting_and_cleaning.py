"""Telegram's length limits on edits, dirty strings in profiles, and what /balance adds up."""

from __future__ import annotations

import pytest

from finance_bot.sandbox.fake_api import FakeTelegram
from finance_bot.sandbox.people import Person
from tests.e2e.support import ALICE, RunningBot, ledger_rows, spending_of

pytestmark = pytest.mark.postgres

LIMIT = 4096
LINE = "250 кафе "


async def test_undo_under_the_longest_confirmations_fits_the_edit(
    bot: RunningBot, fake: FakeTelegram, alice: Person
) -> None:
    probe = await alice.say(LINE + "x")
    overhead = len(probe.text) - 1  # the confirmation's length besides the note
    # A confirmation of exactly 4096 characters, and the longest line Telegram lets a
    # person send (its confirmation is split in two; the buttons are on the second part).
    for note_length in (LIMIT - overhead, LIMIT - len(LINE)):
        reply = await alice.say(LINE + "n" * note_length)
        assert max(len(text) for text in reply.texts) >= LIMIT - len(LINE)
        undone = await alice.press(reply, "Отменить")
        edited = undone.texts[0]
        assert len(edited) <= LIMIT
        assert edited.splitlines()[-1].startswith("Отменено: #")
        assert fake.calls("answerCallbackQuery")[-1].params["text"] == "Готово"
        assert all(call.status == 200 for call in fake.calls("editMessageText"))
    texts = [m["text"] for m in fake.messages_to(ALICE)]
    assert not any("не сделана" in text for text in texts)
    voided = await ledger_rows(
        bot.database_url,
        "SELECT number FROM transactions WHERE voided_by_transaction_id IS NOT NULL ORDER BY 1",
    )
    assert [row["number"] for row in voided] == [2, 4]


@pytest.mark.parametrize(
    ("first_name", "language_code"),
    [("Али\x00са", "r\x00u"), ("Али\ud800са", "\ud800"), ("\x00", "ru\ud800")],
)
async def test_nul_and_lone_surrogates_in_a_profile_do_not_silence_a_member(
    bot: RunningBot, fake: FakeTelegram, first_name: str, language_code: str
) -> None:
    member = Person(fake, ALICE, first_name, language_code=language_code)
    reply = await member.say("250 кафе")
    assert reply.text.startswith("#1 ")
    assert await spending_of(bot.database_url, "cafe") == 25000
    rows = await ledger_rows(
        bot.database_url, "SELECT display_name, telegram_language FROM members"
    )
    assert all("\x00" not in (row["display_name"] or "") for row in rows)


async def test_balance_total_is_the_sum_of_the_accounts_listed(
    bot: RunningBot, alice: Person, bob: Person
) -> None:
    await alice.say("+1000 зарплата")
    await alice.say("/addaccount копилка shared")
    await alice.say("300 карта > копилка")
    await bob.say("+500 salary")
    await bob.say("70 cafe")
    alices = await alice.say("/balance")
    assert alices.texts == [
        "Балансы:\n• карта: 700,00\u00a0₴\n• наличные: 0,00\u00a0₴\n"
        "• копилка (общий): 300,00\u00a0₴\n"
        "Итого по этим счетам: 1\u00a0000,00\u00a0₴"
    ]
    bobs = await bob.say("/balance")
    assert "430.00" in bobs.text
    assert "Total of these accounts: ₴730.00" in bobs.text
    assert "700" not in bobs.text  # Alice's card is hers: neither listed nor counted
