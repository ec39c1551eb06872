"""Transactions and postings. A transaction is valid by construction or not at all."""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Context, Decimal
from uuid import UUID

from finance_bot.domain.errors import (
    AmountMustBePositive,
    ConversionDoesNotFit,
    PostingsMustBalance,
    SingleCurrencyPerTransaction,
    TransactionNeedsTwoPostings,
)
from finance_bot.domain.money import Money, currency_scale

# Enough digits that a rate derived from two amounts below 10^12 turns one into the other
# to well within a minor unit.
_RATE_CONTEXT = Context(prec=28)
# Amounts times rates are worked out exactly (an amount has at most 15 digits, a rate 28)
# and rounded once, to the currency: a product first cut to 28 digits could land on a half
# and be rounded a second time the wrong way. Quotients keep far more digits than any
# amount needs, so rounding them is as good as rounding the exact value.
EXACT = Context(prec=120)


def rounded(value: Decimal, currency: str) -> Money:
    """An exact value in `currency`, rounded once to its minor unit, half to even."""
    step = Decimal(1).scaleb(-currency_scale(currency))
    return Money.from_decimal(value.quantize(step, ROUND_HALF_EVEN, EXACT), currency)


def converted_amount(amount: Money, rate: Decimal, currency: str, *, divide: bool = False) -> Money:
    """`amount` times `rate` (or divided by it) in `currency`, rounded once, half to even."""
    value = amount.to_decimal()
    return rounded(EXACT.divide(value, rate) if divide else EXACT.multiply(value, rate), currency)


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
class Conversion:
    """What a conversion turned into what, stored with its transaction and never changed.

    `source` is the side as typed (the dollars spent, the dollars exchanged), `target` what
    it was worth in the other currency or what arrived; `rate` is target per one source unit.
    """

    source: Money
    target: Money
    rate: Decimal

    def __post_init__(self) -> None:
        if self.source.currency == self.target.currency:
            raise ConversionDoesNotFit("a conversion is between two currencies")
        if not (self.source.is_positive and self.target.is_positive):
            raise AmountMustBePositive("both sides of a conversion are positive amounts")
        if not (self.rate.is_finite() and self.rate > 0):
            raise ConversionDoesNotFit("a rate is a positive number")
        exact = EXACT.multiply(self.source.to_decimal(), self.rate)
        one_unit = Decimal(1).scaleb(-currency_scale(self.target.currency))
        if abs(exact - self.target.to_decimal()) > one_unit:
            raise ConversionDoesNotFit("the rate does not turn one side into the other")

    @classmethod
    def at_rate(cls, source: Money, rate: Decimal, currency: str) -> Conversion:
        """`source` converted into `currency` at `rate`, rounded half to even."""
        return cls(source, converted_amount(source, rate, currency), rate)

    @classmethod
    def between(cls, source: Money, target: Money) -> Conversion:
        """The conversion of two amounts given both (an exchange): its rate follows."""
        rate = _RATE_CONTEXT.divide(target.to_decimal(), source.to_decimal())
        return cls(source, target, rate.normalize(_RATE_CONTEXT))


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
    # Set when money changed currency, or a price in one currency was paid in another.
    conversion: Conversion | None = None

    def __post_init__(self) -> None:
        if len(self.postings) < 2:
            raise TransactionNeedsTwoPostings("a transaction needs at least two postings")
        totals: dict[str, int] = defaultdict(int)
        for posting in self.postings:
            totals[posting.amount.currency] += posting.signed_minor
        if any(totals.values()):
            raise PostingsMustBalance("debits and credits must be equal in every currency")
        currencies = set(totals)
        if len(currencies) > 2 or (len(currencies) == 2 and self.conversion is None):
            raise SingleCurrencyPerTransaction(
                "a transaction is in one currency, or converts between two"
            )
        if self.conversion is not None:
            converted = {self.conversion.source.currency, self.conversion.target.currency}
            if len(currencies) == 2 and currencies != converted:
                raise ConversionDoesNotFit("the conversion is between other currencies")
            if len(currencies) == 1 and currencies != {self.conversion.target.currency}:
                raise ConversionDoesNotFit("a price converted into the postings' currency")
        if (self.kind is TransactionKind.REVERSAL) != (self.voids_transaction_id is not None):
            raise ValueError("a reversal, and only a reversal, names the transaction it voids")

    @property
    def amount(self) -> Money:
        """The size of the transaction: what a conversion came to, else its debit legs."""
        if self.conversion is not None:
            return self.conversion.target
        debits = [p.amount for p in self.postings if p.direction is Direction.DEBIT]
        total = debits[0]
        for extra in debits[1:]:
            total = total + extra
        return total

    @property
    def is_voided(self) -> bool:
        return self.voided_by_transaction_id is not None

    @property
    def postings_in_lock_order(self) -> tuple[Posting, ...]:
        """Ascending account: the order the ledger stores the postings in, locking their
        balance rows in one global order (docs/adr/0001), and reads them back in."""
        return tuple(sorted(self.postings, key=lambda posting: posting.account_id))

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
            conversion=self.conversion,
        )


def _legs(
    debit_account_id: int,
    debit: Money,
    credit_account_id: int,
    credit: Money,
    conversion_accounts: Mapping[str, int] | None,
) -> tuple[Posting, ...]:
    """Money from one account into another; across currencies, through the conversion
    account of each currency, so that each currency balances on its own."""
    if debit.currency == credit.currency:
        return (
            Posting(debit_account_id, Direction.DEBIT, debit),
            Posting(credit_account_id, Direction.CREDIT, credit),
        )
    if conversion_accounts is None:
        raise ConversionDoesNotFit("money changing currency needs the conversion accounts")
    return (
        Posting(debit_account_id, Direction.DEBIT, debit),
        Posting(conversion_accounts[debit.currency], Direction.CREDIT, debit),
        Posting(conversion_accounts[credit.currency], Direction.DEBIT, credit),
        Posting(credit_account_id, Direction.CREDIT, credit),
    )


def expense(
    *,
    id: UUID,
    household_id: int,
    author_telegram_id: int,
    booked_on: date,
    amount: Money,
    account_id: int,
    category_id: int,
    note: str = "",
    tags: tuple[str, ...] = (),
    paid: Money | None = None,
    conversion: Conversion | None = None,
    conversion_accounts: Mapping[str, int] | None = None,
) -> Transaction:
    """Money leaves an account (credit) into an expense category (debit).

    `amount` is what the category takes; `paid`, what the account gives when that is in
    another currency (the conversion says how one became the other).
    """
    return Transaction(
        id=id,
        household_id=household_id,
        author_telegram_id=author_telegram_id,
        kind=TransactionKind.EXPENSE,
        booked_on=booked_on,
        note=note,
        tags=tags,
        postings=_legs(category_id, amount, account_id, paid or amount, conversion_accounts),
        conversion=conversion,
    )


def income(
    *,
    id: UUID,
    household_id: int,
    author_telegram_id: int,
    booked_on: date,
    amount: Money,
    account_id: int,
    category_id: int,
    note: str = "",
    tags: tuple[str, ...] = (),
    received: Money | None = None,
    conversion: Conversion | None = None,
    conversion_accounts: Mapping[str, int] | None = None,
) -> Transaction:
    """Money enters an account (debit) from an income category (credit).

    `amount` is what the category gives; `received`, what the account gets when that is in
    another currency.
    """
    return Transaction(
        id=id,
        household_id=household_id,
        author_telegram_id=author_telegram_id,
        kind=TransactionKind.INCOME,
        booked_on=booked_on,
        note=note,
        tags=tags,
        postings=_legs(account_id, received or amount, category_id, amount, conversion_accounts),
        conversion=conversion,
    )


def transfer(
    *,
    id: UUID,
    household_id: int,
    author_telegram_id: int,
    booked_on: date,
    amount: Money,
    from_account_id: int,
    to_account_id: int,
    note: str = "",
    tags: tuple[str, ...] = (),
    received: Money | None = None,
    conversion: Conversion | None = None,
    conversion_accounts: Mapping[str, int] | None = None,
) -> Transaction:
    """Money moves between accounts; into another currency it is an exchange, `received`
    being what arrives."""
    return Transaction(
        id=id,
        household_id=household_id,
        author_telegram_id=author_telegram_id,
        kind=TransactionKind.TRANSFER,
        booked_on=booked_on,
        note=note,
        tags=tags,
        postings=_legs(
            to_account_id, received or amount, from_account_id, amount, conversion_accounts
        ),
        conversion=conversion,
    )
