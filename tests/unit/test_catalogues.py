"""Both languages say everything, with the same placeholders."""

from __future__ import annotations

import pytest

from finance_bot.adapters.telegram.formatting import format_money
from finance_bot.adapters.telegram.i18n import Catalog, placeholders, resolve_language
from finance_bot.adapters.telegram.presenters import split_message
from finance_bot.domain.money import Money


def test_every_message_exists_in_both_languages_with_the_same_placeholders() -> None:
    catalog = Catalog.load()
    assert catalog.keys("ru") == catalog.keys("en")
    for key in catalog.keys("ru"):
        russian, english = catalog.raw("ru", key), catalog.raw("en", key)
        if isinstance(russian, str):
            assert placeholders(russian) == placeholders(english), key
        else:
            assert len(russian) == len(english) == 12, key  # the month names


@pytest.mark.parametrize(
    ("chosen", "telegram", "expected"),
    [
        ("en", "ru", "en"),
        (None, "uk", "ru"),
        (None, "be-BY", "ru"),
        (None, "de", "en"),
        (None, None, "ru"),
        ("xx", "en", "en"),
    ],
)
def test_language_follows_choice_then_telegram_then_fallback(
    chosen: str | None, telegram: str | None, expected: str
) -> None:
    assert resolve_language(chosen, telegram, "ru") == expected


@pytest.mark.parametrize(
    ("minor", "currency", "language", "text"),
    [
        (150000, "UAH", "ru", "1\u00a0500,00\u00a0₴"),
        (150000, "UAH", "en", "₴1,500.00"),
        (-25050, "UAH", "ru", "−250,50\u00a0₴"),
        (-25050, "USD", "en", "−$250.50"),
        (1234567, "JPY", "en", "¥1,234,567"),
        (100, "PLN", "en", "1.00\u00a0zł"),
        (5, "CZK", "ru", "0,05\u00a0CZK"),
    ],
)
def test_money_is_written_as_each_language_writes_it(
    minor: int, currency: str, language: str, text: str
) -> None:
    assert format_money(Money(minor, currency), language) == text


def test_long_text_is_split_at_line_ends_within_the_limit() -> None:
    text = "\n".join(f"line {n:04d} " + "x" * 80 for n in range(200))
    parts = split_message(text)
    assert len(parts) > 1
    assert all(len(part) <= 4096 for part in parts)
    assert "\n".join(parts) == text
    one_long_line = "y" * 9000
    assert [len(part) for part in split_message(one_long_line)] == [4096, 4096, 808]
