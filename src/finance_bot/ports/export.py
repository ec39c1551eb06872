"""The books as they leave the bot and come back: one record per posting, in ledger order
(by transaction number, then posting). The CSV export is these records one per row, and the
CSV import reads them back (docs/product.md §13); the hledger and beancount exports are
written from the same stream."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol
from uuid import UUID


@dataclass(frozen=True, slots=True)
class ExportedConversion:
    """The conversion stored with a transaction: `from` as typed, `to` what it was worth
    or what arrived; rate = to per one from (the `conversions` table)."""

    from_amount: Decimal
    from_currency: str
    to_amount: Decimal
    to_currency: str
    rate: Decimal


@dataclass(frozen=True, slots=True)
class ExportedPosting:
    transaction_id: UUID
    number: int  # the household's transaction number, as people see it
    booked_on: date
    kind: str  # expense | income | transfer | reversal
    author_telegram_id: int
    author_name: str  # the author's display name, "" when unknown
    account_name: str
    account_type: str  # asset | liability | equity | income | expense
    account_code: str | None  # a default category's or conversion account's code
    account_owner_telegram_id: int | None  # None: shared by the household
    amount: Decimal  # signed, in the account's currency at its scale: debit +, credit −
    currency: str
    base_amount: Decimal | None  # the same leg in the base currency; None when unknown
    base_currency: str  # the household's base currency
    note: str
    tags: tuple[str, ...]
    voids: UUID | None  # set on a reversal: the transaction it voids
    voided_by: UUID | None  # set on a voided transaction: its reversal
    conversion: ExportedConversion | None


class ExportReader(Protocol):
    def postings(
        self, household_id: int, *, start: date | None = None, end: date | None = None
    ) -> AsyncIterator[ExportedPosting]:
        """The household's postings booked in [start, end) (all when unset), streamed:
        a book of any size is never held in memory at once. A reversal goes with the
        transaction it voids: it is in the period when its original is, whatever its own
        date, so a period's file never holds half of a void (docs/adr/0018)."""
        ...


class BookWriter(Protocol):
    """One output format, fed a transaction at a time (its postings, in ledger order)."""

    def transaction(self, legs: Sequence[ExportedPosting], *, dated: date) -> None:
        """`dated`: the day the transaction counts on in reports; a reversal's is the day
        of the transaction it voids, as the bot's reports count it."""
        ...

    def finish(self) -> None:
        """Write what only the whole book tells (accounts, commodities) and flush."""
        ...
