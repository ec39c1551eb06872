"""Plain records the storage hands back to the application."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from finance_bot.domain.accounts import Account
from finance_bot.domain.commands import Vocabulary
from finance_bot.domain.digests import DigestSchedule
from finance_bot.domain.money import Money
from finance_bot.domain.transactions import Transaction


@dataclass(frozen=True, slots=True)
class Member:
    telegram_id: int
    household_id: int
    language: str | None
    default_account_id: int | None
    display_name: str | None = None  # the person's Telegram first name, for reports
    telegram_language: str | None = None  # Telegram's language code for them, as last seen
    active: bool = True  # False once they left (/leave): only their name stays, as an author


@dataclass(frozen=True, slots=True)
class HouseholdSettings:
    """What a household chose for itself (/settings, docs/adr/0022)."""

    id: int
    currency: str  # the base currency
    timezone: str | None  # an IANA name; None: the deployment's BOT_TIMEZONE
    language: str | None  # members who chose none speak it; None: Telegram's, else BOT_LANGUAGE


@dataclass(frozen=True, slots=True)
class Membership:
    member: Member
    household: HouseholdSettings
    # Read along when the update brings a line to read against them (docs/adr/0027).
    words: Words | None = field(default=None, compare=False)


class InviteRefusal(StrEnum):
    """Why a code joins nobody; every one of them writes nothing."""

    UNKNOWN = "unknown"  # forged, mistyped, or never made
    USED = "used"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"  # the member who made it has left the household


@dataclass(frozen=True, slots=True)
class Budget:
    category_id: int | None  # None: the household's total
    limit: Money


@dataclass(frozen=True, slots=True)
class AccountBalance:
    account: Account
    balance: Money  # in the account's natural sign: spending and income both positive


@dataclass(frozen=True, slots=True)
class AmountByKey:
    key: int  # a category id or a person's telegram id
    amount: Money


@dataclass(frozen=True, slots=True)
class PeriodTotals:
    """What a household spent and earned in [start, end), voided transactions left out."""

    start: date
    end: date
    spending: Money
    income: Money
    by_category: tuple[AmountByKey, ...]
    by_person: tuple[AmountByKey, ...]
    income_by_category: tuple[AmountByKey, ...]


@dataclass(frozen=True, slots=True)
class TransactionLine:
    """One transaction as a list shows it."""

    number: int
    kind: str
    booked_on: date
    amount: Money
    author_telegram_id: int
    debit_account_id: int
    credit_account_id: int
    note: str
    tags: tuple[str, ...]
    voided: bool
    converted_from: Money | None = None  # the amount as typed, when it was converted


@dataclass(frozen=True, slots=True)
class Words:
    """What a member's lines are read against, read in one round trip: the member, their
    household's live accounts and categories (by id), its aliases (key -> category ids),
    and its budgets (what recording the line then needs, docs/adr/0027)."""

    member: Member
    accounts: list[Account]
    aliases: dict[str, list[int]]
    budgets: tuple[Budget, ...] = ()
    # Each person's vocabulary, worked out of these words once and kept beside them while
    # the storage keeps them (docs/adr/0028): Words built from the same kept words share it.
    derived: dict[int, Vocabulary] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class TransactionSeen:
    """An entry as a member's confirmation shows it, read in one round trip: the
    transaction (None when their household has none of that id) and the accounts it
    touches, oldest first."""

    transaction: Transaction | None
    accounts: list[Account]


@dataclass(frozen=True, slots=True)
class WriteContext:
    """What recording needs to know, read in one round trip: who writes, the accounts
    the line names (and their default and "other" ones), and the household's budgets.

    Asked for a `foreign` currency (not the household's), also what a line in it needs:
    the author's and the shared accounts in it, the conversion accounts of it and of the
    base currency (those that exist), and the rate in force on the line's day."""

    member: Member
    accounts: dict[int, Account]
    budgets: tuple[Budget, ...]
    foreign: str | None = None  # the currency looked up, when it is not the household's
    rate: Rate | None = None  # of `foreign`, on the day asked


@dataclass(frozen=True, slots=True)
class Added:
    """What storing a transaction did."""

    number: int | None  # its number; None when its id was stored before (nothing written)


@dataclass(frozen=True, slots=True)
class Rate:
    """One unit of `currency` is worth `rate` of the household's base currency, from
    `valid_from` on."""

    currency: str
    rate: Decimal
    valid_from: date
    source: str  # "manual" (/rate), "exchange" (a recorded exchange) or "official"


@dataclass(frozen=True, slots=True)
class PersonTransfer:
    """A live transfer from one person's own account to another person's own account."""

    from_telegram_id: int
    to_telegram_id: int
    sent: Money  # what left, in the source account's currency
    received: Money  # what arrived, in the target account's currency
    booked_on: date


@dataclass(frozen=True, slots=True)
class ShareFacts:
    """What fair shares are computed from, over all time (docs/product.md §12): live
    common spending per person who paid it from their own accounts (base currency, the
    category legs), and the transfers between people's accounts."""

    paid: tuple[AmountByKey, ...]  # key: the payer's telegram id
    transfers: tuple[PersonTransfer, ...]
    last_number: int  # the household's latest transaction number: the state they describe


@dataclass(frozen=True, slots=True)
class RecurringRule:
    """A repeating entry (docs/product.md §9): `entry` is the line as understood when the
    rule was made (application.recurring reads it); `stopped` once `/every off N` ran."""

    id: int
    number: int  # its household's own (`/recurring`, `/every off N`), not the global id
    household_id: int
    author_telegram_id: int
    every: str
    day: int
    month: int
    line: str
    entry: dict[str, object]
    starts_on: date
    stopped: bool = False


@dataclass(frozen=True, slots=True)
class OccurrenceNotice:
    """A dealt-with due date whose author has not been told yet (the outbox)."""

    rule_id: int
    rule_number: int  # what the author knows it by (`/recurring`)
    due_on: date
    author_telegram_id: int
    line: str
    transaction_id: UUID | None  # None: skipped, for `skipped`
    number: int | None
    skipped: str | None
    alerts: tuple[dict[str, Any], ...] = ()  # budget alerts the entry set off, as JSON


@dataclass(frozen=True, slots=True)
class DigestSubscription:
    telegram_id: int
    schedule: DigestSchedule
    since: datetime  # digests due before this are not theirs
