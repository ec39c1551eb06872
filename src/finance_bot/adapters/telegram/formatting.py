"""Pure rendering: amounts and dates as each language writes them, `1 500,00 ₴` and
`₴1,500.00`. No I/O."""

from __future__ import annotations

from datetime import date
from typing import Final

from finance_bot.domain.money import Money, currency_scale

_SYMBOLS: Final = {
    "UAH": "₴",
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "PLN": "zł",
    "JPY": "¥",
    "CNY": "¥",
    "ILS": "₪",
    "KRW": "₩",
    "INR": "₹",
    "TRY": "₺",
    "GEL": "₾",
    "KZT": "₸",
    "RUB": "₽",
}
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
    scale = currency_scale(money.currency)
    magnitude = abs(money.amount_minor)
    whole, fraction = divmod(magnitude, 10**scale) if scale else (magnitude, 0)
    symbol = _SYMBOLS.get(money.currency, money.currency)
    if money.amount_minor < 0:
        sign = MINUS
    elif signed and money.amount_minor > 0:
        sign = "+"
    else:
        sign = ""
    if language == "ru":
        number = _grouped(whole, _NBSP) + (f",{fraction:0{scale}d}" if scale else "")
        return f"{sign}{number}{_NBSP}{symbol}"
    number = _grouped(whole, ",") + (f".{fraction:0{scale}d}" if scale else "")
    if len(symbol) > 1:  # a code or a multi-letter symbol reads better after the number
        return f"{sign}{number}{_NBSP}{symbol}"
    return f"{sign}{symbol}{number}"


def format_date(day: date, language: str) -> str:
    return day.strftime("%d.%m.%Y") if language == "ru" else day.isoformat()


def percent(part: int, whole: int) -> int:
    """A share rounded half up; 0 when there is no whole."""
    if whole <= 0:
        return 0
    return (part * 200 + whole) // (whole * 2)
