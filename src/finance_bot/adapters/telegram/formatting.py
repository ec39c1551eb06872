"""Pure rendering: amounts and dates as each language writes them, `1 500,00 ₴` and
`₴1,500.00`. No I/O."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Final

from finance_bot.domain.currencies import scale, symbol
from finance_bot.domain.money import Money

_NBSP: Final = "\u00a0"  # keeps an amount on one line
MINUS: Final = "−"


def _grouped(whole: int, separator: str) -> str:
    digits = str(whole)
    groups = []
    while len(digits) > 3:
        groups.append(digits[-3:])
        digits = digits[:-3]
    groups.append(digits)
    return separator.join(reversed(groups))


def format_money(money: Money, language: str, *, signed: bool = False) -> str:
    places = scale(money.currency)  # JPY 0, KWD 3: as many decimals as the currency has
    magnitude = abs(money.amount_minor)
    whole, fraction = divmod(magnitude, 10**places) if places else (magnitude, 0)
    mark = symbol(money.currency)
    if money.amount_minor < 0:
        sign = MINUS
    elif signed and money.amount_minor > 0:
        sign = "+"
    else:
        sign = ""
    if language == "ru":
        number = _grouped(whole, _NBSP) + (f",{fraction:0{places}d}" if places else "")
        return f"{sign}{number}{_NBSP}{mark}"
    number = _grouped(whole, ",") + (f".{fraction:0{places}d}" if places else "")
    if len(mark) > 1:  # a code or a multi-letter symbol reads better after the number
        return f"{sign}{number}{_NBSP}{mark}"
    return f"{sign}{mark}{number}"


def format_date(day: date, language: str) -> str:
    return day.strftime("%d.%m.%Y") if language == "ru" else day.isoformat()


def percent(part: int, whole: int) -> int:
    """A share rounded half up; 0 when there is no whole."""
    if whole <= 0:
        return 0
    return (part * 200 + whole) // (whole * 2)


def format_rate(rate: Decimal, language: str) -> str:
    """A rate as prices are written: at least two decimals, more only when it has them
    (`41,50`, `0,2778`)."""
    exponent = rate.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    whole, _, fraction = f"{rate:.{places}f}".partition(".")
    if language == "ru":
        return f"{_grouped(int(whole), _NBSP)},{fraction}"
    return f"{_grouped(int(whole), ',')}.{fraction}"
