"""The chat side of several currencies (docs/product.md §8), handlers called on their own:
what a converted entry's confirmation says, /rate, /rates, /addaccount with a code, and the
refusals' words."""

from __future__ import annotations

import itertools
from dataclasses import replace
from decimal import Decimal

import pytest
from aiogram.filters import CommandObject

from finance_bot.adapters.telegram.presenters import error_text, rate_number
from finance_bot.adapters.telegram.routers import capture, directory, rates
from finance_bot.adapters.telegram.routers.directory import _account_arguments
from finance_bot.application.books import Books
from finance_bot.domain.errors import NoRate, NotPayableFrom, ReceivedAmountNeeded
from finance_bot.domain.money import Money
from tests.support.household import Household, fake_world
from tests.unit.test_handlers import CATALOG, _Bot, _context, _message

_updates = itertools.count(1)


def _command(name: str, args: str) -> CommandObject:
    return CommandObject(prefix="/", command=name, args=args or None)


async def _say(home: Household, text: str) -> list[str]:
    """One message from Alice, through the handler that would take it."""
    bot = _Bot()
    ctx = await _context(home, bot)
    # Each message its own update: its own idempotency key.
    books = Books(home.alice, f"update-{next(_updates)}", home.factory, home.ids, "UAH")
    ctx = replace(ctx, books=books)
    message = _message(home.alice, text)
    if text.startswith("/"):
        name, _, args = text[1:].partition(" ")
        handler = {
            "rate": rates.set_rate,
            "addaccount": directory.add_account,
        }.get(name)
        if handler is None:
            await rates.rates(message, ctx)
        else:
            await handler(message, _command(name, args), ctx)
    else:
        await capture.line(message, ctx)
    return bot.sent


async def test_a_rate_is_set_from_today_and_listed() -> None:
    home = await fake_world().household()

    [said] = await _say(home, "/rate USD 41.50")
    [listed] = await _say(home, "/rates")

    assert said == "Курс с 10.05.2024: 1 $ = 41,50 ₴."
    assert "1 $ = 41,50 ₴ с 10.05.2024 (задан вручную)" in listed


async def test_a_rate_for_the_base_currency_or_an_unknown_one_is_refused_with_words() -> None:
    home = await fake_world().household()

    assert await _say(home, "/rate UAH 1") == [CATALOG.translator("ru")("rate_base", code="UAH")]
    [unknown] = await _say(home, "/rate QQQ 3")
    [usage] = await _say(home, "/rate USD")
    assert "QQQ" in unknown
    assert usage == CATALOG.translator("ru")("rate_usage")


async def test_a_converted_expense_is_confirmed_with_both_amounts_and_the_rate() -> None:
    home = await fake_world().household()
    await _say(home, "/rate USD 41.50")

    [confirmation] = await _say(home, "20$ кафе")

    assert confirmation.startswith("#1 −20,00\u00a0$ → 830,00\u00a0₴ (по курсу 1 $ = 41,50 ₴)")
    assert "кафе" in confirmation


async def test_an_account_in_a_currency_pays_that_currency_and_an_exchange_is_confirmed() -> None:
    home = await fake_world().household()
    [added] = await _say(home, "/addaccount доллары USD")
    await _say(home, "/rate USD 41.50")

    [spent] = await _say(home, "20 кафе доллары")  # no currency: the account's
    [exchanged] = await _say(home, "100 доллары > карта 4150")

    assert added == "Счёт «доллары» в USD добавлен."
    assert spent.startswith("#1 −20,00\u00a0$ → 830,00\u00a0₴")
    assert "доллары" in spent
    assert exchanged.startswith("#2 100,00\u00a0$ → 4\u00a0150,00\u00a0₴ (по курсу 1 $ = 41,50 ₴)")


async def test_hryvnias_into_dollars_quote_the_rate_per_dollar() -> None:
    home = await fake_world().household()
    await _say(home, "/addaccount доллары USD")

    [exchanged] = await _say(home, "4150 карта > доллары 100")

    assert "1 $ = 41,50 ₴" in exchanged


async def test_no_rate_refuses_the_line_and_says_how_to_set_one() -> None:
    home = await fake_world().household()
    with pytest.raises(NoRate) as refused:
        await _say(home, "20$ кафе")
    for language in ("ru", "en"):
        assert "/rate USD" in error_text(refused.value, CATALOG.translator(language))


async def test_an_exchange_with_no_rate_asks_for_what_arrived() -> None:
    home = await fake_world().household()
    await _say(home, "/addaccount доллары USD")
    with pytest.raises(ReceivedAmountNeeded) as asked:
        await _say(home, "100 доллары > карта")
    text = error_text(asked.value, CATALOG.translator("ru"))
    assert "100 доллары > карта СУММА" in text


def test_a_foreign_amount_from_an_account_in_another_names_both_ways_to_pay() -> None:
    text = error_text(NotPayableFrom("EUR", "доллары", "USD", "UAH"), CATALOG.translator("en"))
    assert "USD or in UAH" in text
    received = ReceivedAmountNeeded(Money(10050, "USD"), "dollars", "card")
    assert "100.50 dollars > card" in error_text(received, CATALOG.translator("en"))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("копилка", ("копилка", None, False)),
        ("копилка shared", ("копилка", None, True)),
        ("доллары USD", ("доллары", "USD", False)),
        ("wise eur shared", ("wise", "EUR", True)),
        ("wise shared EUR", ("wise", "EUR", True)),
        ("USD", ("USD", None, False)),
        ("евро", ("евро", None, False)),
        ("travel cup", ("travel cup", None, False)),  # a word, not the Cuban peso
        ("travel CUP", ("travel", "CUP", False)),
        ("shared", ("", None, True)),
    ],
)
def test_addaccount_reads_a_code_only_when_written_as_one(
    args: str, expected: tuple[str, str | None, bool]
) -> None:
    assert _account_arguments(args) == expected


@pytest.mark.parametrize(
    ("rate", "language", "text"),
    [("41.5", "ru", "41,50"), ("41.49873", "en", "41.4987"), ("0.0241", "en", "0.0241"),
     ("150", "en", "150.00"),
     # below 0.01 three significant digits show, however many decimals that takes
     ("0.000001", "ru", "0,000001"), ("0.00004", "en", "0.00004"),
     ("0.0024096", "en", "0.00241"), ("1.00000000000001E-14", "en", "0.00000000000001")],
)  # fmt: skip
def test_rates_show_two_to_four_decimals(rate: str, language: str, text: str) -> None:
    assert rate_number(Decimal(rate), language) == text


async def test_a_tiny_rate_is_never_shown_as_zero() -> None:
    """/rate takes six decimals (1 ₫ is worth about 0,0016 ₴): what was set is what is said."""
    home = await fake_world().household()

    [said] = await _say(home, "/rate USD 0.000001")
    [listed] = await _say(home, "/rates")

    assert said == "Курс с 10.05.2024: 1 $ = 0,000001 ₴."
    assert "1 $ = 0,000001 ₴ с 10.05.2024 (задан вручную)" in listed
