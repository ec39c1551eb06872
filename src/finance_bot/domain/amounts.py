"""Amounts as typed in chat ("250", "250,50", "1 500", "120+80"), read exactly.

Only ASCII 0-9 count as digits. ``str.isdigit``, ``\\d`` and ``Decimal`` all accept
the digits of every script, and a ledger should not quietly read "٢٥٠" or "２５０";
such text is refused as an invalid amount instead.

The value is summed in integer minor units, never through ``Decimal`` arithmetic,
whose context precision could round a long sum.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from finance_bot.domain.commands import ParseError, ParseErrorReason
from finance_bot.domain.money import MAX_MAJOR_UNITS, Money, currency_scale

# A number: either thousands grouped by single spaces ("12 000 000", the first group
# 1-3 digits and every later one exactly three, so "250 2" stays 250) or plain digits;
# then an optional decimal part after "." or ",".
_NUMBER: Final = re.compile(
    r"(?P<int>[0-9]{1,3}(?: [0-9]{3}(?![0-9]))+|[0-9]+)(?:[.,](?P<frac>[0-9]+))?"
)
_LEADING_SIGN: Final = re.compile(r"(?P<sign>[+-]) ?")
_OPERATOR: Final = re.compile(r" ?(?P<op>[+-]) ?")
# Twelve significant digits reach 999 999 999 999; one more cannot be below 10^12.
_MAX_INT_DIGITS: Final = len(str(MAX_MAJOR_UNITS - 1))


@dataclass(frozen=True, slots=True)
class ScannedAmount:
    money: Money
    signed_plus: bool  # the expression began with "+": an income line
    rest: str  # the text after the amount, leading space stripped


def scan_amount(line: str, currency: str) -> ScannedAmount | ParseError:
    """Read the amount at the start of ``line``, whose words are separated by single spaces.

    ``UnknownCurrency`` propagates: the currency comes from configuration, not the user.
    """
    scale = currency_scale(currency)
    pos = 0
    sign = 1
    signed_plus = False
    leading = _LEADING_SIGN.match(line)
    if leading is not None:
        pos = leading.end()
        sign = 1 if leading["sign"] == "+" else -1
        signed_plus = leading["sign"] == "+"
    first = _NUMBER.match(line, pos)
    if first is None:
        return ParseError(_no_number_reason(line[pos:]), _token_at(line, 0))
    terms = [(sign, first)]
    pos = first.end()
    while (op := _OPERATOR.match(line, pos)) is not None:
        number = _NUMBER.match(line, op.end())
        if number is None:
            # "120+ кафе", "250 -скидка": an operator with nothing to apply it to.
            return ParseError(ParseErrorReason.INVALID_AMOUNT, _token_at(line, 0, op.end("op")))
        terms.append((1 if op["op"] == "+" else -1, number))
        pos = number.end()
    if pos < len(line) and line[pos] != " ":
        # "1e5", "12.5.3", "1,2,3", "12abc": something glued to the digits.
        return ParseError(ParseErrorReason.INVALID_AMOUNT, _token_at(line, 0, pos))
    expression = line[:pos]
    total = 0
    for term_sign, number in terms:
        minor = _minor_units(number, scale)
        if isinstance(minor, ParseErrorReason):
            return ParseError(minor, expression)
        total += term_sign * minor
    if total <= 0:
        return ParseError(ParseErrorReason.AMOUNT_NOT_POSITIVE, expression)
    if total >= MAX_MAJOR_UNITS * 10**scale:
        return ParseError(ParseErrorReason.AMOUNT_TOO_LARGE, expression)
    return ScannedAmount(Money(total, currency), signed_plus, line[pos:].lstrip(" "))


def _minor_units(number: re.Match[str], scale: int) -> int | ParseErrorReason:
    digits: str = number["int"].replace(" ", "").lstrip("0")
    fraction: str = number["frac"] or ""
    # Trailing zeros count too: "1.500" is far likelier a misplaced thousands
    # separator than one and a half.
    if len(fraction) > scale:
        return ParseErrorReason.TOO_MANY_DECIMALS
    # Checked before int(): a 5000-digit string would trip Python's conversion limit.
    if len(digits) > _MAX_INT_DIGITS:
        return ParseErrorReason.AMOUNT_TOO_LARGE
    unit: int = 10**scale
    return int(digits or "0") * unit + int(fraction.ljust(scale, "0") or "0")


def _no_number_reason(text: str) -> ParseErrorReason:
    """Tell a mistyped number (INVALID_AMOUNT) from a line with no number (NO_AMOUNT)."""
    if text[:1].isdigit():  # any script's digit: the user did type a number
        return ParseErrorReason.INVALID_AMOUNT
    if text[:1] in (".", ",") and text[1:2].isdigit():  # ".5"
        return ParseErrorReason.INVALID_AMOUNT
    return ParseErrorReason.NO_AMOUNT


def _token_at(line: str, start: int, end: int | None = None) -> str:
    """``line[start:end]`` extended to the end of the word it stops in, for error details."""
    stop = line.find(" ", end if end is not None else start)
    return line[start : stop if stop >= 0 else len(line)]
