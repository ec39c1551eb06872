"""Accounts: the five types of double entry. Categories are income and expense accounts."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Final

# Marks no one sees that RTL keyboards and text copied out of other apps carry: bidi marks,
# embeddings and isolates, zero-width space, word joiner and its kin, the byte order mark,
# the soft hyphen. Left in, "кафе\u200e" names no category (and re-filing it would teach
# the invisible word as an alias) and "\u2068250\u2069" is no amount. The zero-width
# joiners U+200C and U+200D stay, as does the Mongolian vowel separator: emoji and some
# scripts' words are made with them.
_INVISIBLE: Final = re.compile(
    "[\u00ad\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)


class AccountType(enum.StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"

    @property
    def is_category(self) -> bool:
        return self in (AccountType.INCOME, AccountType.EXPENSE)

    @property
    def holds_money(self) -> bool:
        """Assets and liabilities: what a person can pay from. Equity (the conversion
        accounts) and categories are not."""
        return self in (AccountType.ASSET, AccountType.LIABILITY)

    @property
    def normal_sign(self) -> int:
        """+1 where a debit raises the balance (assets, expenses), -1 otherwise."""
        return 1 if self in (AccountType.ASSET, AccountType.EXPENSE) else -1


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    household_id: int
    type: AccountType
    name: str
    currency: str
    owner_telegram_id: int | None  # None: shared by the household (always for categories)
    code: str | None = None  # stable key of a built-in account or category, for translation
    archived: bool = False

    @property
    def is_shared(self) -> bool:
        return self.owner_telegram_id is None


def normalize_name(text: str) -> str:
    """The form in which names and aliases are compared: case-folded, ё = е, single spaces."""
    return " ".join(text.casefold().replace("ё", "е").split())


def visible(text: str) -> str:
    """``text`` without the invisible marks that would make a word or a number unreadable."""
    return _INVISIBLE.sub("", text)
