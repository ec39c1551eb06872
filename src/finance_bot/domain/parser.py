"""The chat-line parser: one line of text in, one command or a ParseError value out.

Grammar (docs/product.md §2): ``[date] amount category [account] note… [#tags] [date]``, and for
transfers ``[date] amount account > account [received] [note…]``. The parser is total: any
``str`` gives a value, never an exception (an unknown *default currency* still raises
``UnknownCurrency``: it comes from configuration or the books, not from the user).

The finer rules, beyond what docs/product.md §2 says:

- Words are split on any Unicode whitespace, so "1\\u00a0500" (a no-break space, as some
  keyboards insert) groups thousands like "1 500". Amount syntax: see ``amounts``.
- Invisible marks (bidi marks and isolates, zero-width space, word joiner, byte order mark,
  soft hyphen) are dropped before anything is read: "250 кафе\\u200e" is the cafe.
- "250 2 кофе" is 250 and "2" fills the category slot as an unknown word (no guessing
  that the number is a count); likewise "1 50" is 1 with the unknown word "50", while
  "250 100" is 250100 because "100" is a valid three-digit group.
- A leading numeric date ("27.11", "27.11.2025", "27.11.25") is a date only when the
  next word starts an amount (a number, or a currency symbol and one: "27.11 €15 кафе");
  otherwise the token is read as an amount ("27.11 такси", "27.11 евро кафе").
  Without a year it is read as a date only if day is 1-31 and month 1-12, so "12.50 300"
  stays an amount; with one, an impossible date is INVALID_DATE. Two-digit years are
  20YY. Dates use "." only: "27,11" is always an amount.
- A trailing date (the last word, or "day before yesterday") is looked for only when the
  line has no leading one, after tags and the "@account" are taken out, so
  "250 такси вчера #работа" is dated. A year-less trailing date must be plausible
  (day 1-31, month 1-12) or it stays in the note.
- A year-less date is the latest such day not after today, up to eight years back, so
  29.02 finds the last leap year; 31.02 is INVALID_DATE.
- Every date lies between EARLIEST_DAY (2000-01-01) and today; an earlier one is
  DATE_OUT_OF_RANGE, so "01.01.0001" is never booked where no report can show it.
- A transfer side left empty ("1000 карта >") is MISSING_ACCOUNT.
- "#tag" words anywhere after the amount are tags: "#" stripped, trailing ".,;:!?"
  stripped, normalized like names, order kept, duplicates dropped; a bare "#" is text.
- Only the first "@word" is an account marker (later ones stay in the note); it may start
  a multi-word name ("@кредитная карта") and it overrides the positional account.
- When no alias matches, the first word is the unknown word and stays first in the note;
  the word after it may still name the account ("250 шаурма нал").
- An unsigned line containing ">", "->" or "→" (also glued: "карта>нал") is a transfer,
  unless its words before the arrow are no account but start with an expense alias,
  in which case the arrow is just part of the note ("250 кафе a > b"). The words before
  the arrow must name an account exactly, else UNKNOWN_ACCOUNT with those words. A "+"
  line is always income; its arrow is note text.
- ``parse_transfer_arguments`` takes "amount from to [received] [note]", the arrow optional.

Currencies (docs/product.md §8; which words count: ``currencies``, where: ``amounts``):

- An amount may carry a currency: a symbol before it ("$20", "€ 15", "+$100", "$120+80"),
  a mark glued after it ("20$", "20usd", "250грн", "120+80$") or the next word ("20 USD",
  "15 евро", "20 долларов", "1 500 грн"). Uppercase ISO codes always count ("20 CHF");
  lowercase only the curated codes and words, so "250 cup" and "250 KFC" stay words. A
  next word that begins an account name or a category word is that name, not a currency:
  with an account "доллары", "100 доллары > карта" is a transfer from it.
- "¥", "kr", "руб"/"рублей", "лей"… name several currencies: AMBIGUOUS_CURRENCY, with
  the word as the detail; nothing is guessed.
- Without a written currency the amount is in its account's currency
  (``Vocabulary.account_currencies``): the "@account" or the positional one of an expense
  or income, the source of a transfer; with no account named, or one the map lacks, it is
  in ``currency``, the author's default account's. A written currency wins over the
  account's; whether the two may meet is for the application to say.
- The decimals are checked against the currency that applies: "250,5 JPY" and "250,5 кафе
  @йены" are TOO_MANY_DECIMALS, "1,234 KWD" has three. A bad amount is reported before
  any other fault of the line, judged in the currency of the account named (the default
  one when the account itself is the fault).
- A transfer between accounts whose currencies differ may say what arrived: the amount
  right after the target account, once any trailing date is taken ("100 доллары > карта
  4150", "... карта 4150 грн обмен вчера"), in the target's currency unless written; it
  is ``RecordTransfer.received``. Between accounts of one currency that number stays in
  the note, as before. "100 доллары > карта 27.11" is dated, as any trailing date is.
- ``parse_amount`` (budget limits, in the base currency) reads no currency: "3000 руб" is
  an invalid amount, as before. ``parse_rate`` reads the number of "/rate USD 41.50":
  "." or ",", above zero, below 10^6, at most six decimals.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Final

from finance_bot.domain.accounts import visible
from finance_bot.domain.amounts import ScannedAmount, no_number_reason, scan_amount, starts_amount
from finance_bot.domain.commands import (
    ParseError,
    ParseErrorReason,
    ParseResult,
    RecordExpense,
    RecordIncome,
    RecordTransfer,
    Vocabulary,
)
from finance_bot.domain.currencies import scale
from finance_bot.domain.money import Money
from finance_bot.domain.periods import EARLIEST_DAY

__all__ = ["parse_amount", "parse_line", "parse_rate", "parse_transfer_arguments"]

_DATE_WORDS: Final[dict[str, int]] = {  # normalized word(s) -> days before today
    "сегодня": 0,
    "today": 0,
    "вчера": 1,
    "yesterday": 1,
    "позавчера": 2,
    "day before yesterday": 2,
}
_DATE_WORD_LENGTHS: Final = sorted({k.count(" ") + 1 for k in _DATE_WORDS}, reverse=True)
_NUMERIC_DATE: Final = re.compile(
    r"(?P<day>[0-9]{1,2})\.(?P<month>[0-9]{1,2})(?:\.(?P<year>[0-9]{4}|[0-9]{2}))?"
)
# The latest 29.02 is at most eight years back (2096 -> 2104 skips the non-leap 2100).
_YEARS_BACK: Final = 8
_ARROWS: Final = frozenset({">", "->", "→"})
_ARROW_SPLIT: Final = re.compile(r"(->|→|>)")
_TAG_TRAILING: Final = ".,;:!?"
_RATE: Final = re.compile(r"(?P<sign>[+-]?)(?P<int>[0-9]+)(?:[.,](?P<frac>[0-9]+))?")
_RATE_DECIMALS: Final = 6
_RATE_LIMIT: Final = 10**6


@dataclass(frozen=True, slots=True)
class _Head:
    """What every line starts with: the date (if leading), the amount, then words and tags."""

    amount: ScannedAmount  # its currency settled by the account the line names
    booked_on: date | None
    words: list[str]
    tags: tuple[str, ...]


def parse_line(text: str, vocabulary: Vocabulary, *, today: date, currency: str) -> ParseResult:
    """One chat line; ``currency`` is that of the author's default account."""
    scale(currency)  # an unknown default currency is a configuration error, whatever the text
    head = _read_head(text, vocabulary, today=today)
    if isinstance(head, ParseError):
        return head
    if head.amount.signed_plus:
        return _record(head, vocabulary, today, currency, income=True)
    sides = _split_at_arrow(head.words)
    if sides is not None:
        before, after = sides
        source = vocabulary.account_names.get(Vocabulary.key(" ".join(_strip_at(before))))
        if source is not None:
            return _finish_transfer(head, source, after, vocabulary, today=today, currency=currency)
        if not before:
            return _amount_first(head, currency, ParseError(ParseErrorReason.MISSING_ACCOUNT))
        # "250 кафе a > b" is an expense whose note holds an arrow, not a bad transfer.
        if _longest(before, vocabulary.expense_aliases) is None:
            unknown = ParseError(ParseErrorReason.UNKNOWN_ACCOUNT, " ".join(before))
            return _amount_first(head, currency, unknown)
    return _record(head, vocabulary, today, currency, income=False)


def parse_transfer_arguments(
    text: str, vocabulary: Vocabulary, *, today: date, currency: str
) -> RecordTransfer | ParseError:
    scale(currency)
    head = _read_head(text, vocabulary, today=today)
    if isinstance(head, ParseError):
        return head
    sides = _split_at_arrow(head.words)
    if sides is not None:
        before, after = sides
        source = vocabulary.account_names.get(Vocabulary.key(" ".join(_strip_at(before))))
        if not before:
            return _amount_first(head, currency, ParseError(ParseErrorReason.MISSING_ACCOUNT))
        if source is None:
            unknown = ParseError(ParseErrorReason.UNKNOWN_ACCOUNT, " ".join(before))
            return _amount_first(head, currency, unknown)
        return _finish_transfer(head, source, after, vocabulary, today=today, currency=currency)
    words = _strip_at(head.words)
    if not words:
        return _amount_first(head, currency, ParseError(ParseErrorReason.MISSING_ACCOUNT))
    found = _longest(words, vocabulary.account_names)
    if found is None:
        unknown = ParseError(ParseErrorReason.UNKNOWN_ACCOUNT, words[0])
        return _amount_first(head, currency, unknown)
    source, used = found
    return _finish_transfer(head, source, words[used:], vocabulary, today=today, currency=currency)


def parse_amount(text: str, currency: str) -> Money | ParseError:
    """The whole of ``text`` as one amount, e.g. the limit in "/budget кафе 3000".

    No currency is read: such limits are in ``currency`` (categories keep the base one).
    """
    line = " ".join(visible(text).split())
    scanned = scan_amount(line, currencies=False)
    if isinstance(scanned, ParseError):
        return scanned
    money = scanned.money(currency)
    if isinstance(money, ParseError):
        return money
    if scanned.rest:
        return ParseError(ParseErrorReason.INVALID_AMOUNT, line)
    return money


def parse_rate(text: str) -> Decimal | ParseError:
    """A conversion rate as typed after "/rate USD": "41.50", "41,5"; units of the base
    currency per one unit of the other. Above zero, below 10^6, at most six decimals."""
    word = visible(text).strip()
    match = _RATE.fullmatch(word)
    if match is None:
        return ParseError(no_number_reason(word.lstrip("+-")), word)
    digits, fraction = match["int"].lstrip("0"), match["frac"] or ""
    if len(fraction) > _RATE_DECIMALS:
        return ParseError(ParseErrorReason.TOO_MANY_DECIMALS, word)
    if len(digits) > len(str(_RATE_LIMIT - 1)):
        return ParseError(ParseErrorReason.AMOUNT_TOO_LARGE, word)
    rate = Decimal(f"{digits or 0}.{fraction}" if fraction else digits or "0")
    if match["sign"] == "-" or rate == 0:
        return ParseError(ParseErrorReason.AMOUNT_NOT_POSITIVE, word)
    return rate


def _read_head(text: str, vocabulary: Vocabulary, *, today: date) -> _Head | ParseError:
    tokens = visible(text).split()
    leading = _leading_date(tokens, today)
    if isinstance(leading, ParseError):
        return leading
    booked_on, skip = leading
    line = " ".join(tokens[skip:])
    scanned = scan_amount(line, is_name=_names_in(vocabulary))
    if isinstance(scanned, ParseError):
        return scanned
    words, tags = _take_tags(scanned.rest.split())
    return _Head(scanned, booked_on, words, tags)


def _names_in(vocabulary: Vocabulary) -> Callable[[Sequence[str]], bool]:
    """Whether words begin with a name the household gave: it wins over a currency word."""
    tables = (vocabulary.account_names, vocabulary.expense_aliases, vocabulary.income_aliases)
    return lambda words: any(_longest(words, table) is not None for table in tables)


def _currency_of(account_id: int | None, vocabulary: Vocabulary, default: str) -> str:
    if account_id is None:
        return default
    return vocabulary.account_currencies.get(account_id, default)


def _amount_first(head: _Head, currency: str, error: ParseError) -> ParseError:
    """A bad amount is named before anything else wrong with the line."""
    money = head.amount.money(currency)
    return money if isinstance(money, ParseError) else error


def _record(
    head: _Head, vocabulary: Vocabulary, today: date, currency: str, *, income: bool
) -> RecordExpense | RecordIncome | ParseError:
    # Errors wait until the amount is checked in its account's currency: a bad amount is
    # named first, as it always was, and whether "250,5" is bad depends on that account.
    problem: ParseError | None = None
    words = list(head.words)
    account_id: int | None = None
    marker = next((i for i, w in enumerate(words) if len(w) > 1 and w.startswith("@")), None)
    if marker is not None:
        found = _longest([words[marker][1:], *words[marker + 1 :]], vocabulary.account_names)
        if found is None:
            problem = ParseError(ParseErrorReason.UNKNOWN_ACCOUNT, words[marker][1:])
        else:
            account_id, used = found
            del words[marker : marker + used]
    booked_on = today
    if problem is None:
        dated = _trailing_date(words, head.booked_on, today)
        if isinstance(dated, ParseError):
            problem = dated
        else:
            booked_on, words = dated
    if not words and problem is None:
        problem = ParseError(ParseErrorReason.MISSING_CATEGORY, head.amount.expression)
    aliases = vocabulary.income_aliases if income else vocabulary.expense_aliases
    category = _longest(words, aliases)
    category_id: int | None
    kept: list[str] = []
    if category is not None:
        category_id, slot = category
        unknown_word = None
    else:
        # The unknown word stays in the note, so re-filing it later can teach it as an alias.
        category_id, unknown_word, slot = None, words[0] if words else None, 1
        kept = words[:1]
    rest = words[slot:]
    if (
        account_id is None
        and (problem is None or problem.reason is not ParseErrorReason.UNKNOWN_ACCOUNT)
        and (found := _longest(rest, vocabulary.account_names)) is not None
    ):
        account_id, used = found
        rest = rest[used:]
    amount = head.amount.money(_currency_of(account_id, vocabulary, currency))
    if isinstance(amount, ParseError):
        return amount
    if problem is not None:
        return problem
    kind = RecordIncome if income else RecordExpense
    return kind(
        amount=amount,
        category_id=category_id,
        account_id=account_id,
        booked_on=booked_on,
        note=" ".join([*kept, *rest]),
        tags=head.tags,
        unknown_word=unknown_word,
    )


def _finish_transfer(
    head: _Head,
    source: int,
    after: list[str],
    vocabulary: Vocabulary,
    *,
    today: date,
    currency: str,
) -> RecordTransfer | ParseError:
    sent_in = _currency_of(source, vocabulary, currency)
    amount = head.amount.money(sent_in)
    if isinstance(amount, ParseError):
        return amount
    after = _strip_at(after)
    if not after:
        return ParseError(ParseErrorReason.MISSING_ACCOUNT)
    found = _longest(after, vocabulary.account_names)
    if found is None:
        return ParseError(ParseErrorReason.UNKNOWN_ACCOUNT, after[0])
    target, used = found
    if target == source:
        return ParseError(ParseErrorReason.SAME_ACCOUNT, " ".join(after[:used]))
    dated = _trailing_date(after[used:], head.booked_on, today)
    if isinstance(dated, ParseError):
        return dated
    booked_on, note = dated
    received: Money | None = None
    received_in = _currency_of(target, vocabulary, currency)
    # Between accounts in one currency a number after the target is note text, as ever.
    if received_in != sent_in and starts_amount(note):
        scanned = scan_amount(" ".join(note), is_name=_names_in(vocabulary))
        if isinstance(scanned, ParseError):
            return scanned
        money = scanned.money(received_in)
        if isinstance(money, ParseError):
            return money
        received, note = money, scanned.rest.split()
    return RecordTransfer(
        amount=amount,
        from_account_id=source,
        to_account_id=target,
        booked_on=booked_on,
        note=" ".join(note),
        tags=head.tags,
        received=received,
    )


def _longest(words: Sequence[str], table: Mapping[str, int]) -> tuple[int, int] | None:
    """The id and word count of the longest leading run of ``words`` that is a key of ``table``."""
    most = max((key.count(" ") + 1 for key in table), default=0)
    for count in range(min(most, len(words)), 0, -1):
        found = table.get(Vocabulary.key(" ".join(words[:count])))
        if found is not None:
            return found, count
    return None


def _split_at_arrow(words: list[str]) -> tuple[list[str], list[str]] | None:
    pieces = [piece for word in words for piece in _ARROW_SPLIT.split(word) if piece]
    for index, piece in enumerate(pieces):
        if piece in _ARROWS:
            return pieces[:index], pieces[index + 1 :]
    return None


def _strip_at(words: list[str]) -> list[str]:
    if words and len(words[0]) > 1 and words[0].startswith("@"):
        return [words[0][1:], *words[1:]]
    return words


def _take_tags(words: list[str]) -> tuple[list[str], tuple[str, ...]]:
    kept: list[str] = []
    tags: list[str] = []
    for word in words:
        tag = Vocabulary.key(word.lstrip("#").rstrip(_TAG_TRAILING)) if word[:1] == "#" else ""
        if tag:
            tags.append(tag)
        else:
            kept.append(word)
    return kept, tuple(dict.fromkeys(tags))


def _leading_date(tokens: list[str], today: date) -> tuple[date | None, int] | ParseError:
    for count in _DATE_WORD_LENGTHS:
        if len(tokens) >= count:
            days = _DATE_WORDS.get(Vocabulary.key(" ".join(tokens[:count])))
            if days is not None:
                found = _days_ago(today, days, tokens[0])
                return found if isinstance(found, ParseError) else (found, count)
    match = _NUMERIC_DATE.fullmatch(tokens[0]) if tokens else None
    if (
        match is not None
        and len(tokens) > 1
        and starts_amount(tokens[1:])
        and (match["year"] is not None or _plausible(match))
    ):
        resolved = _resolve_date(match, today)
        return resolved if isinstance(resolved, ParseError) else (resolved, 1)
    return None, 0


def _trailing_date(
    words: list[str], booked_on: date | None, today: date
) -> tuple[date, list[str]] | ParseError:
    if booked_on is not None:
        return booked_on, words
    for count in _DATE_WORD_LENGTHS:
        if len(words) >= count:
            days = _DATE_WORDS.get(Vocabulary.key(" ".join(words[-count:])))
            if days is not None:
                found = _days_ago(today, days, words[-1])
                return found if isinstance(found, ParseError) else (found, words[:-count])
    match = _NUMERIC_DATE.fullmatch(words[-1]) if words else None
    if match is not None and (match["year"] is not None or _plausible(match)):
        found = _resolve_date(match, today)
        return found if isinstance(found, ParseError) else (found, words[:-1])
    return today, words


def _days_ago(today: date, days: int, word: str) -> date | ParseError:
    try:
        return _in_window(today - timedelta(days=days), word)
    except OverflowError:  # only before 0001-01-01: no day to place the word on
        return ParseError(ParseErrorReason.INVALID_DATE, word)


def _in_window(day: date, text: str) -> date | ParseError:
    """No entry before EARLIEST_DAY: year 1 would be booked where no report can show it."""
    return day if day >= EARLIEST_DAY else ParseError(ParseErrorReason.DATE_OUT_OF_RANGE, text)


def _plausible(match: re.Match[str]) -> bool:
    return 1 <= int(match["day"]) <= 31 and 1 <= int(match["month"]) <= 12


def _resolve_date(match: re.Match[str], today: date) -> date | ParseError:
    day, month, text = int(match["day"]), int(match["month"]), match.group()
    if match["year"] is None:
        for year in range(today.year, today.year - _YEARS_BACK - 1, -1):
            try:
                candidate = date(year, month, day)
            except ValueError:  # 29.02 in a common year, 31.02 always, year 0
                continue
            if candidate <= today:
                return _in_window(candidate, text)
        return ParseError(ParseErrorReason.INVALID_DATE, text)
    year = int(match["year"]) + (2000 if len(match["year"]) == 2 else 0)
    try:
        explicit = date(year, month, day)
    except ValueError:
        return ParseError(ParseErrorReason.INVALID_DATE, text)
    if explicit > today:
        return ParseError(ParseErrorReason.FUTURE_DATE, text)
    return _in_window(explicit, text)
