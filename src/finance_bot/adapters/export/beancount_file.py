"""The beancount file: one entry per transaction, conversions at their price, and at the
end an `open` for every account on the first day it is used and a `commodity` for every
currency, so that `bean-check` passes (docs/adr/0018)."""

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

# beancount's tags and links are ASCII; every tag is also kept whole in the metadata.
_TAG = re.compile(r"^[A-Za-z0-9\-_/.]+$")


def quoted(text: str) -> str:
    """A beancount string: backslashes and double quotes escaped, everything else as is."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _amount(amount: Decimal, currency: str) -> str:
    return f"{plain(amount)} {currency}"


class BeancountWriter:
    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._accounts = AccountNames(beancount=True)
        self._currencies: dict[str, date] = {}
        self._base: str | None = None
        out.write(";; The books of a finance-bot household: beancount.\n")
        out.write(";; Options, open and commodity directives are at the end.\n\n")

    def transaction(self, legs: Sequence[ExportedPosting], *, dated: date) -> None:
        first = legs[0]
        self._base = first.base_currency
        marks = [f"#{tag}" for tag in first.tags if _TAG.match(tag)]
        original = first.voids or (first.transaction_id if first.voided_by else None)
        if original is not None:
            marks.append(f"^void-{original}")
        head = f"{dated.isoformat()} * {quoted(first.note)}"
        lines = [head + "".join(f" {mark}" for mark in marks)]
        meta = {
            "id": quoted(str(first.transaction_id)),
            "number": str(first.number),
            "kind": quoted(first.kind),
            "author": quoted(str(first.author_telegram_id)),
        }
        if first.author_name:
            meta["author_name"] = quoted(first.author_name)
        if first.tags:
            meta["tags"] = quoted(" ".join(first.tags))
        if first.voids is not None:
            meta["voids"] = quoted(str(first.voids))
        if first.voided_by is not None:
            meta["voided_by"] = quoted(str(first.voided_by))
        if first.conversion is not None:
            meta["conversion"] = quoted(conversion_text(first.conversion))
        if dated != first.booked_on:
            meta["booked_on"] = first.booked_on.isoformat()
        lines.extend(f"  {key}: {value}" for key, value in meta.items())
        for leg in journal_legs(legs):
            posting = leg.posting
            account = self._accounts.name(posting, dated)
            self._used(posting.currency, dated)
            text = _amount(posting.amount, posting.currency)
            if leg.price is not None:
                total, currency = leg.price
                self._used(currency, dated)
                text += f" @@ {_amount(total, currency)}"
            lines.append(f"  {account}  {text}")
        self._out.write("\n".join(lines) + "\n\n")

    def _used(self, currency: str, on: date) -> None:
        if currency not in self._currencies or on < self._currencies[currency]:
            self._currencies[currency] = on

    def finish(self) -> None:
        out = self._out
        if self._base is not None:
            out.write(f'option "operating_currency" {quoted(self._base)}\n\n')
        accounts = self._accounts
        for key, name in sorted(accounts.names.items(), key=lambda item: item[1]):
            out.write(f"{accounts.first_used[key].isoformat()} open {name}\n")
            out.write(f"  name: {quoted(key.name)}\n  type: {quoted(key.type)}\n")
            if key.owner is not None:
                out.write(f"  owner: {quoted(str(key.owner))}\n")
        for currency, first in sorted(self._currencies.items()):
            out.write(f"{first.isoformat()} commodity {currency}\n")
        out.flush()
