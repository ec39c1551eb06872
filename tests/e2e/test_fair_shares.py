"""Fair shares through the running bot (docs/product.md §12): who owes whom, personal
spending, an uneven split, and the Settle up button pressed twice."""

from __future__ import annotations

import pytest

from finance_bot.sandbox.fake_api import FakeTelegram
from finance_bot.sandbox.people import Person
from tests.e2e.support import RunningBot, ledger_rows, transaction_count

pytestmark = pytest.mark.postgres
NBSP = "\u00a0"


async def test_who_owes_whom_and_settling_up_once(
    bot: RunningBot, alice: Person, bob: Person, fake: FakeTelegram
) -> None:
    assert "в расчёте" in (await alice.say("/settle")).text
    await alice.say("600 кафе")  # 1
    await bob.say("200 groceries")  # 2
    await alice.say("300 кафе #лично")  # 3: hers alone
    shown = await alice.say("/settle")
    # 800 in common, 400 each: Alice paid 200 more than her half.
    assert shown.text == f"Чтобы быть в расчёте:\nBob → Алиса: 200,00{NBSP}₴"
    assert set(shown.buttons()) == {"Рассчитаться"}
    await alice.press(shown, "Рассчитаться")  # the money would leave Bob's account
    refusal = fake.calls("answerCallbackQuery")[-1]
    assert "только тот, кто должен" in str(refusal.params.get("text"))
    assert await transaction_count(bot.database_url) == 3

    asked = await bob.say("/settle")
    assert asked.text == "To be even:\nBob → Алиса: ₴200.00"
    settled = await bob.press(asked, "Settle up")
    assert "Recorded #4: a transfer of ₴200.00, Bob → Алиса." in settled.texts[0]
    assert settled.buttons() == {}
    again = await bob.press(asked, "Settle up")  # the same button, pressed twice
    assert "Already recorded #4" in again.text
    assert await transaction_count(bot.database_url) == 4
    rows = await ledger_rows(
        bot.database_url,
        "SELECT a.owner_telegram_id AS owner, p.direction::text AS side, p.amount_minor"
        " FROM postings p JOIN accounts a ON a.id = p.account_id"
        " JOIN transactions t ON t.id = p.transaction_id WHERE t.number = 4 ORDER BY 2",
    )
    assert [(r["owner"], r["side"], r["amount_minor"]) for r in rows] == [
        (bob.telegram_id, "credit", 20000),
        (alice.telegram_id, "debit", 20000),
    ]
    assert "в расчёте" in (await alice.say("/settle")).text


async def test_personal_categories_and_an_uneven_split(
    bot: RunningBot, alice: Person, bob: Person
) -> None:
    await bob.say("/start")
    assert "личные" in (await alice.say("/personal одежда")).text
    await alice.say("1000 одежда")  # hers alone
    await alice.say("1000 продукты")
    assert "Bob → Алиса: 500,00" in (await alice.say("/settle")).text
    assert (await bob.say("/split 60")).text == (
        "Shares of common spending: yours 60 %, Алиса 40 %."
    )
    # 1000 in common: Alice's 400, she paid all of it.
    assert "Bob → Алиса: 600,00" in (await alice.say("/settle")).text
    assert "снова общие" in (await alice.say("/shared одежда")).text
    # 2000 in common: Alice's 800, she paid all of it.
    assert f"Bob → Алиса: 1{NBSP}200,00" in (await alice.say("/settle")).text
    assert "/split 60" in (await alice.say("/split много")).text
    assert "/settle" in (await alice.say("/help")).text
