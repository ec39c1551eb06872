"""Transactions and postings. A transaction is valid by construction or not at all."""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

from finance_bot.domain.errors import (
    AmountMustBePositive,
    PostingsMustBalance,
    SingleCurrencyPerTransaction,
    TransactionNeedsTwoPostings,
)
from finance_bot.domain.money import Money


class Direction(enum.StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"

    @property
    def sign(self) -> int:
        return 1 if self is Direction.DEBIT else -1

    @property
    def opposite(self) -> Direction:
        return Direction.CREDIT if self is Direction.DEBIT else Direction.DEBIT


class TransactionKind(enum.StrEnum):
    EXPENSE = "expense"
    INCOME = "income"
    TRANSFER = "transfer"
    REVERSAL = "reversal"


@dataclass(frozen=True, slots=True)
class Posting:
    account_id: int
    direction: Direction
    amount: Money

    def __post_init__(self) -> None:
        if not self.amount.is_positive:
            raise AmountMustBePositive("every leg of a transaction must be a positive amount")

    @property
    def signed_minor(self) -> int:
        return self.direction.sign * self.amount.amount_minor

    def reversed(self) -> Posting:
        return Posting(self.account_id, self.direction.opposite, self.amount)


@dataclass(frozen=True, slots=True)
class Transaction:
    id: UUID
    household_id: int
    author_telegram_id: int
    kind: TransactionKind
    booked_on: date
    postings: tuple[Posting, ...]
    note: str = ""
    tags: tuple[str, ...] = ()
    voids_transaction_id: UUID | None = None
    number: int | None = None  # assigned by the ledger when the transaction is stored
    voided_by_transaction_id: UUID | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if len(self.postings) < 2:
            raise TransactionNeedsTwoPostings("a transaction needs at least two postings")
        if len({p.amount.currency for p in self.postings}) != 1:
            raise SingleCurrencyPerTransaction("all legs of a transaction share one currency")
        totals: dict[str, int] = defaultdict(int)
        for posting in self.postings:
            totals[posting.amount.currency] += posting.signed_minor
        if any(totals.values()):
            raise PostingsMustBalance("debits and credits of a transaction must be equal")
        if (self.kind is TransactionKind.REVERSAL) != (self.voids_transaction_id is not None):
            raise ValueError("a reversal, and only a reversal, names the transaction it voids")

    @property
    def amount(self) -> Money:
        """The size of the transaction: the sum of its debit legs."""
        debits = [p.amount for p in self.postings if p.direction is Direction.DEBIT]
        total = debits[0]
        for extra in debits[1:]:
            total = total + extra
        return total

    @property
    def is_voided(self) -> bool:
        return self.voided_by_transaction_id is not None

    def reversal(
        self, *, reversal_id: UUID, author_telegram_id: int, booked_on: date
    ) -> Transaction:
        return Transaction(
            id=reversal_id,
            household_id=self.household_id,
            author_telegram_id=author_telegram_id,
            kind=TransactionKind.REVERSAL,
            booked_on=booked_on,
            postings=tuple(p.reversed() for p in self.postings),
            note=self.note,
            tags=self.tags,
            voids_transaction_id=self.id,
        )


def expense(
    *, id: UUID, household_id: int, author_telegram_id: int, booked_on: date, amount: Money,
    account_id: int, category_id: int, note: str = "", tags: tuple[str, ...] = (),
) -> Transaction:  # fmt: skip
    """Money leaves an account (credit) into an expense category (debit)."""
    return Transaction(
        id=id, household_id=household_id, author_telegram_id=author_telegram_id,
        kind=TransactionKind.EXPENSE, booked_on=booked_on, note=note, tags=tags,
        postings=(
            Posting(category_id, Direction.DEBIT, amount),
            Posting(account_id, Direction.CREDIT, amount),
        ),
    )  # fmt: skip


def income(
    *, id: UUID, household_id: int, author_telegram_id: int, booked_on: date, amount: Money,
    account_id: int, category_id: int, note: str = "", tags: tuple[str, ...] = (),
) -> Transaction:  # fmt: skip
    """Money enters an account (debit) from an income category (credit)."""
    return Transaction(
        id=id, household_id=household_id, author_telegram_id=author_telegram_id,
        kind=TransactionKind.INCOME, booked_on=booked_on, note=note, tags=tags,
        postings=(
            Posting(account_id, Direction.DEBIT, amount),
            Posting(category_id, Direction.CREDIT, amount),
        ),
    )  # fmt: skip


def transfer(
    *, id: UUID, household_id: int, author_telegram_id: int, booked_on: date, amount: Money,
    from_account_id: int, to_account_id: int, note: str = "", tags: tuple[str, ...] = (),
) -> Transaction:  # fmt: skip
    return Transaction(
        id=id, household_id=household_id, author_telegram_id=author_telegram_id,
        kind=TransactionKind.TRANSFER, booked_on=booked_on, note=note, tags=tags,
        postings=(
            Posting(to_account_id, Direction.DEBIT, amount),
            Posting(from_account_id, Direction.CREDIT, amount),
        ),
    )  # fmt: skip
