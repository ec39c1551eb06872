"""The CSV reader takes an export exactly as the bot writes it, and refuses anything else
with the line a record starts on and a plain reason (docs/adr/0019)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from uuid import UUID

import pytest

from finance_bot.adapters.export.csv_reader import read_csv
from finance_bot.ports.books_import import BooksRefused
from finance_bot.ports.export import ExportedConversion, ExportedPosting
from tests.support.books_csv import write_csv

ALICE, BOB = 1001, 1002
IDS = [UUID(f"01a2376b-0000-7000-8000-{n:012x}") for n in range(10)]


def posting(
    number: int,
    account: tuple[str, str, str | None, int | None],
    amount: str,
    currency: str = "UAH",
    *,
    author: int = ALICE,
    kind: str = "expense",
    note: str = "",
    tags: tuple[str, ...] = (),
    voids: UUID | None = None,
    voided_by: UUID | None = None,
    conversion: ExportedConversion | None = None,
) -> ExportedPosting:
    name, type_, code, owner = account
    value = Decimal(amount)
    return ExportedPosting(
        transaction_id=IDS[number],
        number=number,
        booked_on=date(2026, 11, number),
        kind=kind,
        author_telegram_id=author,
        author_name={ALICE: 'Алиса "Al", Jr.', BOB: "Bob"}[author],
        account_name=name,
        account_type=type_,
        account_code=code,
        account_owner_telegram_id=owner,
        amount=value,
        currency=currency,
        base_amount=value if currency == "UAH" else None,
        base_currency="UAH",
        note=note,
        tags=tags,
        voids=voids,
        voided_by=voided_by,
        conversion=conversion,
    )


CAFE = ("кафе", "expense", "cafe", None)
CARD = ("карта", "asset", "card", ALICE)
DOLLARS = ("доллары", "asset", None, None)
YEN = ("円", "asset", None, ALICE)
THROUGH_UAH = ("⇄ UAH", "equity", "conversion:UAH", None)
THROUGH_USD = ("⇄ USD", "equity", "conversion:USD", None)
THROUGH_JPY = ("⇄ JPY", "equity", "conversion:JPY", None)
SPENT = ExportedConversion(Decimal("15.00"), "USD", Decimal("622.50"), "UAH", Decimal("41.5"))
EXCHANGED = ExportedConversion(Decimal("1000.00"), "UAH", Decimal("3600"), "JPY", Decimal("3.6"))
NOTE = 'кофе "Ла Марзокко", два\r\nстроки, and\nmore'

POSTINGS = [
    posting(1, CAFE, "250.00", note=NOTE, tags=("work", "☕"), voided_by=IDS[2]),
    posting(1, CARD, "-250.00", note=NOTE, tags=("work", "☕"), voided_by=IDS[2]),
    posting(2, CAFE, "-250.00", kind="reversal", note=NOTE, tags=("work", "☕"), voids=IDS[1]),
    posting(2, CARD, "250.00", kind="reversal", note=NOTE, tags=("work", "☕"), voids=IDS[1]),
    posting(3, CAFE, "622.50", author=BOB, conversion=SPENT),
    posting(3, DOLLARS, "-15.00", "USD", author=BOB, conversion=SPENT),
    posting(3, THROUGH_UAH, "-622.50", author=BOB, conversion=SPENT),
    posting(3, THROUGH_USD, "15.00", "USD", author=BOB, conversion=SPENT),
    posting(4, CARD, "-1000.00", kind="transfer", conversion=EXCHANGED),
    posting(4, THROUGH_UAH, "1000.00", kind="transfer", conversion=EXCHANGED),
    posting(4, YEN, "3600", "JPY", kind="transfer", conversion=EXCHANGED),
    posting(4, THROUGH_JPY, "-3600", "JPY", kind="transfer", conversion=EXCHANGED),
]


def good() -> str:
    out = io.StringIO(newline="")
    write_csv(POSTINGS, out)
    return out.getvalue()


def rows() -> list[list[str]]:
    return [list(row) for row in csv.reader(io.StringIO(good(), newline=""))]


def text(table: list[list[str]]) -> str:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(table)
    return out.getvalue()


def test_a_good_file_reads_back_as_the_postings_it_was_written_from() -> None:
    books = read_csv(good())
    assert list(books.postings) == POSTINGS
    # Row 1 takes two lines (the note's line breaks), so each later record starts lower.
    assert books.lines == {IDS[1]: 2, IDS[2]: 8, IDS[3]: 14, IDS[4]: 18}


def test_line_feeds_alone_are_taken_too() -> None:
    table = rows()
    for row in table[1:]:
        row[14] = row[14].replace("\r\n", "\n")
    lf = text(table).replace("\r\n", "\n")
    assert len(read_csv(lf).postings) == len(POSTINGS)


def column(name: str) -> int:
    return rows()[0].index(name)


def setting(row: int, name: str, value: str) -> Callable[[list[list[str]]], None]:
    def change(table: list[list[str]]) -> None:
        table[row][column(name)] = value

    return change


def setting_all(first: int, last: int, name: str, value: str) -> Callable[[list[list[str]]], None]:
    def change(table: list[list[str]]) -> None:
        for row in table[first : last + 1]:
            row[column(name)] = value

    return change


def dropping(row: int) -> Callable[[list[list[str]]], None]:
    def change(table: list[list[str]]) -> None:
        del table[row]

    return change


def reordering(*order: int) -> Callable[[list[list[str]]], None]:
    """The data rows in this order (1-based, as in the table)."""

    def change(table: list[list[str]]) -> None:
        table[1:] = [table[i] for i in order]

    return change


# Rows: 1-2 #1 (lines 2 and 5), 3-4 #2 (lines 8, 11), 5-8 #3 (lines 14-17),
# 9-12 #4 (lines 18-21).
REFUSED = {
    "the header": (lambda t: t[0].__setitem__(0, "id"), 1, "not the CSV export's header"),
    "a field too few": (lambda t: t[5].pop(), 14, "20 fields where 21 are expected"),
    "an uppercase uuid": (
        setting_all(5, 8, "transaction_id", str(IDS[3]).upper()),
        14,
        "not a lowercase hyphenated uuid",
    ),
    "number zero": (setting_all(5, 8, "number", "0"), 14, "not a positive whole number"),
    "number with a leading zero": (setting_all(5, 8, "number", "03"), 14, "positive whole"),
    # bigint's last: the household's next entry would have no number left (it fails, always)
    "the last number there is": (
        setting_all(9, 12, "number", str(2**63 - 1)),
        18,
        "no room for the entries after it",
    ),
    "no such day": (setting_all(5, 8, "date", "2026-02-30"), 14, "not a date"),
    # The chat books 2000-01-01 to today and reports 2000 to 2100 (docs/adr/0012): a day
    # outside would count in /balance and show in no /month, /year or `export --period`.
    "a day before 2000": (setting_all(5, 8, "date", "1999-12-31"), 14, "years 2000 to 2100"),
    "year one": (setting_all(5, 8, "date", "0001-01-01"), 14, "years 2000 to 2100"),
    "a day past 2100": (setting_all(9, 12, "date", "2101-01-01"), 18, "years 2000 to 2100"),
    "an unknown kind": (setting_all(5, 8, "kind", "gift"), 14, "kind 'gift' is not one of"),
    "an unknown account type": (setting(6, "account_type", "savings"), 15, "'savings'"),
    "an unknown currency": (setting(6, "currency", "XYZ"), 15, "not a known ISO 4217"),
    "a lowercase currency": (setting(6, "currency", "usd"), 15, "not a known ISO 4217"),
    "gold": (setting(6, "currency", "XAU"), 15, "not a known ISO 4217"),
    "one digit short": (setting(5, "amount", "622.5"), 14, "2 digits after the point"),
    "yen with cents": (setting(11, "amount", "3600.00"), 20, "no decimal point"),
    "a plus sign": (setting(6, "amount", "+15.00"), 15, "not an amount"),
    "grouping": (setting(5, "amount", "1,622.50"), 14, "not an amount"),
    "an exponent": (setting(6, "amount", "-1.5E1"), 15, "not an amount"),
    "negative zero": (setting(6, "amount", "-0.00"), 15, "negative zero"),
    "zero": (setting(6, "amount", "0.00"), 15, "amount is zero"),
    "a base amount that is not the amount": (
        setting(5, "base_amount", "600.00"),
        14,
        "base_amount differs",
    ),
    "another base currency": (setting(5, "base_currency", "EUR"), 14, "base_currency"),
    "a category with an owner": (setting(5, "account_owner", str(BOB)), 14, "belongs to no"),
    "a blank account": (setting(5, "account", " "), 14, "account is empty"),
    "tags with two spaces": (setting_all(1, 2, "tags", "a  b"), 2, "single spaces"),
    "a reversal that voids nothing": (setting_all(3, 4, "voids", ""), 8, "exactly on reversals"),
    "an expense that voids": (setting_all(5, 8, "voids", str(IDS[1])), 14, "exactly on"),
    "a note that differs on a row": (setting(6, "note", "x"), 15, "note differs"),
    # #3's hryvnia legs, #4, then #3's dollar legs: each part balances on its own.
    "rows apart": (
        reordering(1, 2, 3, 4, 5, 7, 9, 10, 11, 12, 6, 8),
        20,
        "its rows must be together",
    ),
    "numbers out of order": (
        reordering(1, 2, 3, 4, 9, 10, 11, 12, 5, 6, 7, 8),
        18,
        "number 3 after 4: out of ledger order",
    ),
    "one row": (dropping(2), 2, "at least two rows"),
    # both legs pasted twice: balanced, but the bot writes no row twice (the entry doubled)
    "rows repeated": (
        reordering(1, 2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
        8,
        "repeats its transaction's row on line 2",
    ),
    "unbalanced": (setting(6, "amount", "-16.00"), 14, "unbalanced in USD by -1.00"),
    "two currencies without a conversion": (
        setting_all(5, 8, "conversion_from", ""),
        14,
        "go together",
    ),
    "a rate that does not fit": (
        setting_all(5, 8, "conversion_rate", "42"),
        14,
        "conversion does not hold",
    ),
    "a rate with a trailing zero": (
        setting_all(5, 8, "conversion_rate", "41.50"),
        14,
        "plain decimal",
    ),
    "a conversion in other currencies": (
        setting_all(5, 8, "conversion_from", "15.00 EUR"),
        14,
        "not one of its conversion's",
    ),
    "a void not answered": (setting_all(1, 2, "voided_by", ""), 8, "does not show voided"),
    "another name for the author": (setting_all(9, 12, "author_name", "Alice"), 18, "named"),
    # PostgreSQL's text holds no NUL: in a name it broke the import with a database error
    "a NUL in a name": (
        setting_all(9, 12, "author_name", "Bo\x00b"),
        18,
        "author_name holds a NUL character",
    ),
    "a NUL in a note": (setting_all(3, 4, "note", "\x00"), 8, "note holds a NUL character"),
    "one code, two accounts": (setting(10, "account", "⇄ UAH 2"), 19, "account code"),
}


@pytest.mark.parametrize("change", sorted(REFUSED))
def test_what_the_export_never_writes_is_refused_with_its_line(change: str) -> None:
    edit, line, reason = REFUSED[change]
    table = rows()
    edit(table)
    with pytest.raises(BooksRefused) as refused:
        read_csv(text(table))
    assert refused.value.line == line, refused.value
    assert reason in refused.value.reason


@pytest.mark.parametrize(
    ("damaged", "line", "reason"),
    [
        ("", 1, "empty"),
        ("\ufeff" + good(), 1, "byte order mark"),
        (good()[:-2], 21, "no line break"),
        (good()[:-40], 21, "no line break"),
        (good().split("\r\n", 1)[0] + "\r\n", None, None),  # the header alone: nothing
        (good().replace('"кофе', "кофе", 1), 2, "16 fields where 21 are expected"),
        (good()[: good().index("строки")], 2, "not well-formed CSV (unexpected end of data)"),
    ],
)
def test_a_file_cut_short_or_not_csv_is_refused(
    damaged: str, line: int | None, reason: str | None
) -> None:
    if reason is None:
        assert read_csv(damaged).postings == ()
        return
    with pytest.raises(BooksRefused) as refused:
        read_csv(damaged)
    assert refused.value.line == line, refused.value
    assert reason in refused.value.reason
