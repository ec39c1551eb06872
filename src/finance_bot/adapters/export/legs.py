"""A transaction's legs as the journals write them: a conversion as a price on the foreign
leg, the way hledger and beancount book one, instead of through the bot's conversion
accounts (docs/adr/0018)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from finance_bot.adapters.export.accounts import AccountKey
from finance_bot.ports.export import ExportedPosting


@dataclass(frozen=True, slots=True)
class Leg:
    posting: ExportedPosting
    price: tuple[Decimal, str] | None = None  # the total price, `@@ <amount> <CODE>`


def journal_legs(legs: Sequence[ExportedPosting]) -> list[Leg]:
    """`dollars -20 USD, conversion:USD +20 USD, conversion:UAH -830 UAH, coffee +830 UAH`
    becomes `coffee 830 UAH` and `dollars -20 USD @@ 830 UAH`: the same money, balanced by
    weight, and `--cost` / a query in the base currency gives what the bot counted. Any
    other shape is written leg for leg, the conversion accounts included (each currency
    balances on its own in the ledger, so it does in the file)."""
    literal = [Leg(leg) for leg in legs]
    conversion = legs[0].conversion
    if conversion is None or len({leg.currency for leg in legs}) < 2:
        return literal
    rest = [leg for leg in legs if AccountKey.of(leg).conversion_currency != leg.currency]
    currencies = {leg.currency for leg in rest}
    if len(currencies) != 2:
        return literal
    base = legs[0].base_currency
    if base in currencies:
        priced_currency = next(c for c in currencies if c != base)
    elif conversion.from_currency in currencies:
        priced_currency = conversion.from_currency
    else:
        return literal
    (other,) = currencies - {priced_currency}
    priced = [leg for leg in rest if leg.currency == priced_currency]
    total = sum((leg.amount for leg in rest if leg.currency == other), Decimal(0))
    if len(priced) != 1 or total == 0 or (total > 0) == (priced[0].amount > 0):
        return literal
    return [Leg(leg, (abs(total), other) if leg is priced[0] else None) for leg in rest]
