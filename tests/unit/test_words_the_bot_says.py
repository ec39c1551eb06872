"""Every reply is whole: no empty placeholder, no internal English string (issue 9, item 6)."""

from __future__ import annotations

import inspect
import re
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finance_bot.adapters.telegram.i18n import LANGUAGES, Catalog, placeholders
from finance_bot.adapters.telegram.presenters import error_text, parse_error_text
from finance_bot.domain import errors
from finance_bot.domain.commands import ParseError, ParseErrorReason, Vocabulary
from finance_bot.domain.parser import parse_line, parse_transfer_arguments

CATALOG = Catalog.load()
TODAY = date(2026, 11, 27)
VOCABULARY = Vocabulary(
    expense_aliases={"кафе": 1, "такси": 2},
    income_aliases={"зарплата": 3},
    account_names={"карта": 10, "наличные": 11, "нал": 11},
)
_EMPTY_QUOTES = re.compile(r"«\s|\s»|“\s|\s”|\(\s*\)|: \.")


def rendered(language: str, key: str) -> str:
    template = CATALOG.raw(language, key)
    return CATALOG.translator(language)(
        key, **{name: f"<{name}>" for name in placeholders(template)}
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_rendered_with_every_placeholder_is_whole(language: str) -> None:
    for key in sorted(CATALOG.keys(language)):
        if not isinstance(CATALOG.raw(language, key), str):
            continue
        text = rendered(language, key)
        assert text.strip(), key
        assert "{" not in text, key
        assert "}" not in text, key
        assert _EMPTY_QUOTES.search(text) is None, key
        for name in placeholders(CATALOG.raw(language, key)):
            assert f"<{name}>" in text, (key, name)


def _instances() -> list[errors.LedgerRuleViolation]:
    made = []
    for _, kind in inspect.getmembers(errors, inspect.isclass):
        if not issubclass(kind, errors.LedgerRuleViolation) or kind is errors.LedgerRuleViolation:
            continue
        parameters = [
            p
            for p in inspect.signature(kind.__init__).parameters.values()
            if p.name != "self" and p.kind is p.POSITIONAL_OR_KEYWORD
        ]
        samples: dict[str, object] = {"number": 7, "telegram_id": 5, "code": "ZZZ"}
        if not parameters or parameters[0].name == "args":
            made.append(kind("an internal english explanation"))
            continue
        made.append(kind(*(samples.get(p.name, "копилка") for p in parameters)))
    made.append(errors.NameAlreadyTaken("такси", holder="такси"))
    made.append(errors.UnknownAccount(""))
    made.append(errors.UnknownCategory(""))
    made.append(errors.InvalidName(""))
    return made


@pytest.mark.parametrize("error", _instances(), ids=lambda e: type(e).__name__)
def test_every_refusal_is_said_in_the_readers_words(error: errors.LedgerRuleViolation) -> None:
    for language in LANGUAGES:
        t = CATALOG.translator(language)
        text = error_text(error, t)
        assert text != t("something_went_wrong"), language
        assert str(error) not in text, language
        assert "english" not in text, language
        assert _EMPTY_QUOTES.search(text) is None, (language, text)


_TOKENS = st.sampled_from(
    [
        "250",
        "1 000",
        "+",
        "кафе",
        "такси",
        "карта",
        ">",
        "->",
        "нал",
        "@нал",
        "@",
        "вчера",
        "01.01.0001",
        "27.11",
        "#тег",
        "x",
        "",
        "0",
        "зарплата",
    ]
)


@settings(deadline=None)
@given(tokens=st.lists(_TOKENS, max_size=6))
def test_a_parse_error_quotes_something_whenever_its_message_quotes(tokens: list[str]) -> None:
    line = " ".join(tokens)
    for parsed in (
        parse_line(line, VOCABULARY, today=TODAY, currency="UAH"),
        parse_transfer_arguments(line, VOCABULARY, today=TODAY, currency="UAH"),
    ):
        if not isinstance(parsed, ParseError):
            continue
        for language in LANGUAGES:
            text = parse_error_text(parsed, CATALOG.translator(language))
            assert _EMPTY_QUOTES.search(text) is None, (line, parsed, text)


def test_every_parse_error_reason_has_words() -> None:
    for reason in ParseErrorReason:
        for language in LANGUAGES:
            text = parse_error_text(ParseError(reason, "x"), CATALOG.translator(language))
            assert text.strip(), reason
