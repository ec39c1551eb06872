"""Account names for the journals: the bot's names made valid for each tool, the same way
every time and never two accounts onto one name (docs/adr/0018).

A name the tool takes as it is stays as it is. A name that has to change (a ":" that would
start a sub-account, spaces beancount does not allow, a first letter it wants in upper
case...) is changed and, unless only its first letter was raised, given eight hex digits of
the original's SHA-256, so that "кафе бар" and "кафе-бар" stay apart. The original name
is kept beside the account in both files."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from finance_bot.ports.export import ExportedPosting

_ROOTS = {
    "asset": "Assets",
    "liability": "Liabilities",
    "equity": "Equity",
    "income": "Income",
    "expense": "Expenses",
}
_SHARED = "Shared"
_CONVERSION = "conversion:"


def _suffix(original: str) -> str:
    return hashlib.sha256(original.encode()).hexdigest()[:8]


_SPACES = re.compile(r" {2,}")
_HLEDGER_UNSAFE = re.compile(r"[:\t\r\n\x00-\x1f\x7f]+")
# a posting's account must not start like a virtual posting, a status mark or a comment
_HLEDGER_BAD_START = frozenset("([*!;#")


def _plain_spaces(text: str) -> str:
    """Every Unicode space as " ": hledger reads any of them (a no-break space, an em
    space...) as a space, so one would merge "a\u00a0b" into "a b" and two end the name."""
    return "".join(" " if unicodedata.category(c) == "Zs" else c for c in text)


def hledger_component(name: str) -> str:
    """hledger takes any Unicode; ":" separates components, two spaces end the name."""
    text = _plain_spaces(unicodedata.normalize("NFC", name))
    cleaned = _SPACES.sub(" ", _HLEDGER_UNSAFE.sub("-", text)).strip()
    if not cleaned or cleaned[0] in _HLEDGER_BAD_START:
        cleaned = "X-" + cleaned
    return cleaned if cleaned == name else f"{cleaned}-{_suffix(name)}"


def _allowed_inside(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] == "L" or category == "Nd" or char == "-"


def beancount_component(name: str) -> str:
    """beancount v3: a component starts with an upper-case letter or a digit and holds only
    letters, digits and "-" (Cyrillic and other scripts included)."""
    text = unicodedata.normalize("NFC", name)
    cleaned = re.sub(r"-{2,}", "-", "".join(c if _allowed_inside(c) else "-" for c in text))
    cleaned = cleaned.strip("-")
    if cleaned and unicodedata.category(cleaned[0]) == "Ll":
        raised = cleaned[0].upper()
        if len(raised) == 1 and unicodedata.category(raised) == "Lu":
            cleaned = raised + cleaned[1:]
    if not cleaned or unicodedata.category(cleaned[0]) not in ("Lu", "Nd"):
        cleaned = "X-" + cleaned if cleaned else "X"
    if cleaned == name or (cleaned[1:] == name[1:] and cleaned[:1] == name[:1].upper()):
        return cleaned
    return f"{cleaned}-{_suffix(name)}"


@dataclass(frozen=True, slots=True)
class AccountKey:
    """What tells the bot's accounts apart in an export (ExportedPosting has no id)."""

    type: str
    owner: int | None
    name: str
    code: str | None

    @classmethod
    def of(cls, leg: ExportedPosting) -> AccountKey:
        return cls(
            leg.account_type, leg.account_owner_telegram_id, leg.account_name, leg.account_code
        )

    @property
    def conversion_currency(self) -> str | None:
        if self.type == "equity" and self.code and self.code.startswith(_CONVERSION):
            return self.code.removeprefix(_CONVERSION)
        return None


def full_name(key: AccountKey, *, beancount: bool) -> str:
    """Assets:<owner's Telegram id | Shared>:<name>, Liabilities likewise,
    Expenses:<name>, Income:<name>, Equity:Conversion:<CODE> for the conversion accounts."""
    clean = beancount_component if beancount else hledger_component
    root = _ROOTS[key.type]
    currency = key.conversion_currency
    if currency is not None:
        return f"{root}:Conversion:{currency}"
    if key.type in ("asset", "liability"):
        owner = _SHARED if key.owner is None else str(key.owner)
        return f"{root}:{owner}:{clean(key.name)}"
    return f"{root}:{clean(key.name)}"


class AccountNames:
    """The names of the accounts met so far, and the first day each was used on."""

    def __init__(self, *, beancount: bool) -> None:
        self._beancount = beancount
        self.names: dict[AccountKey, str] = {}
        self.first_used: dict[AccountKey, date] = {}
        # a plain tuple to look up each leg by: hashing a dataclass costs more, every leg
        self._known: dict[tuple[str, int | None, str, str | None], AccountKey] = {}

    def name(self, leg: ExportedPosting, on: date) -> str:
        found = (
            leg.account_type,
            leg.account_owner_telegram_id,
            leg.account_name,
            leg.account_code,
        )
        key = self._known.get(found)
        if key is None:
            key = self._known[found] = AccountKey(*found)
            self.names[key] = full_name(key, beancount=self._beancount)
            self.first_used[key] = on
        elif on < self.first_used[key]:
            self.first_used[key] = on
        return self.names[key]
