"""Money on its own, in the style of beancount's amount_test.py: construction, the decimal
edges, arithmetic, ordering, and the rules it refuses by name."""

from __future__ import annotations

import operator
from decimal import Decimal

import pytest

from finance_bot.domain.errors import AmountTooLarge, CurrencyMismatch, UnknownCurrency
from finance_bot.domain.money import MAX_MAJOR_UNITS, Money, currency_scale


def test_constructor_keeps_minor_units_and_currency() -> None:
    amount = Money(12345, "UAH")
    assert (amount.amount_minor, amount.currency) == (12345, "UAH")


def test_constructor_refuses_non_integer_minor_units() -> None:
    for wrong in (1.5, Decimal("1"), "100", True):
        with pytest.raises(TypeError):
            Money(wrong, "UAH")  # type: ignore[arg-type]


def test_unknown_currency_is_refused_by_name() -> None:
    with pytest.raises(UnknownCurrency) as refused:
        Money(100, "XXX")
    assert refused.value.code == "XXX"
    with pytest.raises(UnknownCurrency):
        currency_scale("uah")  # codes are upper case, as ISO 4217 writes them


def test_zero() -> None:
    assert Money.zero("USD") == Money(0, "USD")
    assert not Money.zero("USD").is_positive


def test_from_decimal_scales_by_the_currency() -> None:
    assert Money.from_decimal(Decimal("12.34"), "UAH") == Money(1234, "UAH")
    assert Money.from_decimal(Decimal("-0.5"), "EUR") == Money(-50, "EUR")
    assert Money.from_decimal(Decimal("1500"), "JPY") == Money(1500, "JPY")
    assert Money.from_decimal(Decimal("1.10"), "USD") == Money(110, "USD")


def test_from_decimal_refuses_more_decimals_than_the_currency_has() -> None:
    with pytest.raises(ValueError, match="at most 2 decimals"):
        Money.from_decimal(Decimal("1.005"), "UAH")
    with pytest.raises(ValueError, match="at most 0 decimals"):
        Money.from_decimal(Decimal("1.5"), "JPY")


def test_from_decimal_refuses_what_is_not_a_finite_number() -> None:
    for value in (Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")):
        with pytest.raises(ValueError, match="not a finite number"):
            Money.from_decimal(value, "UAH")


def test_amounts_at_the_limit_are_refused_by_name() -> None:
    below = Decimal(MAX_MAJOR_UNITS) - Decimal("0.01")
    assert Money.from_decimal(below, "UAH").amount_minor == MAX_MAJOR_UNITS * 100 - 1
    for value in (Decimal(MAX_MAJOR_UNITS), -Decimal(MAX_MAJOR_UNITS)):
        with pytest.raises(AmountTooLarge):
            Money.from_decimal(value, "UAH")


def test_to_decimal_round_trips() -> None:
    for text, currency in (("12.34", "UAH"), ("-0.07", "USD"), ("0", "EUR"), ("900", "JPY")):
        value = Decimal(text)
        assert Money.from_decimal(value, currency).to_decimal() == value
    assert Money(5, "UAH").to_decimal() == Decimal("0.05")


def test_str_shows_the_amount_and_the_currency() -> None:
    assert str(Money(1234, "UAH")) == "12.34 UAH"
    assert str(Money(-5, "USD")) == "-0.05 USD"
    assert str(Money(700, "JPY")) == "700 JPY"


def test_add_subtract_and_negate() -> None:
    assert Money(150, "UAH") + Money(250, "UAH") == Money(400, "UAH")
    assert Money(150, "UAH") - Money(250, "UAH") == Money(-100, "UAH")
    assert -Money(150, "UAH") == Money(-150, "UAH")
    assert -Money(0, "UAH") == Money(0, "UAH")


def test_arithmetic_across_currencies_is_refused_by_name() -> None:
    with pytest.raises(CurrencyMismatch) as refused:
        Money(100, "UAH") + Money(100, "USD")
    assert (refused.value.left, refused.value.right) == ("UAH", "USD")
    with pytest.raises(CurrencyMismatch):
        Money(100, "UAH") - Money(100, "EUR")


def test_ordering_within_one_currency() -> None:
    small, large = Money(100, "UAH"), Money(200, "UAH")
    assert small < large
    assert small <= large
    assert small <= Money(100, "UAH")
    assert large > small
    assert large >= small
    assert large >= Money(200, "UAH")
    assert not (large < small)
    assert not (small > large)


def test_ordering_across_currencies_is_refused_by_name() -> None:
    uah, usd = Money(100, "UAH"), Money(100, "USD")
    for compare in (operator.lt, operator.le, operator.gt, operator.ge):
        with pytest.raises(CurrencyMismatch):
            compare(uah, usd)


def test_equality_needs_the_same_currency() -> None:
    assert Money(100, "UAH") == Money(100, "UAH")
    assert Money(100, "UAH") != Money(100, "USD")
    assert Money(100, "UAH") != Money(101, "UAH")
    assert len({Money(100, "UAH"), Money(100, "UAH"), Money(100, "USD")}) == 2


def test_is_positive() -> None:
    assert Money(1, "UAH").is_positive
    assert not Money(0, "UAH").is_positive
    assert not Money(-1, "UAH").is_positive


def test_money_is_immutable() -> None:
    amount = Money(100, "UAH")
    with pytest.raises(AttributeError):
        amount.amount_minor = 200  # type: ignore[misc]
