"""Properties of the chat-line parser: total on any text, exact on any valid amount."""

from __future__ import annotations

import re
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from finance_bot.domain.accounts import normalize_name
from finance_bot.domain.commands import (
    ParseError,
    ParseErrorReason,
    ParseResult,
    RecordExpense,
    RecordIncome,
    RecordTransfer,
)
from finance_bot.domain.currencies import read_currency, scale
from finance_bot.domain.money import MAX_MAJOR_UNITS, Money
from finance_bot.domain.parser import parse_amount, parse_line, parse_transfer_arguments
from finance_bot.domain.periods import EARLIEST_DAY
from tests.unit.test_parser import CAFE, TODAY, VOCABULARY

# Modest, and no example database left behind in the working tree.
PROPERTY = settings(deadline=None, database=None)  # examples: the profile's (conftest)

MAX_MINOR = MAX_MAJOR_UNITS * 100  # UAH has two decimals
# The marks a word may carry glued to its digits: "20$", "$20", "+€15", "250грн.".
_MARKS = re.compile(r"[^0-9+\-.,\s]+\.?")


def written_currencies(text: str) -> set[str]:
    """Every currency that a word of ``text``, or a mark glued to its digits, names."""
    found = set()
    for token in text.split():
        for candidate in (token, *_MARKS.findall(token)):
            code = read_currency(candidate)
            if isinstance(code, str):
                found.add(code)
    return found


def assert_well_formed(result: ParseResult, today: date = TODAY, text: str = "") -> None:
    assert isinstance(result, (RecordExpense, RecordIncome, RecordTransfer, ParseError))
    if isinstance(result, ParseError):
        assert isinstance(result.reason, ParseErrorReason)
        return
    # No account here has a currency of its own: only a currency the text writes is not UAH.
    assert result.amount.currency in {"UAH"} | written_currencies(text)
    assert 0 < result.amount.amount_minor < MAX_MAJOR_UNITS * 10 ** scale(result.amount.currency)
    assert result.booked_on <= today
    assert result.note == " ".join(result.note.split())
    assert len(set(result.tags)) == len(result.tags)
    for tag in result.tags:
        assert tag
        assert not tag.startswith("#")
        assert tag == normalize_name(tag)
    if isinstance(result, RecordTransfer):
        assert result.from_account_id != result.to_account_id
    else:
        assert (result.category_id is None) == (result.unknown_word is not None)
        if result.unknown_word is not None:
            assert result.note.split(" ")[0] == result.unknown_word


@PROPERTY
@given(st.text())
def test_any_text_gives_a_command_or_a_parse_error(text: str) -> None:
    assert_well_formed(parse_line(text, VOCABULARY, today=TODAY, currency="UAH"), text=text)
    transfer = parse_transfer_arguments(text, VOCABULARY, today=TODAY, currency="UAH")
    assert isinstance(transfer, (RecordTransfer, ParseError))
    assert_well_formed(transfer, text=text)
    assert isinstance(parse_amount(text, "UAH"), (Money, ParseError))


ALIASES = sorted(VOCABULARY.expense_aliases) + sorted(VOCABULARY.income_aliases)
ACCOUNTS = sorted(VOCABULARY.account_names)
NUMBERS = st.one_of(
    st.integers(-10, 10**6).map(str),
    st.from_regex(r"[+-]?[0-9]{1,3}( [0-9]{3}){0,4}([.,][0-9]{0,3})?", fullmatch=True),
    st.from_regex(r"[0-9]{1,2}\.[0-9]{1,2}(\.[0-9]{2,4})?", fullmatch=True),
    st.integers(10**11, 10**25).map(str),
)
WORDS = st.one_of(
    NUMBERS,
    st.sampled_from(ALIASES),
    st.sampled_from(ALIASES).map(str.upper),
    st.sampled_from(ACCOUNTS),
    st.sampled_from(ACCOUNTS).map(lambda name: "@" + name),
    st.sampled_from(["вчера", "yesterday", "сегодня", "позавчера", "day before yesterday"]),
    st.sampled_from([">", "->", "→", "+", "-", "#", "@", "#отпуск", "#Ёлка", "NaN", "∞", "1e5"]),
    st.text(alphabet="0123456789 .,+-#@>→ёЁ٢５", max_size=8),
    st.text(max_size=6),
)


@PROPERTY
@given(st.lists(WORDS, max_size=8), st.sampled_from([" ", "  ", "\t", "\u00a0"]))
def test_near_valid_lines_give_a_command_or_a_parse_error(words: list[str], gap: str) -> None:
    line = gap.join(words)
    assert_well_formed(parse_line(line, VOCABULARY, today=TODAY, currency="UAH"), text=line)
    transfer = parse_transfer_arguments(line, VOCABULARY, today=TODAY, currency="UAH")
    assert_well_formed(transfer, text=line)


# What right-to-left keyboards and text copied out of other apps slip in unseen.
INVISIBLE_MARKS = "\u00ad\u061c\u200b\u200e\u200f\u202a\u202c\u202e\u2060\u2066\u2068\u2069\ufeff"


@PROPERTY
@given(st.lists(WORDS, min_size=1, max_size=8), st.data())
def test_invisible_marks_anywhere_change_nothing(words: list[str], data: st.DataObject) -> None:
    line = " ".join(words)
    marked = line
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(marked)))
        marked = marked[:at] + data.draw(st.sampled_from(INVISIBLE_MARKS)) + marked[at:]
    for parse in (parse_line, parse_transfer_arguments):
        assert parse(marked, VOCABULARY, today=TODAY, currency="UAH") == parse(
            line, VOCABULARY, today=TODAY, currency="UAH"
        )
    assert parse_amount(marked, "UAH") == parse_amount(line, "UAH")


@st.composite
def rendered_amounts(draw: st.DrawFn) -> tuple[int, str]:
    """A positive amount in minor units and one of the ways a person may type it."""
    minor = draw(st.integers(1, MAX_MINOR - 1))
    major, cents = divmod(minor, 100)
    whole = f"{major:,}".replace(",", " ") if draw(st.booleans()) else str(major)
    separator = draw(st.sampled_from([",", "."]))
    if cents == 0:
        fraction = draw(st.sampled_from(["", separator + "0", separator + "00"]))
    elif cents % 10 == 0:
        fraction = separator + draw(st.sampled_from([f"{cents:02d}", str(cents // 10)]))
    else:
        fraction = f"{separator}{cents:02d}"
    return minor, whole + fraction


@PROPERTY
@given(rendered_amounts())
def test_any_valid_amount_reads_back_exactly(amount: tuple[int, str]) -> None:
    minor, text = amount
    expected = Money(minor, "UAH")
    assert parse_amount(text, "UAH") == expected
    expense = parse_line(f"{text} кафе", VOCABULARY, today=TODAY, currency="UAH")
    assert isinstance(expense, RecordExpense)
    assert (expense.amount, expense.category_id) == (expected, CAFE)
    income = parse_line(f"+{text} зарплата", VOCABULARY, today=TODAY, currency="UAH")
    assert isinstance(income, RecordIncome)
    assert income.amount == expected


@PROPERTY
@given(st.lists(st.integers(1, 10**6), min_size=1, max_size=6), st.sampled_from(["+", " + "]))
def test_terms_joined_by_plus_are_summed(terms: list[int], operator: str) -> None:
    line = operator.join(map(str, terms)) + " кафе"
    result = parse_line(line, VOCABULARY, today=TODAY, currency="UAH")
    assert isinstance(result, RecordExpense)
    assert result.amount == Money(sum(terms) * 100, "UAH")


@PROPERTY
@given(st.integers(MAX_MAJOR_UNITS, 10**40))
def test_amounts_from_ten_to_the_twelfth_are_too_large(major: int) -> None:
    result = parse_line(f"{major} кафе", VOCABULARY, today=TODAY, currency="UAH")
    assert result == ParseError(ParseErrorReason.AMOUNT_TOO_LARGE, str(major))


@PROPERTY
@given(st.integers(-(10**9), 0))
def test_amounts_up_to_zero_are_not_positive(value: int) -> None:
    result = parse_line(f"{value} кафе", VOCABULARY, today=TODAY, currency="UAH")
    assert result == ParseError(ParseErrorReason.AMOUNT_NOT_POSITIVE, str(value))


NON_ASCII_DIGITS = st.characters(categories=["Nd"]).filter(lambda c: not "0" <= c <= "9")


@PROPERTY
@given(st.text(alphabet=NON_ASCII_DIGITS, min_size=1, max_size=5))
def test_only_ascii_digits_make_an_amount(digits: str) -> None:
    result = parse_line(f"{digits} кафе", VOCABULARY, today=TODAY, currency="UAH")
    assert result == ParseError(ParseErrorReason.INVALID_AMOUNT, digits)


@PROPERTY
@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
    st.integers(0, 364),
    st.booleans(),
)
def test_a_year_less_date_is_the_latest_such_day_not_after_today(
    today: date, days_back: int, leading: bool
) -> None:
    day = today - timedelta(days=days_back)
    stamp = f"{day.day:02d}.{day.month:02d}"
    line = f"{stamp} 250 кафе" if leading else f"250 кафе {stamp}"
    result = parse_line(line, VOCABULARY, today=today, currency="UAH")
    if day < EARLIEST_DAY:  # the sane window (issue 9)
        assert result == ParseError(ParseErrorReason.DATE_OUT_OF_RANGE, stamp)
        return
    assert isinstance(result, RecordExpense)
    assert result.booked_on == day


@PROPERTY
@given(st.dates(max_value=date(2100, 12, 31)), st.dates(max_value=date(2100, 12, 31)))
def test_a_full_date_is_taken_as_written_unless_it_is_in_the_future(today: date, day: date) -> None:
    stamp = f"{day.day}.{day.month}.{day.year:04d}"
    result = parse_line(f"{stamp} 250 кафе", VOCABULARY, today=today, currency="UAH")
    if day > today:
        assert result == ParseError(ParseErrorReason.FUTURE_DATE, stamp)
    elif day < EARLIEST_DAY:  # the sane window (issue 9)
        assert result == ParseError(ParseErrorReason.DATE_OUT_OF_RANGE, stamp)
    else:
        assert isinstance(result, RecordExpense)
        assert result.booked_on == day
