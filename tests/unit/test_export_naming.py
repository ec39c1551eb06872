"""The export's pure parts: account names each tool takes, told apart; base amounts; the
conversion as a price; the period words (docs/adr/0018)."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

import pytest
from beancount.core import account as beancount_account
from hypothesis import given
from hypothesis import strategies as st

from finance_bot.adapters.export.accounts import beancount_component, hledger_component
from finance_bot.adapters.export.ledger_journal import LedgerJournalWriter
from finance_bot.adapters.export.legs import journal_legs
from finance_bot.adapters.postgres.export import base_amount
from finance_bot.application.export import export_period, period_label
from finance_bot.ports.export import ExportedConversion, ExportedPosting
from tests.support.export_tools import hledger_balances, run, tool

names = st.text(min_size=1, max_size=30)


@given(names)
def test_every_name_becomes_one_beancount_takes(name: str) -> None:
    assert beancount_account.is_valid(f"Expenses:{beancount_component(name)}")
    assert beancount_component(name) == beancount_component(name)


@given(names)
def test_every_name_becomes_one_hledger_takes(name: str) -> None:
    component = hledger_component(name)
    assert ":" not in component
    assert "  " not in component
    assert not any(c in component for c in "\t\r\n")
    assert component == component.strip()
    assert component[0] not in "([*!;#"
    assert all(c == " " for c in component if unicodedata.category(c) == "Zs")


@given(names, names)
def test_two_names_stay_two_accounts(first: str, second: str) -> None:
    if hledger_component(first) == hledger_component(second):
        assert first == second
    if beancount_component(first) == beancount_component(second):
        # only a first letter's case may be lost: "кафе" and "Кафе" are one word to the bot
        assert first[1:] == second[1:]
        assert first[:1].upper() == second[:1].upper()


@pytest.mark.parametrize(
    ("name", "beancount", "hledger"),
    [
        ("кафе", "Кафе", "кафе"),
        ("Кафе", "Кафе", "Кафе"),
        ("кафе-бар", "Кафе-бар", "кафе-бар"),
        ("кафе бар", "Кафе-бар-e1b6cb72", "кафе бар"),
        ("кафе: бар", "Кафе-бар-", "кафе- бар-"),
        ("🍕", "X-", "🍕"),
        ("(скобки)", "Скобки-", "X-(скобки)-"),
    ],
)
def test_names_as_written(name: str, beancount: str, hledger: str) -> None:
    assert beancount_component(name).startswith(beancount)
    assert hledger_component(name).startswith(hledger)
    unchanged = name in (beancount, hledger)
    assert unchanged or len(beancount_component(name)) > len(beancount)


# hledger's parser takes every Unicode space (Haskell's isSpace) for a space: one inside a
# name is read back as " ", two in a row end the name. An imported file can hold them.
SPACED_NAMES = [
    "кафе бар",
    "кафе\u00a0бар",
    "кафе\u00a0 бар",
    "кафе\u2003\u2003бар",
    "кафе\u3000бар",
]


def test_names_with_unicode_spaces_stay_apart_in_hledger(tmp_path: Path) -> None:
    journal = tmp_path / "books.journal"
    with journal.open("w", encoding="utf-8") as out:
        writer = LedgerJournalWriter(out)
        for number, name in enumerate(SPACED_NAMES, 1):
            spent = replace(_leg(f"{number}.00", "UAH", conversion=False), account_name=name)
            spent = replace(spent, account_type="expense", number=number)
            paid = replace(spent, account_name="card", account_type="asset", amount=-spent.amount)
            paid = replace(paid, transaction_id=spent.transaction_id)
            writer.transaction([spent, paid], dated=spent.booked_on)
        writer.finish()
    run(tool("hledger"), "-f", str(journal), "check", "--strict")
    spending = hledger_balances(journal, "^Expenses:")
    assert sorted(spending.values(), key=lambda found: found["UAH"]) == [
        {"UAH": Decimal(number)} for number in range(1, len(SPACED_NAMES) + 1)
    ]


def _leg(
    amount: str, currency: str, code: str | None = None, *, conversion: bool = True
) -> ExportedPosting:
    return ExportedPosting(
        transaction_id=uuid4(),
        number=1,
        booked_on=date(2026, 11, 4),
        kind="expense",
        author_telegram_id=1,
        author_name="",
        account_name=code or currency,
        account_type="equity" if code else "asset",
        account_code=code,
        account_owner_telegram_id=None,
        amount=Decimal(amount),
        currency=currency,
        base_amount=None,
        base_currency="UAH",
        note="",
        tags=(),
        voids=None,
        voided_by=None,
        conversion=ExportedConversion(
            Decimal("15.00"), "USD", Decimal("622.50"), "UAH", Decimal("41.5")
        )
        if conversion
        else None,
    )


def test_a_conversion_through_the_trading_accounts_becomes_a_price() -> None:
    cafe = _leg("622.50", "UAH")
    dollars = _leg("-15.00", "USD")
    legs = [
        cafe,
        _leg("-622.50", "UAH", "conversion:UAH"),
        _leg("15.00", "USD", "conversion:USD"),
        dollars,
    ]
    written = journal_legs(legs)
    assert [(leg.posting, leg.price) for leg in written] == [
        (cafe, None),
        (dollars, (Decimal("622.50"), "UAH")),
    ]
    # one currency only: as it is
    single = [_leg("10.00", "UAH"), _leg("-10.00", "UAH")]
    assert [leg.price for leg in journal_legs(single)] == [None, None]


def test_base_amounts() -> None:
    conversion = ExportedConversion(
        Decimal("15.00"), "USD", Decimal("622.50"), "UAH", Decimal("41.5")
    )
    assert base_amount(Decimal("-250.00"), "UAH", "UAH", 2, None) == Decimal("-250.00")
    assert base_amount(Decimal("-15.00"), "USD", "UAH", 2, conversion) == Decimal("-622.50")
    assert base_amount(Decimal("5.00"), "USD", "UAH", 2, conversion) == Decimal("207.50")
    assert base_amount(Decimal("5.00"), "USD", "UAH", 2, None) is None
    crossed = ExportedConversion(Decimal("100"), "USD", Decimal("90"), "EUR", Decimal("0.9"))
    assert base_amount(Decimal("-100.00"), "USD", "UAH", 2, crossed) is None


@pytest.mark.parametrize(
    ("text", "label"), [(None, "all"), ("", "all"), ("2026", "2026"), ("2026-3", "2026-03")]
)
def test_periods(text: str | None, label: str) -> None:
    assert period_label(export_period(text)) == label


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "1999", "2101", "26", "2026-1-1", "вчера"])
def test_bad_periods(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        export_period(text)
