"""A month in three currencies through the running bot (docs/product.md §8): hryvnia,
dollar and euro spending, an exchange, an income in dollars and the undo of a converted
entry — then /month, /balance and /budgets give the figures worked out by hand below.

Every line is booked today, so the month is this one whatever the date.

    rates: 1 $ = 41,50 ₴, 1 € = 45,00 ₴ (set by hand; the exchange's 42,00 the same day
    ranks below a rate set by hand)

    #1 +1000 $ salary into «доллары» (Alice's own dollar account)   41 500,00 ₴ income
    #2 250 ₴ cafe from the card                                         250,00 ₴
    #3 20 $ cafe from «доллары»                        20 $ ->          830,00 ₴
    #4 15 € taxi from «wise» (Alice's euro account)    15 € ->          675,00 ₴
    #5 100 $ «доллары» > card 4 200 ₴ (an exchange: neither spending nor income)
    #6 10 $ coffee from «доллары», then /undo (#7)      (left out)
    #8 5 € coffee from the card, named, converted       5 € ->          225,00 ₴
    #9 Bob: 12 € groceries from his card, converted     12 € ->         540,00 ₴

    cafe 1 080,00 (incl. 20 $) · taxi 675,00 (incl. 15 €) · groceries 540,00 (incl. 12 €)
    · coffee 225,00 (incl. 5 €); spending 2 520,00; income 41 500,00; net 38 980,00.
    Alice's accounts: card −250 + 4 200 − 225 = 3 725,00 ₴; cash 0; доллары
    1 000 − 20 − 100 = 880,00 $; wise −15,00 €. Her /balance total at the latest rates:
    3 725 + 880 × 41,50 − 15 × 45 = 39 570,00 ₴ (≈).
    Budgets: cafe 2 000 (1 080 spent, 920 left), total 5 000 (2 520 spent, 2 480 left).
"""

from __future__ import annotations

import re

import pytest

from finance_bot.sandbox.people import Person
from tests.e2e.support import RunningBot, ledger_rows, transaction_count

pytestmark = pytest.mark.postgres
NBSP = "\u00a0"


def money(text: str) -> str:
    """'1 080,00 ₴' as the bot writes it: no-break spaces inside the number and before the sign."""
    return text.replace(" ", NBSP)


def line_of(text: str, start: str) -> str:
    found = [line for line in text.splitlines() if start in line]
    assert found, f"no line with {start!r} in:\n{text}"
    return found[0]


async def _chat_the_month(alice: Person, bob: Person) -> None:
    for command in ("/addaccount доллары USD", "/addaccount wise EUR"):
        assert "добавлен" in (await alice.say(command)).text
    await alice.say("/rate USD 41.50")
    await alice.say("/rate EUR 45")

    assert (await alice.say("+1000$ зарплата")).text.startswith("#1 +1")
    await alice.say("250 кафе")
    cafe = await alice.say("20$ кафе")
    assert cafe.text.startswith(f"#3 −20,00{NBSP}$ → 830,00{NBSP}₴")
    assert "доллары" in cafe.text
    taxi = await alice.say("15€ такси")
    assert taxi.text.startswith(f"#4 −15,00{NBSP}€ → 675,00{NBSP}₴")
    assert "wise" in taxi.text
    exchange = await alice.say("100 доллары > карта 4200")
    assert exchange.text.startswith(f"#5 100,00{NBSP}$ → {money('4 200,00 ₴')}")
    coffee = await alice.say("10$ кофе")
    assert coffee.text.startswith(f"#6 −10,00{NBSP}$ → 415,00{NBSP}₴")
    assert "#6" in (await alice.say("/undo")).text
    named_card = await alice.say("5€ кофе карта")
    assert named_card.text.startswith(f"#8 −5,00{NBSP}€ → 225,00{NBSP}₴")
    await bob.say("/lang ru")
    groceries = await bob.say("12 евро продукты")
    assert groceries.text.startswith(f"#9 −12,00{NBSP}€ → 540,00{NBSP}₴")


async def test_a_month_in_three_currencies(bot: RunningBot, alice: Person, bob: Person) -> None:
    await _chat_the_month(alice, bob)

    month = (await alice.say("/month")).text
    assert money("2 520,00 ₴") in line_of(month, "Расходы")
    assert "20,00" in line_of(month, "кафе")
    assert money("1 080,00 ₴") in line_of(month, "кафе")
    assert re.search(r"в т\. ч\. 20,00.\$", line_of(month, "кафе"))
    assert money("675,00 ₴") in line_of(month, "такси")
    assert re.search(r"в т\. ч\. 15,00.€", line_of(month, "такси"))
    assert money("540,00 ₴") in line_of(month, "продукты")
    assert money("225,00 ₴") in line_of(month, "кофе")
    assert re.search(r"в т\. ч\. 5,00.€", line_of(month, "кофе"))
    assert money("41 500,00 ₴") in line_of(month, "Доходы")
    assert money("1 000,00 $") in line_of(month, "Доходы")
    assert "32,00" in line_of(month, "Расходы")  # the euros of all spending, as typed
    assert money("38 980,00 ₴") in month

    balance = (await alice.say("/balance")).text
    assert money("3 725,00 ₴") in line_of(balance, "карта")
    assert money("880,00 $") in line_of(balance, "доллары")
    assert money("−15,00 €") in line_of(balance, "wise")
    assert f"≈ {money('39 570,00 ₴')}" in balance

    await alice.say("/budget кафе 2000")
    await alice.say("/budget total 5000")
    budgets = (await alice.say("/budgets")).text
    assert money("1 080,00 ₴") in line_of(budgets, "кафе")
    assert money("2 000,00 ₴") in line_of(budgets, "кафе")
    assert money("2 520,00 ₴") in budgets
    assert money("5 000,00 ₴") in budgets

    await _the_ledger_agrees(bot.database_url)


async def _the_ledger_agrees(database_url: str) -> None:
    """Every conversion stored with its amounts, the exchange's rate kept."""
    assert await transaction_count(database_url) == 9
    stored = await ledger_rows(
        database_url,
        "SELECT t.number, c.from_currency, c.from_amount_minor, c.to_amount_minor"
        " FROM conversions c JOIN transactions t ON t.id = c.transaction_id ORDER BY t.number",
    )
    assert [tuple(r) for r in stored] == [
        (1, "USD", 100_000, 4_150_000),
        (3, "USD", 2_000, 83_000),
        (4, "EUR", 1_500, 67_500),
        (5, "USD", 10_000, 420_000),
        (6, "USD", 1_000, 41_500),
        (7, "USD", 1_000, 41_500),  # the reversal carries the conversion it undoes
        (8, "EUR", 500, 22_500),
        (9, "EUR", 1_200, 54_000),
    ]
    rates = await ledger_rows(
        database_url, "SELECT currency, rate, source FROM exchange_rates ORDER BY id"
    )
    assert [(r["currency"], str(r["rate"]), r["source"]) for r in rates] == [
        ("USD", "41.50", "manual"),
        ("EUR", "45", "manual"),
        ("USD", "42", "exchange"),
    ]
