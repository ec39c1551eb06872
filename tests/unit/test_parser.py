"""The chat-line grammar of docs/product.md §2, line by line: what each line is understood as."""

from __future__ import annotations

from datetime import date

import pytest

from finance_bot.domain.commands import (
    ParseError,
    ParseErrorReason,
    ParseResult,
    RecordExpense,
    RecordIncome,
    RecordTransfer,
    Vocabulary,
)
from finance_bot.domain.errors import UnknownCurrency
from finance_bot.domain.money import Money
from finance_bot.domain.parser import parse_amount, parse_line, parse_transfer_arguments
from tests.support.household import uah

TODAY = date(2026, 1, 2)
YESTERDAY = date(2026, 1, 1)

PRODUCTS, CAFE, COFFEE, BUSINESS_LUNCH, BUSINESS, TAXI, TREE = 1, 2, 3, 4, 5, 6, 7
SALARY, GIFT = 20, 21
CARD, CASH, CREDIT_CARD = 100, 101, 102

VOCABULARY = Vocabulary(
    expense_aliases={
        "продукты": PRODUCTS,
        "products": PRODUCTS,
        "groceries": PRODUCTS,
        "кафе": CAFE,
        "cafe": CAFE,
        "кофе": COFFEE,
        "coffee": COFFEE,
        "бизнес ланч": BUSINESS_LUNCH,
        "business lunch": BUSINESS_LUNCH,
        "бизнес": BUSINESS,
        "такси": TAXI,
        "taxi": TAXI,
        "елка": TREE,
    },
    income_aliases={"зарплата": SALARY, "salary": SALARY, "подарок": GIFT, "gift": GIFT},
    account_names={
        "карта": CARD,
        "card": CARD,
        "наличные": CASH,
        "нал": CASH,
        "cash": CASH,
        "кредитная карта": CREDIT_CARD,
    },
)

Reason = ParseErrorReason


def expense(
    amount: str,
    category: int | None,
    account: int | None = None,
    *,
    on: date = TODAY,
    note: str = "",
    tags: tuple[str, ...] = (),
    unknown: str | None = None,
) -> RecordExpense:
    return RecordExpense(uah(amount), category, account, on, note, tags, unknown)


def income(
    amount: str,
    category: int | None,
    account: int | None = None,
    *,
    on: date = TODAY,
    note: str = "",
    tags: tuple[str, ...] = (),
    unknown: str | None = None,
) -> RecordIncome:
    return RecordIncome(uah(amount), category, account, on, note, tags, unknown)


def transfer(
    amount: str,
    source: int,
    target: int,
    *,
    on: date = TODAY,
    note: str = "",
    tags: tuple[str, ...] = (),
) -> RecordTransfer:
    return RecordTransfer(uah(amount), source, target, on, note, tags)


def error(reason: ParseErrorReason, detail: str = "") -> ParseError:
    return ParseError(reason, detail)


LINES: list[tuple[str, ParseResult]] = [
    # docs/product.md §2, expenses
    ("250 кафе", expense("250", CAFE)),
    ("250,50 кафе", expense("250.50", CAFE)),
    ("250.50 кафе", expense("250.50", CAFE)),
    ("250,5 кафе", expense("250.50", CAFE)),
    ("1 500 продукты", expense("1500", PRODUCTS)),
    ("120+80 продукты", expense("200", PRODUCTS)),
    ("120 + 80 продукты", expense("200", PRODUCTS)),
    ("120 +80 продукты", expense("200", PRODUCTS)),
    ("500-100 продукты", expense("400", PRODUCTS)),
    ("1 000 + 1 500,50 - 0,50 продукты", expense("2500", PRODUCTS)),
    ("250 кафе наличные", expense("250", CAFE, CASH)),
    (
        "250 кафе @нал ужин с Машей #отпуск",
        expense("250", CAFE, CASH, note="ужин с Машей", tags=("отпуск",)),
    ),
    # docs/product.md §2, income: a leading "+" looks the word up among income categories
    ("+30000 зарплата", income("30000", SALARY)),
    ("+500 подарок карта", income("500", GIFT, CARD)),
    ("+1 500 salary card", income("1500", SALARY, CARD)),
    ("+ 500 зарплата", income("500", SALARY)),
    ("+100 премия", income("100", None, note="премия", unknown="премия")),
    ("+100 кафе", income("100", None, note="кафе", unknown="кафе")),
    ("+1000 карта > нал", income("1000", None, note="карта > нал", unknown="карта")),
    # docs/product.md §2, transfers
    ("1000 карта > наличные", transfer("1000", CARD, CASH)),
    ("1000 карта → нал", transfer("1000", CARD, CASH)),
    ("1000 card -> cash", transfer("1000", CARD, CASH)),
    ("1000 карта>нал", transfer("1000", CARD, CASH)),
    ("1000 @карта > @нал", transfer("1000", CARD, CASH)),
    (
        "1000 кредитная карта > карта погасил долг",
        transfer("1000", CREDIT_CARD, CARD, note="погасил долг"),
    ),
    ("1000 карта > кредитная карта", transfer("1000", CARD, CREDIT_CARD)),
    (
        "1000 карта > нал вчера #банкомат",
        transfer("1000", CARD, CASH, on=YESTERDAY, tags=("банкомат",)),
    ),
    ("вчера 1000 карта > нал", transfer("1000", CARD, CASH, on=YESTERDAY)),
    ("1000 карта > карта", error(Reason.SAME_ACCOUNT, "карта")),
    ("1000 нал > наличные", error(Reason.SAME_ACCOUNT, "наличные")),
    ("1000 карточка > нал", error(Reason.UNKNOWN_ACCOUNT, "карточка")),
    ("1000 карта > сейф", error(Reason.UNKNOWN_ACCOUNT, "сейф")),
    # an empty side is its own reason, so no reply quotes an empty name (issue 9)
    ("1000 карта >", error(Reason.MISSING_ACCOUNT)),
    ("1000 > нал", error(Reason.MISSING_ACCOUNT)),
    # an arrow after a category is note text, not a transfer
    ("250 кафе a > b", expense("250", CAFE, note="a > b")),
    # docs/product.md §2, backdated
    ("вчера 250 такси", expense("250", TAXI, on=YESTERDAY)),
    ("250 такси вчера", expense("250", TAXI, on=YESTERDAY)),
    ("27.11 250 такси", expense("250", TAXI, on=date(2025, 11, 27))),
    ("yesterday 12.50 coffee", expense("12.50", COFFEE, on=YESTERDAY)),
    ("Вчера 250 такси", expense("250", TAXI, on=YESTERDAY)),
    ("сегодня 100 кофе", expense("100", COFFEE)),
    ("today 100 coffee", expense("100", COFFEE)),
    ("позавчера 100 кофе", expense("100", COFFEE, on=date(2025, 12, 31))),
    ("day before yesterday 100 coffee", expense("100", COFFEE, on=date(2025, 12, 31))),
    ("100 coffee day before yesterday", expense("100", COFFEE, on=date(2025, 12, 31))),
    ("250 такси вчера #работа", expense("250", TAXI, on=YESTERDAY, tags=("работа",))),
    ("250 такси вчера @нал", expense("250", TAXI, CASH, on=YESTERDAY)),
    ("27.11 +500 подарок", income("500", GIFT, on=date(2025, 11, 27))),
    # year-less dates: the latest such day not after today, across the new year
    ("27.12 250 такси", expense("250", TAXI, on=date(2025, 12, 27))),
    ("250 такси 27.12", expense("250", TAXI, on=date(2025, 12, 27))),
    ("02.01 100 кофе", expense("100", COFFEE)),
    ("03.01 100 кофе", expense("100", COFFEE, on=date(2025, 1, 3))),
    ("29.02 100 кофе", expense("100", COFFEE, on=date(2024, 2, 29))),
    ("27.11.2025 250 такси", expense("250", TAXI, on=date(2025, 11, 27))),
    ("27.11.25 250 такси", expense("250", TAXI, on=date(2025, 11, 27))),
    ("250 такси 27.11.2025", expense("250", TAXI, on=date(2025, 11, 27))),
    ("03.01.2026 100 кофе", error(Reason.FUTURE_DATE, "03.01.2026")),
    ("250 такси 27.11.2030", error(Reason.FUTURE_DATE, "27.11.2030")),
    ("31.02 250 такси", error(Reason.INVALID_DATE, "31.02")),
    ("250 такси 31.02", error(Reason.INVALID_DATE, "31.02")),
    ("29.02.2025 100 кофе", error(Reason.INVALID_DATE, "29.02.2025")),
    ("32.13.2025 100 кофе", error(Reason.INVALID_DATE, "32.13.2025")),
    # a leading DD.MM followed by no number is the amount
    ("27.11 такси", expense("27.11", TAXI)),
    ("12.50 300 кофе", expense("12.50", None, note="300 кофе", unknown="300")),
    ("250 такси 45.11", expense("250", TAXI, note="45.11")),
    ("вчера 250 такси вчера", expense("250", TAXI, on=YESTERDAY, note="вчера")),
    ("вчера такси", error(Reason.NO_AMOUNT, "такси")),
    ("250 вчера", error(Reason.MISSING_CATEGORY, "250")),
    # docs/product.md §2, refused amounts
    ("1e5", error(Reason.INVALID_AMOUNT, "1e5")),
    ("1e5 кафе", error(Reason.INVALID_AMOUNT, "1e5")),
    ("NaN", error(Reason.NO_AMOUNT, "NaN")),
    ("nan кафе", error(Reason.NO_AMOUNT, "nan")),
    ("inf кафе", error(Reason.NO_AMOUNT, "inf")),
    ("∞", error(Reason.NO_AMOUNT, "∞")),
    ("0", error(Reason.AMOUNT_NOT_POSITIVE, "0")),
    ("0 кафе", error(Reason.AMOUNT_NOT_POSITIVE, "0")),
    ("0,00 кафе", error(Reason.AMOUNT_NOT_POSITIVE, "0,00")),
    ("-5", error(Reason.AMOUNT_NOT_POSITIVE, "-5")),
    ("-5 кафе", error(Reason.AMOUNT_NOT_POSITIVE, "-5")),
    ("100-200 кафе", error(Reason.AMOUNT_NOT_POSITIVE, "100-200")),
    ("12345678901234567890 кафе", error(Reason.AMOUNT_TOO_LARGE, "12345678901234567890")),
    ("1000000000000 кафе", error(Reason.AMOUNT_TOO_LARGE, "1000000000000")),
    ("999999999999+1 кафе", error(Reason.AMOUNT_TOO_LARGE, "999999999999+1")),
    ("999999999999,99 кафе", expense("999999999999.99", CAFE)),
    ("12.5.3 кафе", error(Reason.INVALID_AMOUNT, "12.5.3")),
    ("1,2,3 кафе", error(Reason.INVALID_AMOUNT, "1,2,3")),
    ("12abc", error(Reason.INVALID_AMOUNT, "12abc")),
    ("250кафе", error(Reason.INVALID_AMOUNT, "250кафе")),
    (".5 кафе", error(Reason.INVALID_AMOUNT, ".5")),
    ("120+ кафе", error(Reason.INVALID_AMOUNT, "120+")),
    ("250 - кафе", error(Reason.INVALID_AMOUNT, "250 -")),
    ("1.234 кафе", error(Reason.TOO_MANY_DECIMALS, "1.234")),
    ("1.500 кафе", error(Reason.TOO_MANY_DECIMALS, "1.500")),
    ("٢٥٠ кафе", error(Reason.INVALID_AMOUNT, "٢٥٠")),  # Arabic-Indic digits
    ("２５０ кафе", error(Reason.INVALID_AMOUNT, "２５０")),  # full-width digits
    ("кафе 250", error(Reason.NO_AMOUNT, "кафе")),
    ("hello", error(Reason.NO_AMOUNT, "hello")),
    ("", error(Reason.NO_AMOUNT)),
    ("   ", error(Reason.NO_AMOUNT)),
    # the amount as typed, for the reply's example «250 кафе» (issue 9)
    ("250", error(Reason.MISSING_CATEGORY, "250")),
    ("250 #отпуск", error(Reason.MISSING_CATEGORY, "250")),
    ("1 000 #отпуск", error(Reason.MISSING_CATEGORY, "1 000")),
    ("250 @нал", error(Reason.MISSING_CATEGORY, "250")),
    # the sane window: nothing before 01.01.2000 (issue 9)
    ("01.01.0001 5 кафе", error(Reason.DATE_OUT_OF_RANGE, "01.01.0001")),
    ("5 кафе 31.12.1999", error(Reason.DATE_OUT_OF_RANGE, "31.12.1999")),
    ("01.01.2000 5 кафе", expense("5", CAFE, on=date(2000, 1, 1))),
    # thousands are grouped by spaces only in threes, so a stray number is a word
    ("12 000 000 продукты", expense("12000000", PRODUCTS)),
    ("1 500,50 кафе", expense("1500.50", CAFE)),
    ("1\u00a0500 продукты", expense("1500", PRODUCTS)),  # a no-break space groups too
    ("250 2 кофе", expense("250", None, note="2 кофе", unknown="2")),
    ("1 50", expense("1", None, note="50", unknown="50")),
    ("1 5000 кофе", expense("1", None, note="5000 кофе", unknown="5000")),
    ("1234 567 кофе", expense("1234", None, note="567 кофе", unknown="567")),
    ("250 100 кофе", expense("250100", COFFEE)),
    ("007 кофе", expense("7", COFFEE)),
    # categories: longest exact alias, case- and ё-insensitive, never a substring
    ("250 бизнес ланч", expense("250", BUSINESS_LUNCH)),
    ("250 Бизнес   ЛАНЧ", expense("250", BUSINESS_LUNCH)),
    ("250 business lunch", expense("250", BUSINESS_LUNCH)),
    ("250 бизнес", expense("250", BUSINESS)),
    ("250 бизнес завтрак", expense("250", BUSINESS, note="завтрак")),
    ("250 Ёлка", expense("250", TREE)),
    ("250 ЁЛКА на новый год", expense("250", TREE, note="на новый год")),
    ("250 КАФЕ", expense("250", CAFE)),
    ("250 Groceries", expense("250", PRODUCTS)),
    ("250 шаурма", expense("250", None, note="шаурма", unknown="шаурма")),
    ("250 Шаурма нал", expense("250", None, CASH, note="Шаурма", unknown="Шаурма")),
    (
        "250 кафешка с друзьями",
        expense("250", None, note="кафешка с друзьями", unknown="кафешка"),
    ),
    ("250 подарок", expense("250", None, note="подарок", unknown="подарок")),
    # accounts: the next word(s) or @word anywhere; a plain unknown word starts the note
    ("250 кафе кредитная карта", expense("250", CAFE, CREDIT_CARD)),
    ("250 кафе карта ужин", expense("250", CAFE, CARD, note="ужин")),
    ("250 кафе ужин карта", expense("250", CAFE, note="ужин карта")),
    ("250 кафе @кредитная карта ужин", expense("250", CAFE, CREDIT_CARD, note="ужин")),
    ("250 @нал кафе", expense("250", CAFE, CASH)),
    ("250 кафе нал @карта", expense("250", CAFE, CARD, note="нал")),
    ("250 кафе ужин @нал @карта", expense("250", CAFE, CASH, note="ужин @карта")),
    ("250 кафе @сейф", error(Reason.UNKNOWN_ACCOUNT, "сейф")),
    ("250 кафе ужин @", expense("250", CAFE, note="ужин @")),
    # tags: anywhere after the amount, normalized, in order, without duplicates
    (
        "250 кафе #Отпуск ужин #отпуск #Ёлка",
        expense("250", CAFE, note="ужин", tags=("отпуск", "елка")),
    ),
    ("250 #отпуск кафе", expense("250", CAFE, tags=("отпуск",))),
    ("250 кафе ужин #отпуск.", expense("250", CAFE, note="ужин", tags=("отпуск",))),
    ("250 кафе # ужин", expense("250", CAFE, note="# ужин")),
    ("250 кафе ##работа", expense("250", CAFE, tags=("работа",))),
    # the note keeps the user's spelling, single-spaced
    ("250   кафе\tужин  с   Машей", expense("250", CAFE, note="ужин с Машей")),
    # marks no one sees, from RTL keyboards or text copied out of other apps, change nothing
    ("250 кафе\u200e", expense("250", CAFE)),  # left-to-right mark
    ("\u200f250 кафе", expense("250", CAFE)),  # right-to-left mark
    ("\u2068250\u2069 кафе", expense("250", CAFE)),  # a number copied inside an isolate
    ("\ufeff250 кафе", expense("250", CAFE)),  # byte order mark
    ("250 \u200bкафе нал", expense("250", CAFE, CASH)),  # zero-width space
    ("250 бизнес\u2060 ланч", expense("250", BUSINESS_LUNCH)),  # word joiner
    ("250 кафе ужин\u00ad", expense("250", CAFE, note="ужин")),  # soft hyphen
    ("1000 карта\u200e > нал", transfer("1000", CARD, CASH)),
    ("\u200e", error(Reason.NO_AMOUNT)),
    # ...but joiners are part of what is written: an emoji's zero-width joiner stays
    ("250 кафе 👩\u200d👧", expense("250", CAFE, note="👩\u200d👧")),
    # a typographic minus or dash is a sign, not a missing amount: the number is refused
    ("\u2212250 кафе", error(Reason.INVALID_AMOUNT, "\u2212250")),
    ("\u2013250 кафе", error(Reason.INVALID_AMOUNT, "\u2013250")),
    ("\u2212 кафе", error(Reason.NO_AMOUNT, "\u2212")),
]


@pytest.mark.parametrize(("line", "expected"), LINES, ids=[repr(line) for line, _ in LINES])
def test_parse_line(line: str, expected: ParseResult) -> None:
    assert parse_line(line, VOCABULARY, today=TODAY, currency="UAH") == expected


TRANSFER_ARGUMENTS: list[tuple[str, RecordTransfer | ParseError]] = [
    ("1000 карта наличные", transfer("1000", CARD, CASH)),
    ("1000 карта > наличные", transfer("1000", CARD, CASH)),
    ("1 000 кредитная карта нал", transfer("1000", CREDIT_CARD, CASH)),
    ("1000 карта нал на еду #быт", transfer("1000", CARD, CASH, note="на еду", tags=("быт",))),
    ("1000 карта нал вчера", transfer("1000", CARD, CASH, on=YESTERDAY)),
    ("1000 @карта @нал", transfer("1000", CARD, CASH)),
    ("1000 карточка нал", error(Reason.UNKNOWN_ACCOUNT, "карточка")),
    ("1000 карта сейф", error(Reason.UNKNOWN_ACCOUNT, "сейф")),
    ("1000 карточка > нал", error(Reason.UNKNOWN_ACCOUNT, "карточка")),
    ("1000 карта", error(Reason.MISSING_ACCOUNT)),
    ("1000", error(Reason.MISSING_ACCOUNT)),
    ("1000 нал наличные", error(Reason.SAME_ACCOUNT, "наличные")),
    ("карта нал 1000", error(Reason.NO_AMOUNT, "карта")),
    ("0 карта нал", error(Reason.AMOUNT_NOT_POSITIVE, "0")),
]


@pytest.mark.parametrize(
    ("text", "expected"), TRANSFER_ARGUMENTS, ids=[repr(text) for text, _ in TRANSFER_ARGUMENTS]
)
def test_parse_transfer_arguments(text: str, expected: RecordTransfer | ParseError) -> None:
    assert parse_transfer_arguments(text, VOCABULARY, today=TODAY, currency="UAH") == expected


AMOUNTS: list[tuple[str, Money | ParseError]] = [
    ("3000", uah("3000")),
    ("3 000", uah("3000")),
    (" 3000,5 ", uah("3000.50")),
    ("1000+500", uah("1500")),
    ("3000 руб", error(Reason.INVALID_AMOUNT, "3000 руб")),
    ("off", error(Reason.NO_AMOUNT, "off")),
    ("", error(Reason.NO_AMOUNT)),
    ("0", error(Reason.AMOUNT_NOT_POSITIVE, "0")),
    ("1e5", error(Reason.INVALID_AMOUNT, "1e5")),
    ("10.001", error(Reason.TOO_MANY_DECIMALS, "10.001")),
    ("\u20663 000\u2069", uah("3000")),
]


@pytest.mark.parametrize(("text", "expected"), AMOUNTS, ids=[repr(text) for text, _ in AMOUNTS])
def test_parse_amount(text: str, expected: Money | ParseError) -> None:
    assert parse_amount(text, "UAH") == expected


def test_a_currency_without_minor_units_refuses_decimals() -> None:
    assert parse_amount("1 500", "JPY") == Money(1500, "JPY")
    assert parse_amount("1500,5", "JPY") == error(Reason.TOO_MANY_DECIMALS, "1500,5")
    assert parse_line("500 coffee", VOCABULARY, today=TODAY, currency="JPY") == RecordExpense(
        Money(500, "JPY"), COFFEE, None, TODAY
    )


def test_an_unknown_currency_is_a_configuration_error_not_a_parse_error() -> None:
    with pytest.raises(UnknownCurrency):
        parse_line("250 кафе", VOCABULARY, today=TODAY, currency="XXX")


def test_a_date_word_before_the_first_day_is_invalid_not_a_crash() -> None:
    assert parse_line("вчера 250 кафе", VOCABULARY, today=date.min, currency="UAH") == error(
        Reason.INVALID_DATE, "вчера"
    )


def test_an_empty_vocabulary_files_everything_under_other() -> None:
    assert parse_line("250 кафе карта", Vocabulary(), today=TODAY, currency="UAH") == expense(
        "250", None, note="кафе карта", unknown="кафе"
    )
