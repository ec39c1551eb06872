"""Amounts as typed in chat ("250", "250,50", "1 500", "120+80", "$20", "15 евро"), read exactly.

Only ASCII 0-9 count as digits. ``str.isdigit``, ``\\d`` and ``Decimal`` all accept
the digits of every script, and a ledger should not quietly read "٢٥٠" or "２５０";
such text is refused as an invalid amount instead.

The value is summed in integer minor units, never through ``Decimal`` arithmetic,
whose context precision could round a long sum.

An amount may carry its currency (which words count: ``currencies.read_currency``):

- before the number, a symbol only, glued or not: "$20", "€ 15", "+$100", "$120+80";
- glued after the last number: "20$", "15€", "20usd", "250грн", "120+80$";
- as the next word: "20 usd", "20 USD", "15 евро", "1 500 грн", "120+80 $", unless that
  word begins a name the household gave (an account or a category word): the name wins,
  so an account called "доллары" is still the account in "100 доллары > карта".

A symbol before the number and a currency glued after it must agree. A word naming
several currencies ("¥", "kr", "руб") is AMBIGUOUS_CURRENCY. Scanning keeps the digits as
typed and checks the decimals only in :meth:`ScannedAmount.money`, once the currency is
settled: an amount without a currency of its own is in its account's currency, and the
account is named later in the line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from finance_bot.domain.commands import ParseError, ParseErrorReason
from finance_bot.domain.currencies import Ambiguous, read_currency, read_symbol, scale
from finance_bot.domain.errors import UnknownCurrency
from finance_bot.domain.money import MAX_MAJOR_UNITS, Money

__all__ = ["ScannedAmount", "no_number_reason", "scan_amount", "starts_amount"]

# A number: either thousands grouped by single spaces ("12 000 000", the first group
# 1-3 digits and every later one exactly three, so "250 2" stays 250) or plain digits;
# then an optional decimal part after "." or ",".
_NUMBER: Final = re.compile(
    r"(?P<int>[0-9]{1,3}(?: [0-9]{3}(?![0-9]))+|[0-9]+)(?:[.,](?P<frac>[0-9]+))?"
)
_LEADING_SIGN: Final = re.compile(r"(?P<sign>[+-]) ?")
_OPERATOR: Final = re.compile(r" ?(?P<op>[+-]) ?")
# What may stand before the number as its currency; only a known symbol counts.
_PREFIX: Final = re.compile(r"(?P<mark>[^\s0-9+\-.,]+) ?")
_STARTS: Final = re.compile(r"[+-]?(?P<mark>[^\s0-9+\-.,]*)(?P<digit>[0-9])?")
_DIGIT: Final = re.compile(r"[0-9]")
# Minus signs and dashes of typography, which are not the "-" an amount may begin with.
_DASHES: Final = frozenset("\u2012\u2013\u2014\u2212\ufe63\uff0d")
# Twelve significant digits reach 999 999 999 999; one more cannot be below 10^12.
_MAX_INT_DIGITS: Final = len(str(MAX_MAJOR_UNITS - 1))


def _no_name(words: Sequence[str]) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class ScannedAmount:
    """An amount read from the start of a line, its decimals not yet held to a currency."""

    terms: tuple[tuple[int, str, str], ...]  # sign, integer digits (no spaces), decimals
    currency: str | None  # written with the amount; None: the account's currency applies
    signed_plus: bool  # the expression began with "+": an income line
    expression: str  # the amount as typed, its currency included, for replies
    rest: str  # the text after the amount, leading space stripped

    def money(self, fallback: str) -> Money | ParseError:
        """The amount in its written currency, else in ``fallback``, checked against its scale.

        ``UnknownCurrency`` propagates for an unknown ``fallback``: it comes from
        configuration or the books, not from the user.
        """
        code = self.currency or fallback
        places = scale(code)
        total = 0
        for sign, digits, fraction in self.terms:
            # Trailing zeros count too: "1.500" is far likelier a misplaced thousands
            # separator than one and a half.
            if len(fraction) > places:
                return ParseError(ParseErrorReason.TOO_MANY_DECIMALS, self.expression)
            # Checked before int(): a 5000-digit string would trip Python's conversion limit.
            if len(digits) > _MAX_INT_DIGITS:
                return ParseError(ParseErrorReason.AMOUNT_TOO_LARGE, self.expression)
            unit = 10**places
            total += sign * (int(digits or "0") * unit + int(fraction.ljust(places, "0") or "0"))
        if total <= 0:
            return ParseError(ParseErrorReason.AMOUNT_NOT_POSITIVE, self.expression)
        if total >= MAX_MAJOR_UNITS * 10**places:
            return ParseError(ParseErrorReason.AMOUNT_TOO_LARGE, self.expression)
        try:
            return Money(total, code)
        except UnknownCurrency:
            if self.currency is None:
                raise
            # An ISO currency the books cannot hold yet: refused as typed, never a crash.
            return ParseError(ParseErrorReason.INVALID_AMOUNT, self.expression)


def scan_amount(
    line: str,
    *,
    currencies: bool = True,
    is_name: Callable[[Sequence[str]], bool] = _no_name,
) -> ScannedAmount | ParseError:
    """Read the amount at the start of ``line``, whose words are separated by single spaces.

    With ``currencies`` off a currency mark is not read ("3000 руб" leaves "руб" in the
    rest, "3000$" is an invalid amount). ``is_name(words)`` says whether ``words`` begin
    with a name the household gave, which the next word is then left to be.
    """
    pos = 0
    sign = 1
    signed_plus = False
    leading = _LEADING_SIGN.match(line)
    if leading is not None:
        pos = leading.end()
        sign = 1 if leading["sign"] == "+" else -1
        signed_plus = leading["sign"] == "+"
    before: tuple[str | Ambiguous, str] | None = None  # the currency and its mark as typed
    prefix = _PREFIX.match(line, pos) if currencies else None
    if prefix is not None and (found := read_symbol(prefix["mark"])) is not None:
        before = found, prefix["mark"]
        pos = prefix.end()
    first = _NUMBER.match(line, pos)
    if first is None:
        return ParseError(no_number_reason(line[pos:]), _token_at(line, 0))
    terms = [(sign, first)]
    pos = first.end()
    while (op := _OPERATOR.match(line, pos)) is not None:
        number = _NUMBER.match(line, op.end())
        if number is None:
            # "120+ кафе", "250 -скидка": an operator with nothing to apply it to.
            return ParseError(ParseErrorReason.INVALID_AMOUNT, _token_at(line, 0, op.end("op")))
        terms.append((1 if op["op"] == "+" else -1, number))
        pos = number.end()
    after: tuple[str | Ambiguous, str] | None = None
    if pos < len(line) and line[pos] != " ":
        glued = _token_at(line, pos)
        found = read_currency(glued) if currencies else None
        if found is None:
            # "1e5", "12.5.3", "1,2,3", "12abc": something glued to the digits.
            return ParseError(ParseErrorReason.INVALID_AMOUNT, _token_at(line, 0, pos))
        after = found, glued
        pos += len(glued)
    elif currencies and before is None and pos < len(line):
        word = _token_at(line, pos + 1)
        found = read_currency(word)
        if found is not None and not is_name(line[pos + 1 :].split(" ")):
            after = found, word
            pos += 1 + len(word)
    expression = line[:pos]
    currency = _settle(before, after, expression)
    if isinstance(currency, ParseError):
        return currency
    return ScannedAmount(
        terms=tuple(
            (term_sign, number["int"].replace(" ", "").lstrip("0"), number["frac"] or "")
            for term_sign, number in terms
        ),
        currency=currency,
        signed_plus=signed_plus,
        expression=expression,
        rest=line[pos:].lstrip(" "),
    )


def starts_amount(words: Sequence[str]) -> bool:
    """Whether ``words`` begin with an amount: a digit after an optional sign, or a currency
    symbol and then one ("€15", "+$100", "€ 15"). Says nothing of whether it is valid."""
    if not words:
        return False
    match = _STARTS.match(words[0])
    if match is None:  # the pattern matches every string; kept for the type checker
        return False
    if not match["mark"]:
        return match["digit"] is not None
    if read_symbol(match["mark"]) is None:
        return False
    if match["digit"] is not None:
        return True
    return match.end() == len(words[0]) and len(words) > 1 and _DIGIT.match(words[1]) is not None


def no_number_reason(text: str) -> ParseErrorReason:
    """Tell a mistyped number (INVALID_AMOUNT) from a line with no number (NO_AMOUNT)."""
    if text[:1].isdigit():  # any script's digit: the user did type a number
        return ParseErrorReason.INVALID_AMOUNT
    if text[:1] in _DASHES and text[1:2].isdigit():
        # "−250" copied from a bank app (or this bot's own replies): a signed number, which
        # the hint for a line without one ("write an amount") would not explain.
        return ParseErrorReason.INVALID_AMOUNT
    if text[:1] in (".", ",") and text[1:2].isdigit():  # ".5"
        return ParseErrorReason.INVALID_AMOUNT
    return ParseErrorReason.NO_AMOUNT


def _settle(
    before: tuple[str | Ambiguous, str] | None,
    after: tuple[str | Ambiguous, str] | None,
    expression: str,
) -> str | ParseError | None:
    for mark in (before, after):
        if mark is not None and isinstance(mark[0], Ambiguous):
            return ParseError(ParseErrorReason.AMBIGUOUS_CURRENCY, mark[1])
    if before is not None and after is not None and before[0] != after[0]:
        return ParseError(ParseErrorReason.INVALID_AMOUNT, expression)  # "$20€"
    chosen = before or after
    return None if chosen is None else str(chosen[0])


def _token_at(line: str, start: int, end: int | None = None) -> str:
    """``line[start:end]`` extended to the end of the word it stops in, for error details."""
    stop = line.find(" ", end if end is not None else start)
    return line[start : stop if stop >= 0 else len(line)]
