"""Amounts with a currency (docs/product.md §8, the several-currencies design), line by line.

Every form a currency may take in a line, the account's currency when none is written, the
decimals held to the currency that applies, the received amount of a transfer between two
currencies, and /rate's number. The lines of tests/unit/test_parser.py are unchanged.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finance_bot.domain import currencies
from finance_bot.domain.commands import (
    ParseError,
    ParseErrorReason,
    ParseResult,
    RecordExpense,
    RecordIncome,
    RecordTransfer,
)
from finance_bot.domain.currencies import Ambiguous
from finance_bot.domain.errors import UnknownCurrency
from finance_bot.domain.money import MAX_MAJOR_UNITS, Money, currency_scale
from finance_bot.domain.parser import (
    parse_amount,
    parse_line,
    parse_rate,
    parse_transfer_arguments,
)
from tests.unit.test_parser import (
    CAFE,
    CARD,
    CASH,
    COFFEE,
    CREDIT_CARD,
    PRODUCTS,
    SALARY,
    TAXI,
    TODAY,
    VOCABULARY,
    YESTERDAY,
)
from tests.unit.test_parser_properties import written_currencies

DOLLARS, EURO_CARD, YEN = 103, 104, 105

WORDS = dataclasses.replace(
    VOCABULARY,
    account_names={
        **VOCABULARY.account_names,
        "доллары": DOLLARS,
        "евро карта": EURO_CARD,
        "йены": YEN,
    },
    account_currencies={CARD: "UAH", CASH: "UAH", DOLLARS: "USD", EURO_CARD: "EUR", YEN: "JPY"},
)

Reason = ParseErrorReason


def money(amount: str, currency: str) -> Money:
    return Money.from_decimal(Decimal(amount), currency)


def expense(
    amount: Money,
    category: int | None,
    account: int | None = None,
    *,
    on: date = TODAY,
    note: str = "",
    unknown: str | None = None,
) -> RecordExpense:
    return RecordExpense(amount, category, account, on, note, (), unknown)


def income(amount: Money, category: int | None, account: int | None = None) -> RecordIncome:
    return RecordIncome(amount, category, account, TODAY)


def transfer(
    amount: Money,
    source: int,
    target: int,
    *,
    received: Money | None = None,
    on: date = TODAY,
    note: str = "",
) -> RecordTransfer:
    return RecordTransfer(amount, source, target, on, note, (), received)


def error(reason: ParseErrorReason, detail: str = "") -> ParseError:
    return ParseError(reason, detail)


USD, EUR, UAH = "USD", "EUR", "UAH"
HUNDRED_USD, UAH_4150 = money("100", USD), money("4150", UAH)

LINES: list[tuple[str, ParseResult]] = [
    # a symbol before the number, glued or not
    ("$20 кафе", expense(money("20", USD), CAFE)),
    ("€ 15 кафе", expense(money("15", EUR), CAFE)),
    ("₴250 кафе", expense(money("250", UAH), CAFE)),
    ("£9,99 кофе", expense(money("9.99", "GBP"), COFFEE)),
    ("US$5 кофе", expense(money("5", USD), COFFEE)),
    # glued after the number
    ("20$ кафе", expense(money("20", USD), CAFE)),
    ("15€ кафе", expense(money("15", EUR), CAFE)),
    ("20usd кафе", expense(money("20", USD), CAFE)),
    ("20USD кафе", expense(money("20", USD), CAFE)),
    ("250грн кафе", expense(money("250", UAH), CAFE)),
    ("100zł кафе", expense(money("100", "PLN"), CAFE)),
    # the next word: codes in any case, symbols, words and their inflections
    ("20 usd кафе", expense(money("20", USD), CAFE)),
    ("20 USD кафе", expense(money("20", USD), CAFE)),
    ("20 Usd кафе", expense(money("20", USD), CAFE)),
    ("20 CHF кафе", expense(money("20", "CHF"), CAFE)),
    ("15 евро кафе", expense(money("15", EUR), CAFE)),
    ("15 ЕВРО кафе", expense(money("15", EUR), CAFE)),
    ("15 euros cafe", expense(money("15", EUR), CAFE)),
    ("20 долларов кафе", expense(money("20", USD), CAFE)),
    ("2 доллара кофе", expense(money("2", USD), COFFEE)),
    ("1 доллар кофе", expense(money("1", USD), COFFEE)),
    ("20 долл. кафе", expense(money("20", USD), CAFE)),
    ("20 баксов кафе", expense(money("20", USD), CAFE)),
    ("20 dollars cafe", expense(money("20", USD), CAFE)),
    ("20 доларів кафе", expense(money("20", USD), CAFE)),
    ("100 zł кафе", expense(money("100", "PLN"), CAFE)),
    ("100 злотых кафе", expense(money("100", "PLN"), CAFE)),
    ("100 zloty cafe", expense(money("100", "PLN"), CAFE)),
    ("100 грн кафе", expense(money("100", UAH), CAFE)),
    ("100 грн. кафе", expense(money("100", UAH), CAFE)),
    ("100 гривен кафе", expense(money("100", UAH), CAFE)),
    ("100 гривень кафе", expense(money("100", UAH), CAFE)),
    ("100 hryvnias cafe", expense(money("100", UAH), CAFE)),
    ("10 фунтов кафе", expense(money("10", "GBP"), CAFE)),
    ("10 pounds cafe", expense(money("10", "GBP"), CAFE)),
    ("10 франков кафе", expense(money("10", "CHF"), CAFE)),
    ("5000 тенге такси", expense(money("5000", "KZT"), TAXI)),
    ("30 лари такси", expense(money("30", "GEL"), TAXI)),
    ("30 ₾ такси", expense(money("30", "GEL"), TAXI)),
    ("100 ₽ такси", expense(money("100", "RUB"), TAXI)),
    # income, sums, thousands, dates, tags and accounts around a currency
    ("+$100 зарплата", income(money("100", USD), SALARY)),
    ("+100$ зарплата", income(money("100", USD), SALARY)),
    ("+ 100 usd зарплата карта", income(money("100", USD), SALARY, CARD)),
    ("120+80 $ продукты", expense(money("200", USD), PRODUCTS)),
    ("$120+80 продукты", expense(money("200", USD), PRODUCTS)),
    ("120+80$ продукты", expense(money("200", USD), PRODUCTS)),
    ("1 500 грн продукты", expense(money("1500", UAH), PRODUCTS)),
    ("1 500грн продукты", expense(money("1500", UAH), PRODUCTS)),
    ("€1 500,50 продукты", expense(money("1500.50", EUR), PRODUCTS)),
    ("вчера 20$ такси", expense(money("20", USD), TAXI, on=YESTERDAY)),
    ("20 usd такси вчера", expense(money("20", USD), TAXI, on=YESTERDAY)),
    ("27.11 €15 кафе", expense(money("15", EUR), CAFE, on=date(2025, 11, 27))),
    ("27.11 € 15 кафе", expense(money("15", EUR), CAFE, on=date(2025, 11, 27))),
    ("27.11 +$100 зарплата", RecordIncome(money("100", USD), SALARY, None, date(2025, 11, 27))),
    ("27.11 евро кафе", expense(money("27.11", EUR), CAFE)),
    ("20$ кафе нал ужин", expense(money("20", USD), CAFE, CASH, note="ужин")),
    ("20 usd кафе @нал", expense(money("20", USD), CAFE, CASH)),
    ("20$ #отпуск кафе", RecordExpense(money("20", USD), CAFE, None, TODAY, "", ("отпуск",))),
    # no currency written: the named account's, else the default one
    ("250 кафе", expense(money("250", UAH), CAFE)),
    ("250,50 кафе @доллары", expense(money("250.50", USD), CAFE, DOLLARS)),
    ("250,50 кафе доллары", expense(money("250.50", USD), CAFE, DOLLARS)),
    ("250 кафе @евро карта", expense(money("250", EUR), CAFE, EURO_CARD)),
    ("250 кафе @кредитная карта", expense(money("250", UAH), CAFE, CREDIT_CARD)),
    ("+1000 зарплата доллары", income(money("1000", USD), SALARY, DOLLARS)),
    ("1500 кафе @йены", expense(money("1500", "JPY"), CAFE, YEN)),
    ("20$ кафе @йены", expense(money("20", USD), CAFE, YEN)),
    # decimals are held to the currency that applies
    ("250,5 JPY кафе", error(Reason.TOO_MANY_DECIMALS, "250,5 JPY")),
    ("250,5 кафе @йены", error(Reason.TOO_MANY_DECIMALS, "250,5")),
    ("250,5 иен кафе", error(Reason.TOO_MANY_DECIMALS, "250,5 иен")),
    ("250 JPY кафе", expense(money("250", "JPY"), CAFE)),
    ("1,234 $ кафе", error(Reason.TOO_MANY_DECIMALS, "1,234 $")),
    ("1,2345 KWD кафе", error(Reason.TOO_MANY_DECIMALS, "1,2345 KWD")),
    ("0 usd кафе", error(Reason.AMOUNT_NOT_POSITIVE, "0 usd")),
    ("-$5 кафе", error(Reason.AMOUNT_NOT_POSITIVE, "-$5")),
    ("1000000000000$ кафе", error(Reason.AMOUNT_TOO_LARGE, "1000000000000$")),
    # the amount is named before anything else wrong with the line
    ("1,234 кафе @сейф", error(Reason.TOO_MANY_DECIMALS, "1,234")),
    ("20$", error(Reason.MISSING_CATEGORY, "20$")),
    ("20 долларов", error(Reason.MISSING_CATEGORY, "20 долларов")),
    # ambiguous words and symbols: ask for the code, never guess
    ("¥100 кафе", error(Reason.AMBIGUOUS_CURRENCY, "¥")),
    ("100¥ кафе", error(Reason.AMBIGUOUS_CURRENCY, "¥")),
    ("100 kr кафе", error(Reason.AMBIGUOUS_CURRENCY, "kr")),
    ("100 руб кафе", error(Reason.AMBIGUOUS_CURRENCY, "руб")),
    ("100 рублей кафе", error(Reason.AMBIGUOUS_CURRENCY, "рублей")),
    ("100р кафе", error(Reason.AMBIGUOUS_CURRENCY, "р")),
    ("100 лей кафе", error(Reason.AMBIGUOUS_CURRENCY, "лей")),
    ("100 RUB кафе", expense(money("100", "RUB"), CAFE)),
    ("100 BYN кафе", expense(money("100", "BYN"), CAFE)),
    # words that stay words
    ("250 2 кофе", expense(money("250", UAH), None, note="2 кофе", unknown="2")),
    ("250 KFC", expense(money("250", UAH), None, note="KFC", unknown="KFC")),
    ("250 cup кофе", expense(money("250", UAH), None, note="cup кофе", unknown="cup")),
    ("250 all кафе", expense(money("250", UAH), None, note="all кафе", unknown="all")),
    ("250 try кафе", expense(money("250", UAH), None, note="try кафе", unknown="try")),
    ("250 gel кафе", expense(money("250", UAH), None, note="gel кафе", unknown="gel")),
    ("250 кафе 20$", expense(money("250", UAH), CAFE, note="20$")),
    ("250 XAU кафе", expense(money("250", UAH), None, note="XAU кафе", unknown="XAU")),
    ("$кафе", error(Reason.NO_AMOUNT, "$кафе")),
    ("$ кафе", error(Reason.NO_AMOUNT, "$")),
    ("$20€ кафе", error(Reason.INVALID_AMOUNT, "$20€")),
    ("20$€ кафе", error(Reason.INVALID_AMOUNT, "20$€")),
    ("20$+5 кафе", error(Reason.INVALID_AMOUNT, "20$+5")),
    # a name the household gave wins over a currency word
    ("100 евро карта > карта", transfer(money("100", EUR), EURO_CARD, CARD)),
    # transfers: the amount in the source's currency; what arrived, when currencies differ
    ("100 доллары > карта 4150", transfer(HUNDRED_USD, DOLLARS, CARD, received=UAH_4150)),
    (
        "100 доллары > карта 4 150,50 обмен вчера",
        transfer(
            money("100", USD), DOLLARS, CARD,
            received=money("4150.50", UAH), on=YESTERDAY, note="обмен",
        ),
    ),
    ("100 доллары > карта 4150 грн", transfer(HUNDRED_USD, DOLLARS, CARD, received=UAH_4150)),
    ("100 доллары > карта ₴4150", transfer(HUNDRED_USD, DOLLARS, CARD, received=UAH_4150)),
    ("100 доллары > карта", transfer(HUNDRED_USD, DOLLARS, CARD)),
    ("100 доллары > карта обмен", transfer(HUNDRED_USD, DOLLARS, CARD, note="обмен")),
    ("100 доллары > карта 27.11", transfer(HUNDRED_USD, DOLLARS, CARD, on=date(2025, 11, 27))),
    ("4150 карта > доллары 100", transfer(UAH_4150, CARD, DOLLARS, received=HUNDRED_USD)),
    (
        "1000 йены > доллары 7",
        transfer(money("1000", "JPY"), YEN, DOLLARS, received=money("7", USD)),
    ),
    ("100,5 йены > доллары 7", error(Reason.TOO_MANY_DECIMALS, "100,5")),
    ("100 доллары > карта 4150,555", error(Reason.TOO_MANY_DECIMALS, "4150,555")),
    ("100 доллары > карта 0", error(Reason.AMOUNT_NOT_POSITIVE, "0")),
    ("100 доллары > карта 41abc", error(Reason.INVALID_AMOUNT, "41abc")),
    (
        "вчера 100 доллары > карта 4150",
        transfer(HUNDRED_USD, DOLLARS, CARD, received=UAH_4150, on=YESTERDAY),
    ),
    (
        "100 доллары > карта 4150 #обмен",
        RecordTransfer(HUNDRED_USD, DOLLARS, CARD, TODAY, "", ("обмен",), UAH_4150),
    ),
    ("100 руб > карта", error(Reason.AMBIGUOUS_CURRENCY, "руб")),
    ("1000 карта > нал 4150", transfer(money("1000", UAH), CARD, CASH, note="4150")),
    ("$100 карта > нал", transfer(money("100", USD), CARD, CASH)),
    ("1,234 сейф > карта", error(Reason.TOO_MANY_DECIMALS, "1,234")),
]  # fmt: skip


@pytest.mark.parametrize(("line", "expected"), LINES, ids=[repr(line) for line, _ in LINES])
def test_parse_line_with_currencies(line: str, expected: ParseResult) -> None:
    assert parse_line(line, WORDS, today=TODAY, currency="UAH") == expected


def test_every_form_of_the_brief_is_covered() -> None:
    assert len(LINES) >= 40


TRANSFER_ARGUMENTS: list[tuple[str, RecordTransfer | ParseError]] = [
    ("100 доллары карта 4150", transfer(HUNDRED_USD, DOLLARS, CARD, received=UAH_4150)),
    (
        "100 доллары карта 4150 на жизнь",
        transfer(HUNDRED_USD, DOLLARS, CARD, received=UAH_4150, note="на жизнь"),
    ),
    ("100 доллары > карта 4150", transfer(HUNDRED_USD, DOLLARS, CARD, received=UAH_4150)),
    ("100 доллары карта", transfer(HUNDRED_USD, DOLLARS, CARD)),
    ("1000 карта нал 4150", transfer(money("1000", UAH), CARD, CASH, note="4150")),
    ("$50 карта нал", transfer(money("50", USD), CARD, CASH)),
    ("100 руб карта нал", error(Reason.AMBIGUOUS_CURRENCY, "руб")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"), TRANSFER_ARGUMENTS, ids=[repr(text) for text, _ in TRANSFER_ARGUMENTS]
)
def test_parse_transfer_arguments_with_currencies(
    text: str, expected: RecordTransfer | ParseError
) -> None:
    assert parse_transfer_arguments(text, WORDS, today=TODAY, currency="UAH") == expected


def test_the_default_currency_applies_when_nothing_else_does() -> None:
    assert parse_line("250 кафе", WORDS, today=TODAY, currency="EUR") == expense(
        money("250", EUR), CAFE
    )
    # An account the vocabulary has no currency for is in the default one.
    assert parse_line("250 кафе нал", VOCABULARY, today=TODAY, currency="USD") == expense(
        money("250", USD), CAFE, CASH
    )
    assert parse_line("25,5 кафе", WORDS, today=TODAY, currency="JPY") == error(
        Reason.TOO_MANY_DECIMALS, "25,5"
    )
    assert parse_line("25,5 кафе @доллары", WORDS, today=TODAY, currency="JPY") == expense(
        money("25.5", USD), CAFE, DOLLARS
    )


def test_kuwaiti_dinars_have_three_decimals() -> None:
    assert currencies.scale("KWD") == 3
    assert parse_line("1,2345 KWD кафе", WORDS, today=TODAY, currency="UAH") == error(
        Reason.TOO_MANY_DECIMALS, "1,2345 KWD"
    )
    result = parse_line("1,234 KWD кафе", WORDS, today=TODAY, currency="UAH")
    try:
        currency_scale("KWD")
    except UnknownCurrency:
        # Until the books hold every ISO currency, one they cannot hold is refused, not raised.
        assert result == error(Reason.INVALID_AMOUNT, "1,234 KWD")
    else:
        assert result == expense(Money(1234, "KWD"), CAFE)


def test_a_budget_limit_reads_no_currency() -> None:
    assert parse_amount("3000$", "UAH") == error(Reason.INVALID_AMOUNT, "3000$")
    assert parse_amount("3000 usd", "UAH") == error(Reason.INVALID_AMOUNT, "3000 usd")
    assert parse_amount("3000", "USD") == money("3000", USD)


def test_an_unknown_default_currency_is_a_configuration_error_whatever_the_line() -> None:
    for line in ("250 кафе", "20$ кафе", "hello"):
        with pytest.raises(UnknownCurrency):
            parse_line(line, WORDS, today=TODAY, currency="XAU")


RATES: list[tuple[str, Decimal | ParseError]] = [
    ("41.50", Decimal("41.50")),
    ("41,50", Decimal("41.50")),
    (" 41,5 ", Decimal("41.5")),
    ("0.000001", Decimal("0.000001")),
    ("999999.999999", Decimal("999999.999999")),
    ("7", Decimal(7)),
    ("0", error(Reason.AMOUNT_NOT_POSITIVE, "0")),
    ("0,000000", error(Reason.AMOUNT_NOT_POSITIVE, "0,000000")),
    ("-41.5", error(Reason.AMOUNT_NOT_POSITIVE, "-41.5")),
    ("1.1234567", error(Reason.TOO_MANY_DECIMALS, "1.1234567")),
    ("1000000", error(Reason.AMOUNT_TOO_LARGE, "1000000")),
    ("41.5.0", error(Reason.INVALID_AMOUNT, "41.5.0")),
    ("1e5", error(Reason.INVALID_AMOUNT, "1e5")),
    ("٤١", error(Reason.INVALID_AMOUNT, "٤١")),
    ("USD", error(Reason.NO_AMOUNT, "USD")),
    ("", error(Reason.NO_AMOUNT)),
]


@pytest.mark.parametrize(("text", "expected"), RATES, ids=[repr(text) for text, _ in RATES])
def test_parse_rate(text: str, expected: Decimal | ParseError) -> None:
    result = parse_rate(text)
    assert result == expected
    if isinstance(expected, Decimal):
        assert str(result) == str(expected)


# --- the currency table and the words ---


def test_scales_come_from_iso_4217() -> None:
    assert (currencies.scale("UAH"), currencies.scale("JPY"), currencies.scale("KWD")) == (2, 0, 3)
    for code in ("XAU", "XDR", "XXX", "ZZZ", "usd", ""):
        assert not currencies.is_known(code)
        with pytest.raises(UnknownCurrency):
            currencies.scale(code)


def test_the_books_scales_agree_with_iso_4217_where_both_know_a_currency() -> None:
    for code in ("UAH", "USD", "EUR", "JPY", "KRW", "ISK", "CZK", "HUF"):
        assert currencies.scale(code) == currency_scale(code)


def test_symbols_for_display() -> None:
    assert [currencies.symbol(c) for c in ("UAH", "USD", "EUR", "GBP", "PLN", "CHF")] == [
        "₴", "$", "€", "£", "zł", "CHF",
    ]  # fmt: skip


READINGS: list[tuple[str, str | Ambiguous | None]] = [
    ("$", "USD"), ("€", "EUR"), ("₴", "UAH"), ("zł", "PLN"), ("ZŁ", "PLN"), ("USD", "USD"),
    ("usd", "USD"), ("CUP", "CUP"), ("TOP", "TOP"), ("Долларов", "USD"), ("долл.", "USD"),
    ("гривня", "UAH"), ("Грн.", "UAH"), ("hryvnia", "UAH"), ("злотий", "PLN"),
    ("фунтов", "GBP"), ("francs", "CHF"), ("євро", "EUR"),
    ("¥", Ambiguous(("JPY", "CNY"))), ("рубль", Ambiguous(("RUB", "BYN"))),
    ("лей", Ambiguous(("MDL", "RON"))), ("KR", Ambiguous(("SEK", "NOK", "DKK", "ISK"))),
    ("cup", None), ("all", None), ("top", None), ("try", None), ("gel", None), ("mad", None),
    ("mop", None), ("rub", None), ("KFC", None), ("XAU", None), ("кафе", None), ("", None),
    (".", None), ("$$", None), ("20", None),
]  # fmt: skip


@pytest.mark.parametrize(("token", "expected"), READINGS, ids=[repr(t) for t, _ in READINGS])
def test_read_currency(token: str, expected: str | Ambiguous | None) -> None:
    assert currencies.read_currency(token) == expected


def test_every_currency_a_word_names_is_in_iso_4217() -> None:
    named = set()
    for table in (currencies._SYMBOLS, currencies._WORDS):
        for found in table.values():
            named |= set(found.candidates) if isinstance(found, Ambiguous) else {found}
    assert sorted(code for code in named if not currencies.is_known(code)) == []


# --- properties ---

PROPERTY = settings(deadline=None, database=None)  # examples: the profile's (conftest)
ACCOUNT_NAMES = sorted(WORDS.account_names)
MARKS = [
    "$", "€", "₴", "¥", "zł", "US$", "usd", "USD", "Usd", "EUR", "JPY", "KWD", "CUP", "cup",
    "евро", "долларов", "грн", "грн.", "руб", "kr", "лей", "XAU", "KFC",
]  # fmt: skip
NUMBERS = st.one_of(
    st.integers(-10, 10**6).map(str),
    st.from_regex(r"[+-]?[0-9]{1,3}( [0-9]{3}){0,3}([.,][0-9]{0,4})?", fullmatch=True),
    st.from_regex(r"[0-9]{1,2}\.[0-9]{1,2}", fullmatch=True),
)
TOKENS = st.one_of(
    NUMBERS,
    st.sampled_from(MARKS),
    st.tuples(NUMBERS, st.sampled_from(MARKS)).map("".join),
    st.tuples(st.sampled_from(MARKS), NUMBERS).map("".join),
    st.sampled_from(ACCOUNT_NAMES),
    st.sampled_from(sorted(WORDS.expense_aliases) + sorted(WORDS.income_aliases)),
    st.sampled_from([">", "->", "+", "#отпуск", "@доллары", "@йены", "вчера", "27.11"]),
    st.text(max_size=5),
)
DEFAULTS = st.sampled_from(["UAH", "USD", "JPY"])


def _fallbacks(result: RecordExpense | RecordIncome | RecordTransfer, default: str) -> set[str]:
    """The currencies an amount with none written may be in: its account's or the default."""
    accounts = (
        [result.from_account_id]
        if isinstance(result, RecordTransfer)
        else [result.account_id] * (result.account_id is not None)
    )
    return {WORDS.account_currencies.get(a, default) for a in accounts} or {default}


@PROPERTY
@given(st.lists(TOKENS, max_size=7), DEFAULTS)
def test_a_currency_is_never_invented(tokens: list[str], default: str) -> None:
    line = " ".join(tokens)
    for result in (
        parse_line(line, WORDS, today=TODAY, currency=default),
        parse_transfer_arguments(line, WORDS, today=TODAY, currency=default),
    ):
        if isinstance(result, ParseError):
            assert isinstance(result.reason, ParseErrorReason)
            continue
        written = written_currencies(line)
        currency = result.amount.currency
        assert currency in written or currency in _fallbacks(result, default), (line, result)
        assert 0 < result.amount.amount_minor < MAX_MAJOR_UNITS * 10 ** currencies.scale(currency)
        if isinstance(result, RecordTransfer) and result.received is not None:
            target = WORDS.account_currencies.get(result.to_account_id, default)
            assert result.received.currency in written | {target}, (line, result)
            assert target != WORDS.account_currencies.get(result.from_account_id, default)


PLAIN_WORDS = st.one_of(
    NUMBERS,
    st.sampled_from(sorted(WORDS.expense_aliases) + sorted(WORDS.income_aliases)),
    st.sampled_from(["вчера", "27.11", "#отпуск", "ужин", "cup", "KFC", "all", "2"]),
    st.text(alphabet="0123456789 .,+-#абвxyz", max_size=6),
)


@PROPERTY
@given(st.lists(PLAIN_WORDS, max_size=7), DEFAULTS)
def test_a_line_without_currency_or_account_is_in_the_default_currency(
    words: list[str], default: str
) -> None:
    line = " ".join(words)
    assert not written_currencies(line)
    result = parse_line(line, WORDS, today=TODAY, currency=default)
    if not isinstance(result, ParseError):
        assert result.amount.currency == default, (line, result)


@PROPERTY
@given(st.text(), DEFAULTS)
def test_any_text_gives_a_command_or_a_parse_error(text: str, default: str) -> None:
    for result in (
        parse_line(text, WORDS, today=TODAY, currency=default),
        parse_transfer_arguments(text, WORDS, today=TODAY, currency=default),
        parse_amount(text, default),
        parse_rate(text),
    ):
        assert isinstance(
            result, (RecordExpense, RecordIncome, RecordTransfer, ParseError, Money, Decimal)
        )
    rate = parse_rate(text)
    if isinstance(rate, Decimal):
        assert 0 < rate < 10**6
        assert rate == rate.quantize(Decimal("0.000001"))


@PROPERTY
@given(st.lists(TOKENS, max_size=7), DEFAULTS)
def test_near_valid_lines_with_currencies_never_raise(tokens: list[str], default: str) -> None:
    for gap in (" ", "\u00a0"):
        line = gap.join(tokens)
        parse_line(line, WORDS, today=TODAY, currency=default)
        parse_transfer_arguments(line, WORDS, today=TODAY, currency=default)
        parse_amount(line, default)
        parse_rate(line)
