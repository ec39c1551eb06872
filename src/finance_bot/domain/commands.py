"""What a chat line asks for: commands (imperative), or a parse error as a value."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date

from finance_bot.domain.accounts import normalize_name
from finance_bot.domain.money import Money


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The words a household's lines are matched against, keys already normalized.

    Built from the database for one person: their own accounts plus the shared ones.
    """

    expense_aliases: dict[str, int] = field(default_factory=dict)  # alias -> category id
    income_aliases: dict[str, int] = field(default_factory=dict)
    account_names: dict[str, int] = field(default_factory=dict)  # name -> account id
    # account id -> its currency; an amount written without a currency is in its account's
    account_currencies: dict[int, str] = field(default_factory=dict)

    @staticmethod
    def key(text: str) -> str:
        return normalize_name(text)


@dataclass(frozen=True, slots=True)
class RecordExpense:
    amount: Money
    category_id: int | None  # None: no alias matched; file under "other"
    account_id: int | None  # None: the author's default account
    booked_on: date
    note: str = ""
    tags: tuple[str, ...] = ()
    unknown_word: str | None = None  # the word that named no category, kept in the note


@dataclass(frozen=True, slots=True)
class RecordIncome:
    amount: Money
    category_id: int | None  # None: "other income"
    account_id: int | None
    booked_on: date
    note: str = ""
    tags: tuple[str, ...] = ()
    unknown_word: str | None = None


@dataclass(frozen=True, slots=True)
class RecordTransfer:
    amount: Money
    from_account_id: int
    to_account_id: int
    booked_on: date
    note: str = ""
    tags: tuple[str, ...] = ()
    # What arrived, when the two accounts' currencies differ and the line says it
    # ("100 доллары > карта 4150"); None: the same amount arrived, or it was not said.
    received: Money | None = None


RecordCommand = RecordExpense | RecordIncome | RecordTransfer


class ParseErrorReason(enum.StrEnum):
    NO_AMOUNT = "no_amount"  # the line starts with no amount: answer with a hint
    INVALID_AMOUNT = "invalid_amount"  # 1e5, 12.5.3, letters inside digits
    AMOUNT_NOT_POSITIVE = "amount_not_positive"  # 0, -5, 100-200
    AMOUNT_TOO_LARGE = "amount_too_large"  # 10^12 and above
    TOO_MANY_DECIMALS = "too_many_decimals"  # 1.234
    MISSING_CATEGORY = "missing_category"  # an amount and nothing else
    UNKNOWN_ACCOUNT = "unknown_account"  # @word or a transfer side that names no account
    SAME_ACCOUNT = "same_account"  # a transfer from an account to itself
    INVALID_DATE = "invalid_date"  # 31.02, a date word the parser cannot place
    FUTURE_DATE = "future_date"  # an explicit date after today
    DATE_OUT_OF_RANGE = "date_out_of_range"  # before EARLIEST_DAY: no report could show it
    MISSING_ACCOUNT = "missing_account"  # a transfer side left empty: "1000 карта >"
    AMBIGUOUS_CURRENCY = "ambiguous_currency"  # "¥", "kr", "руб": name the code instead


@dataclass(frozen=True, slots=True)
class ParseError:
    reason: ParseErrorReason
    detail: str = ""  # the offending fragment, for the reply


ParseResult = RecordExpense | RecordIncome | RecordTransfer | ParseError
