"""Money: an integer count of minor units and an ISO-4217 currency.

No floats anywhere. ``Decimal`` appears only in :func:`Money.from_decimal` and
:meth:`Money.to_decimal`, the edges where text is parsed or printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from finance_bot.domain import currencies
from finance_bot.domain.errors import AmountTooLarge, CurrencyMismatch

# Amounts at or above 10^12 major units are refused: far beyond any household, and
# it keeps every sum comfortably inside PostgreSQL's bigint.
MAX_MAJOR_UNITS: Final = 10**12


def currency_scale(code: str) -> int:
    """Digits after the decimal point (docs/adr/0014); unknown codes raise UnknownCurrency."""
    return currencies.scale(code)


@dataclass(frozen=True, slots=True, order=False)
class Money:
    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount_minor, bool) or not isinstance(self.amount_minor, int):
            raise TypeError("Money.amount_minor must be an int")
        currency_scale(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_decimal(cls, value: Decimal, currency: str) -> Money:
        """Exact conversion; refuses values with more decimals than the currency has."""
        scale = currency_scale(currency)
        if not value.is_finite():
            raise ValueError("amount is not a finite number")
        scaled = value.scaleb(scale)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{currency} has at most {scale} decimals")
        if abs(value) >= MAX_MAJOR_UNITS:
            raise AmountTooLarge(f"amount must be below {MAX_MAJOR_UNITS}")
        return cls(int(scaled), currency)

    def to_decimal(self) -> Decimal:
        return Decimal(self.amount_minor).scaleb(-currency_scale(self.currency))

    def _same_currency(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(self.currency, other.currency)

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount_minor < other.amount_minor

    def __le__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount_minor <= other.amount_minor

    def __gt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount_minor > other.amount_minor

    def __ge__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount_minor >= other.amount_minor

    @property
    def is_positive(self) -> bool:
        return self.amount_minor > 0

    def __str__(self) -> str:
        return f"{self.to_decimal()} {self.currency}"
