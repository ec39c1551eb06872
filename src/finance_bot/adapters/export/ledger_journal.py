"""The hledger / ledger-cli journal: one entry per transaction, conversions at their price,
and at the end the `account` and `commodity` directives of everything used, so that
`hledger check accounts commodities` (or `--strict`) passes (docs/adr/0018)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TextIO

from finance_bot.adapters.export.accounts import AccountNames
from finance_bot.adapters.export.csv_writer import conversion_text, plain
from finance_bot.adapters.export.legs import journal_legs
from finance_bot.ports.export import ExportedPosting

_TYPES = {"asset": "A", "liability": "L", "equity": "E", "income": "R", "expense": "X"}
# A description ends at the line's end and at a ";" (its comment); a tag ends at ",".
_LINE_BREAKS = re.compile(r"[\r\n\t]+")
_TAG_UNSAFE = re.compile(r"[\s:,]+")
_COMMENT_UNSAFE = re.compile(r"[\r\n]+")


# tags hledger reads as dates, and the export's own: a person's tag of that name is renamed
_RESERVED_TAGS = frozenset(
    {"date", "date2", "id", "kind", "author", "voids", "voided_by", "booked_on", "conversion"}
)


def _tag_name(tag: str) -> str:
    name = _TAG_UNSAFE.sub("-", tag) or "-"
    return f"tag-{name}" if name.casefold() in _RESERVED_TAGS else name


def _amount(amount: Decimal, currency: str) -> str:
    return f"{plain(amount)} {currency}"


class LedgerJournalWriter:
    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._accounts = AccountNames(beancount=False)
        self._scales: dict[str, int] = {}
        out.write("; The books of a finance-bot household: hledger / ledger-cli journal.\n")
        out.write("; Account and commodity directives are at the end.\n")
        out.write("decimal-mark .\n\n")

    def transaction(self, legs: Sequence[ExportedPosting], *, dated: date) -> None:
        first = legs[0]
        description = _LINE_BREAKS.sub(" ", first.note).replace(";", ",").strip()
        tags = [
            f"id:{first.transaction_id}",
            f"kind:{first.kind}",
            f"author:{first.author_telegram_id}",
        ]
        if first.voids is not None:
            tags.append(f"voids:{first.voids}")
        if first.voided_by is not None:
            tags.append(f"voided_by:{first.voided_by}")
        if first.conversion is not None:
            tags.append(f"conversion:{conversion_text(first.conversion)}")
        if dated != first.booked_on:
            tags.append(f"booked_on:{first.booked_on.isoformat()}")
        tags.extend(f"{_tag_name(tag)}:" for tag in first.tags)
        lines = [f"{dated.isoformat()} * ({first.number}) {description}  ; {', '.join(tags)}"]
        for leg in journal_legs(legs):
            posting = leg.posting
            account = self._accounts.name(posting, dated)
            self._scales[posting.currency] = -posting.amount.as_tuple().exponent  # type: ignore[operator]
            text = _amount(posting.amount, posting.currency)
            if leg.price is not None:
                total, currency = leg.price
                self._scales[currency] = -total.as_tuple().exponent  # type: ignore[operator]
                text += f" @@ {_amount(total, currency)}"
            lines.append(f"    {account}  {text}")
        self._out.write("\n".join(lines) + "\n\n")

    def finish(self) -> None:
        out = self._out
        for key, name in sorted(self._accounts.names.items(), key=lambda item: item[1]):
            comment = _COMMENT_UNSAFE.sub(" ", key.name)
            owner = "" if key.owner is None else f", owner:{key.owner}"
            out.write(f"account {name}  ; type:{_TYPES[key.type]}{owner}\n")
            out.write(f"    ; name: {comment}\n")
        for currency, scale in sorted(self._scales.items()):
            sample = "1000." + "0" * scale
            out.write(f"commodity {sample} {currency}\n")
        out.flush()
