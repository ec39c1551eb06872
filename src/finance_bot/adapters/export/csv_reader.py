"""The CSV export read back, strictly (docs/product.md §13, docs/adr/0019).

Every field is checked against the format the export writes, every transaction against the
ledger's rules (balanced per currency, its rows together and in agreement, its conversion
and void links consistent), and the file against being cut short. Anything else is refused
with the line a record starts on and a plain reason: an import either takes the file as the
bot wrote it or takes nothing.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Final
from uuid import UUID

from finance_bot.domain import currencies
from finance_bot.domain.errors import LedgerRuleViolation
from finance_bot.domain.money import Money
from finance_bot.domain.periods import EARLIEST_DAY, LATEST_REPORT_YEAR, reportable
from finance_bot.domain.transactions import Conversion
from finance_bot.ports.books_import import BooksRefused
from finance_bot.ports.export import ExportedConversion, ExportedPosting

HEADER: Final = [
    "transaction_id", "number", "date", "kind", "author", "author_name", "account",
    "account_type", "account_code", "account_owner", "amount", "currency", "base_amount",
    "base_currency", "note", "tags", "voids", "voided_by", "conversion_from", "conversion_to",
    "conversion_rate",
]  # fmt: skip

_KINDS: Final = frozenset({"expense", "income", "transfer", "reversal"})
_ACCOUNT_TYPES: Final = frozenset({"asset", "liability", "equity", "income", "expense"})
_BIGINT_MAX: Final = 2**63 - 1
# A transaction number a household can go on from: far past any (a thousand entries a
# second for thirty years), far below bigint's end, where its next entry would fail.
_NUMBER_MAX: Final = 10**12
_ID: Final = re.compile(r"[1-9][0-9]{0,18}")
_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_AMOUNT: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.([0-9]+))?")
_RATE: Final = re.compile(r"(?:0|[1-9][0-9]*)(?:\.[0-9]*[1-9])?")
_CODE: Final = re.compile(r"[A-Z]{3}")
# The fields every row of one transaction repeats.
_TRANSACTION_FIELDS: Final = (
    "number", "date", "kind", "author", "author_name", "base_currency", "note", "tags",
    "voids", "voided_by", "conversion_from", "conversion_to", "conversion_rate",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ReadBooks:
    postings: tuple[ExportedPosting, ...]  # in the file's order, which is the ledger's
    lines: Mapping[UUID, int]  # the line each transaction starts on


def read_csv(text: str) -> ReadBooks:
    """Parse and check a whole CSV export; BooksRefused on the first thing wrong."""
    if text.startswith("\ufeff"):
        raise BooksRefused(1, "the file starts with a byte order mark; the export writes none")
    if not text:
        raise BooksRefused(1, "the file is empty: no header")
    if not text.endswith("\n"):
        last = text.count("\n") + 1
        raise BooksRefused(last, "the last line has no line break: the file is cut short")
    reader = _Reader()
    rows = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    try:
        for row in rows:
            reader.take(start, row)
            start = rows.line_num + 1
    except csv.Error as error:
        raise BooksRefused(start, f"not well-formed CSV ({error})") from None
    return reader.finish()


@dataclass
class _Open:
    """The transaction whose rows are being read."""

    line: int
    fields: dict[str, str]
    postings: list[ExportedPosting] = field(default_factory=list)
    rows: dict[ExportedPosting, int] = field(default_factory=dict)  # each row's line


class _Reader:
    def __init__(self) -> None:
        self._header_seen = False
        self._postings: list[ExportedPosting] = []
        self._lines: dict[UUID, int] = {}
        self._open: _Open | None = None
        self._last_number = 0
        self._base_currency: str | None = None
        self._voids: dict[UUID, tuple[UUID, int]] = {}  # reversal -> (original, line)
        self._voided_by: dict[UUID, tuple[UUID, int]] = {}  # original -> (reversal, line)
        self._names: dict[int, str] = {}
        # One account per (type, code, owner), as the ledger has it.
        self._coded: dict[tuple[str, str, int | None], tuple[str, str]] = {}

    def take(self, line: int, row: list[str]) -> None:
        if not self._header_seen:
            if row != HEADER:
                raise BooksRefused(line, "the header is not the CSV export's header")
            self._header_seen = True
            return
        if len(row) != len(HEADER):
            raise BooksRefused(line, f"{len(row)} fields where {len(HEADER)} are expected")
        fields = dict(zip(HEADER, row, strict=True))
        for name, value in fields.items():
            # PostgreSQL's text cannot hold one: refused here, with its line, not by the
            # database halfway through the load.
            if "\x00" in value:
                raise BooksRefused(
                    line, f"{name} holds a NUL character, which the books cannot keep"
                )
        posting = self._posting(line, fields)
        current = self._open
        if current is not None and current.postings[0].transaction_id == posting.transaction_id:
            for name in _TRANSACTION_FIELDS:
                if fields[name] != current.fields[name]:
                    raise BooksRefused(
                        line,
                        f"{name} differs from the transaction's first row (line {current.line})",
                    )
            # The bot writes no posting twice: rows pasted again would balance and count twice.
            if posting in current.rows:
                raise BooksRefused(
                    line, f"it repeats its transaction's row on line {current.rows[posting]}"
                )
            current.postings.append(posting)
            current.rows[posting] = line
            return
        if current is not None:
            self._close(current)
        if posting.transaction_id in self._lines:
            raise BooksRefused(
                line,
                f"transaction {posting.transaction_id} started on line "
                f"{self._lines[posting.transaction_id]}; its rows must be together",
            )
        if posting.number <= self._last_number:
            raise BooksRefused(
                line, f"number {posting.number} after {self._last_number}: out of ledger order"
            )
        self._last_number = posting.number
        self._lines[posting.transaction_id] = line
        self._open = _Open(line, fields, [posting], {posting: line})

    def finish(self) -> ReadBooks:
        if not self._header_seen:
            raise BooksRefused(1, "the file has no header")
        if self._open is not None:
            self._close(self._open)
        for reversal, (original, line) in self._voids.items():
            if self._voided_by.get(original, (None, 0))[0] != reversal:
                raise BooksRefused(
                    line, f"it voids {original}, which the file does not show voided by it"
                )
        for original, (reversal, line) in self._voided_by.items():
            if self._voids.get(reversal, (None, 0))[0] != original:
                raise BooksRefused(
                    line, f"it is voided by {reversal}, which the file does not show voiding it"
                )
        return ReadBooks(tuple(self._postings), dict(self._lines))

    def _close(self, transaction: _Open) -> None:
        line, postings = transaction.line, transaction.postings
        first = postings[0]
        if len(postings) < 2:
            raise BooksRefused(line, "a transaction has at least two rows; this one has one")
        by_currency: dict[str, Decimal] = defaultdict(Decimal)
        for posting in postings:
            by_currency[posting.currency] += posting.amount
        for currency, total in sorted(by_currency.items()):
            if total != 0:
                raise BooksRefused(line, f"the transaction is unbalanced in {currency} by {total}")
        conversion = first.conversion
        if len(by_currency) > 2:
            raise BooksRefused(line, "the transaction mixes more than two currencies")
        if len(by_currency) == 2 and conversion is None:
            raise BooksRefused(line, "the transaction mixes two currencies without a conversion")
        if conversion is not None and not set(by_currency) <= {
            conversion.from_currency,
            conversion.to_currency,
        }:
            raise BooksRefused(line, "a posting's currency is not one of its conversion's")
        if first.voids is not None:
            self._voids[first.transaction_id] = (first.voids, line)
        if first.voided_by is not None:
            self._voided_by[first.transaction_id] = (first.voided_by, line)
        self._postings.extend(postings)

    def _posting(self, line: int, row: dict[str, str]) -> ExportedPosting:
        base_currency = _currency(line, "base_currency", row["base_currency"])
        if self._base_currency is None:
            self._base_currency = base_currency
        elif base_currency != self._base_currency:
            raise BooksRefused(line, "base_currency differs from the file's first row")
        currency = _currency(line, "currency", row["currency"])
        amount = _amount(line, "amount", row["amount"], currency)
        if amount == 0:
            raise BooksRefused(line, "amount is zero; every posting moves money")
        base_amount = (
            _amount(line, "base_amount", row["base_amount"], base_currency)
            if row["base_amount"]
            else None
        )
        if currency == base_currency and base_amount not in (None, amount):
            raise BooksRefused(line, "base_amount differs from amount in the base currency")
        kind = row["kind"]
        if kind not in _KINDS:
            raise BooksRefused(line, f"kind {kind!r} is not one of {', '.join(sorted(_KINDS))}")
        account_type = row["account_type"]
        if account_type not in _ACCOUNT_TYPES:
            raise BooksRefused(line, f"account type {account_type!r} is unknown")
        account = row["account"]
        if not account.strip():
            raise BooksRefused(line, "account is empty")
        owner = _telegram_id(line, "account_owner", row["account_owner"], optional=True)
        if owner is not None and account_type in ("income", "expense"):
            raise BooksRefused(line, "a category belongs to no one, but account_owner is set")
        tags = tuple(row["tags"].split(" ")) if row["tags"] else ()
        if any(not tag for tag in tags):
            raise BooksRefused(line, "tags are separated by single spaces")
        transaction_id = _uuid(line, "transaction_id", row["transaction_id"])
        voids = _uuid(line, "voids", row["voids"]) if row["voids"] else None
        voided_by = _uuid(line, "voided_by", row["voided_by"]) if row["voided_by"] else None
        if (kind == "reversal") != (voids is not None):
            raise BooksRefused(line, "voids is set exactly on reversals")
        if kind == "reversal" and voided_by is not None:
            raise BooksRefused(line, "a reversal cannot be voided")
        if transaction_id in (voids, voided_by):
            raise BooksRefused(line, "a transaction cannot void itself")
        code = row["account_code"] or None
        if code is not None:
            known = self._coded.setdefault((account_type, code, owner), (account, currency))
            if known != (account, currency):
                raise BooksRefused(
                    line, f"account code {code!r} names another account on an earlier line"
                )
        author = _telegram_id(line, "author", row["author"])
        assert author is not None
        self._check_name(line, author, row["author_name"])
        return ExportedPosting(
            transaction_id=transaction_id,
            number=_number(line, row["number"]),
            booked_on=_date(line, row["date"]),
            kind=kind,
            author_telegram_id=author,
            author_name=row["author_name"],
            account_name=account,
            account_type=account_type,
            account_code=code,
            account_owner_telegram_id=owner,
            amount=amount,
            currency=currency,
            base_amount=base_amount,
            base_currency=base_currency,
            note=row["note"],
            tags=tags,
            voids=voids,
            voided_by=voided_by,
            conversion=_conversion(line, row),
        )

    def _check_name(self, line: int, author: int, name: str) -> None:
        known = self._names.setdefault(author, name)
        if known != name:
            raise BooksRefused(line, f"author {author} is named differently on another line")


def _uuid(line: int, name: str, text: str) -> UUID:
    try:
        value = UUID(text)
    except ValueError:
        raise BooksRefused(line, f"{name} {text!r} is not a uuid") from None
    if str(value) != text:
        raise BooksRefused(line, f"{name} {text!r} is not a lowercase hyphenated uuid")
    return value


def _number(line: int, text: str) -> int:
    if not _ID.fullmatch(text) or int(text) > _BIGINT_MAX:
        raise BooksRefused(line, f"number {text!r} is not a positive whole number")
    if int(text) > _NUMBER_MAX:
        raise BooksRefused(
            line, f"number {text!r} is past {_NUMBER_MAX}: no room for the entries after it"
        )
    return int(text)


def _telegram_id(line: int, name: str, text: str, *, optional: bool = False) -> int | None:
    if optional and not text:
        return None
    if not _ID.fullmatch(text) or int(text) > _BIGINT_MAX:
        raise BooksRefused(line, f"{name} {text!r} is not a Telegram id")
    return int(text)


def _date(line: int, text: str) -> date:
    try:
        if not _DATE.fullmatch(text):
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise BooksRefused(line, f"date {text!r} is not a date written YYYY-MM-DD") from None
    # Only what the reports can show (docs/adr/0012): another day would count in /balance
    # and in no /month, /year or `export --period`.
    if not reportable(day):
        raise BooksRefused(
            line,
            f"date {text!r} is outside the years {EARLIEST_DAY.year} to {LATEST_REPORT_YEAR} "
            "the books are kept for",
        )
    return day


def _currency(line: int, name: str, text: str) -> str:
    if not _CODE.fullmatch(text) or not currencies.is_known(text):
        raise BooksRefused(line, f"{name} {text!r} is not a known ISO 4217 currency")
    return text


def _amount(line: int, name: str, text: str, currency: str) -> Decimal:
    """A decimal at the currency's scale, exactly as the export writes it."""
    match = _AMOUNT.fullmatch(text)
    scale = currencies.scale(currency)
    digits = match.group(1) if match else None
    if match is None or len(digits or "") != scale or (digits is not None and scale == 0):
        places = f"{scale} digits after the point" if scale else "no decimal point"
        raise BooksRefused(line, f"{name} {text!r} is not an amount in {currency} ({places})")
    if text.startswith("-") and Decimal(text) == 0:
        raise BooksRefused(line, f"{name} {text!r} is a negative zero")
    value = Decimal(text)
    try:
        minor = Money.from_decimal(value, currency).amount_minor
    except LedgerRuleViolation:
        minor = _BIGINT_MAX + 1
    if abs(minor) > _BIGINT_MAX:
        raise BooksRefused(line, f"{name} {text!r} is too large")
    return value


def _side(line: int, name: str, text: str) -> tuple[Decimal, str]:
    amount, _, code = text.partition(" ")
    currency = _currency(line, name, code)
    value = _amount(line, name, amount, currency)
    if value <= 0:
        raise BooksRefused(line, f"{name} {text!r} is not a positive amount")
    return value, currency


def _conversion(line: int, row: Mapping[str, str]) -> ExportedConversion | None:
    parts = (row["conversion_from"], row["conversion_to"], row["conversion_rate"])
    if not any(parts):
        return None
    if not all(parts):
        raise BooksRefused(line, "conversion_from, conversion_to and conversion_rate go together")
    from_amount, from_currency = _side(line, "conversion_from", parts[0])
    to_amount, to_currency = _side(line, "conversion_to", parts[1])
    if not _RATE.fullmatch(parts[2]) or Decimal(parts[2]) == 0:
        raise BooksRefused(line, f"conversion_rate {parts[2]!r} is not a positive plain decimal")
    rate = Decimal(parts[2])
    try:
        Conversion(
            Money.from_decimal(from_amount, from_currency),
            Money.from_decimal(to_amount, to_currency),
            rate,
        )
    except LedgerRuleViolation as error:
        raise BooksRefused(line, f"the conversion does not hold: {error}") from None
    return ExportedConversion(from_amount, from_currency, to_amount, to_currency, rate)
