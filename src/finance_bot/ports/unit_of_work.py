"""The unit of work and its repositories. Nothing is stored until `commit()`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Protocol, Self
from uuid import UUID

from finance_bot.domain.accounts import Account, AccountType
from finance_bot.domain.digests import DigestKind
from finance_bot.domain.money import Money
from finance_bot.domain.transactions import Transaction
from finance_bot.ports.records import (
    AccountBalance,
    Added,
    Budget,
    DigestSubscription,
    HouseholdSettings,
    InviteRefusal,
    Member,
    Membership,
    OccurrenceNotice,
    PeriodTotals,
    Rate,
    RecurringRule,
    ShareFacts,
    TransactionLine,
    TransactionSeen,
    Words,
    WriteContext,
)


class IdempotencyKeyTaken(Exception):
    """The key belongs to an earlier write; this one wrote nothing (its statement, or
    unit of work, was rolled back)."""


class LedgerRepository(Protocol):
    async def add(
        self,
        transaction: Transaction,
        *,
        idempotency_key: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> Added:
        """Number and store a transaction with its postings, in one round trip.

        With an idempotency key, the key is claimed in the same statement and `result`
        stored under it, with the new transaction's "number" filled in; a key claimed before
        raises IdempotencyKeyTaken. Nothing is written when a transaction with this id exists
        (`number` None). Numbering locks the household's counter: the first lock of every
        ledger write.
        """
        ...

    async def get(self, transaction_id: UUID) -> Transaction | None: ...

    async def by_number(
        self, household_id: int, number: int, *, for_update: bool = False
    ) -> Transaction | None: ...

    async def last_number_by_author(self, author_telegram_id: int) -> int | None:
        """The number of the author's latest transaction that is not a reversal."""
        ...

    async def link_void(self, original_id: UUID, reversal_id: UUID) -> None: ...


class DirectoryRepository(Protocol):
    """Households, members, accounts, categories and their aliases."""

    async def lock_households(self) -> None:
        """Serialise household creation, so two first messages make one household."""
        ...

    async def first_household(self) -> int | None:
        """The first household, whichever the unit of work is bound to (the whitelist's)."""
        ...

    async def create_household(self, currency: str) -> int:
        """A new household whose base currency is `currency`, for good; the unit of work
        is bound to it from here on (docs/adr/0021)."""
        ...

    async def household_currency(self, household_id: int) -> str: ...

    async def household_ids(self) -> list[int]:
        """Across households, the ids alone: every household."""
        ...

    async def household_currencies(self) -> dict[int, str]:
        """Every household's base currency, by household id."""
        ...

    async def conversion_accounts(
        self, household_id: int, currencies: Sequence[str]
    ) -> dict[str, int]:
        """The household's conversion account in each currency, made on first need."""
        ...

    async def member(self, telegram_id: int) -> Member | None: ...

    async def members(self, household_id: int) -> list[Member]: ...

    async def words(self, telegram_id: int) -> Words | None:
        """The member and what their lines are read against: `accounts(include_archived=
        False)` and `aliases` of their household, in one round trip (every text line)."""
        ...

    async def write_context(
        self,
        telegram_id: int,
        account_ids: Sequence[int],
        *,
        currency: str | None = None,
        day: date | None = None,
    ) -> WriteContext | None:
        """The member, these accounts plus their default and "other" ones, and the budgets;
        for a `currency` other than the household's, what a line in it needs on `day`."""
        ...

    async def add_member(
        self, telegram_id: int, household_id: int, language: str | None
    ) -> None: ...

    async def set_language(self, telegram_id: int, language: str) -> None: ...

    async def set_profile(
        self, telegram_id: int, display_name: str | None, telegram_language: str | None
    ) -> None:
        """What Telegram tells about a person: first name and language code."""
        ...

    async def set_default_account(self, telegram_id: int, account_id: int) -> None: ...

    async def add_account(
        self,
        *,
        household_id: int,
        type: AccountType,
        name: str,
        currency: str,
        owner_telegram_id: int | None,
        code: str | None = None,
    ) -> Account: ...

    async def account(self, account_id: int) -> Account | None: ...

    async def accounts(self, household_id: int, *, include_archived: bool = False) -> list[Account]:
        """Every account and category of the household."""
        ...

    async def archive_account(self, account_id: int) -> None: ...

    async def rename_account(self, account_id: int, name: str) -> None: ...

    async def aliases(self, household_id: int) -> dict[str, list[int]]:
        """alias key -> category ids (an alias may name one expense and one income category)."""
        ...

    async def add_alias(self, household_id: int, alias_key: str, category_id: int) -> None:
        """Point the alias at this category, taking it from any other category of its type."""
        ...

    async def remove_alias(self, household_id: int, alias_key: str) -> int:
        """Remove an alias from every category; return how many links were removed."""
        ...

    async def set_personal(self, category_id: int, personal: bool) -> None:
        """Mark an expense category personal (or shared again): nobody's common spending."""
        ...

    async def personal_categories(self, household_id: int) -> set[int]: ...

    async def shares(self, household_id: int) -> dict[int, int]:
        """Each member's share of common spending in percent, for those who have one."""
        ...

    async def set_shares(self, household_id: int, shares: Mapping[int, int]) -> None:
        """Set these members' shares in percent; the other members' are cleared."""
        ...

    async def household_settings(self, household_id: int) -> HouseholdSettings: ...

    async def set_household_timezone(self, household_id: int, timezone: str) -> None: ...

    async def set_household_language(self, household_id: int, language: str) -> None: ...

    async def change_base_currency(self, household_id: int, currency: str) -> bool:
        """Make `currency` the base of the household and of its accounts in the old base;
        False, changing nothing, once an entry, a rate or a budget is recorded."""
        ...

    async def add_invite(
        self, code_hash: bytes, household_id: int, inviter_telegram_id: int, expires_at: datetime
    ) -> None: ...

    async def leave(self, telegram_id: int, household_id: int) -> None:
        """The person is no member from now on; their entries and name stay, their rules
        stop, their digest ends, the household's shares go back to equal."""
        ...


class MembershipRepository(Protocol):
    """The operations that start from a Telegram id or a code, before any household is
    known: the only ones that look across households (docs/adr/0022). Each crosses through
    a SECURITY DEFINER function that returns ids alone (docs/adr/0021); `membership` and
    `rejoin` read and write the bound household only."""

    async def membership(self, telegram_id: int, *, with_words: bool = False) -> Membership | None:
        """The person's membership in the bound household (a unit of work bound to them);
        `with_words`: with the words their lines are read against (`Membership.words`)."""
        ...

    async def household_of(self, telegram_id: int) -> int | None:
        """Across households: the household the person is a member of now."""
        ...

    async def household_of_any(self, telegram_ids: frozenset[int]) -> int | None: ...

    async def household_zones(self) -> dict[int, str]:
        """Scheduled work: household id -> its own time zone, for those that have one."""
        ...

    async def former_household(self, telegram_id: int) -> int | None:
        """For a person in no household now: the household they left last, if any."""
        ...

    async def lock_person(self, telegram_id: int) -> None:
        """Until the unit of work ends, no other joining of this person (by invitation or
        founding) goes on: a second one waits, then finds the first one's membership."""
        ...

    async def redeem_invite(
        self, code_hash: bytes, telegram_id: int, now: datetime
    ) -> int | InviteRefusal:
        """Mark the invitation used by this person; its household, or why not (nothing
        written then). The unit of work is left unbound: the caller binds the household."""
        ...

    async def found_household(self, currency: str, timezone: str) -> int:
        """A new household's row; the unit of work (bound to none) is bound to it."""
        ...

    async def rejoin(self, telegram_id: int, household_id: int) -> bool:
        """In a unit of work bound to `household_id`: the person's row there, left once, is
        active again; False when they never belonged to it (docs/adr/0025)."""
        ...


class BudgetRepository(Protocol):
    async def set(self, household_id: int, category_id: int | None, limit: Money) -> None: ...

    async def remove(self, household_id: int, category_id: int | None) -> bool: ...

    async def all(self, household_id: int) -> list[Budget]: ...

    async def record_alert(
        self, household_id: int, category_id: int | None, month: date, threshold_pct: int
    ) -> bool:
        """Remember that an alert was sent; False if it had been already."""
        ...


class RateRepository(Protocol):
    """The household's exchange rates: a history, appended to, never changed."""

    async def add(
        self,
        household_id: int,
        currency: str,
        rate: Decimal,
        valid_from: date,
        *,
        source: str,
        author_telegram_id: int | None = None,
    ) -> None: ...

    async def add_official(self, day: date, rates_in_uah: Mapping[str, Decimal]) -> int:
        """The day's official rates (hryvnias per unit) for every household, each in its
        own base currency; a day's rates stored before are kept. Returns the rows added."""
        ...

    async def on(self, household_id: int, currency: str, day: date) -> Rate | None:
        """The rate in force on `day`: the latest from that day or before (on one day, a
        rate set by hand before an exchange's, before an official one, then the newest);
        when there is none yet, the earliest after it."""
        ...

    async def latest(self, household_id: int) -> list[Rate]:
        """The newest rate of every currency that has one, by currency code."""
        ...


class IdempotencyRepository(Protocol):
    async def claim(self, key: str) -> dict[str, Any] | None:
        """Claim a key for this unit of work.

        Returns None when the key is new (the caller does the work and `store`s its result),
        or the result stored by the unit of work that claimed it first. A concurrent claim
        of the same key waits until the first one commits or rolls back.
        """
        ...

    async def store(self, key: str, result: dict[str, Any]) -> None: ...

    async def stored(self, key: str) -> dict[str, Any] | None:
        """The result kept under a key, if any (read after a key turned out taken)."""
        ...

    async def claimed_since(self, prefix: str, since: datetime) -> set[str]:
        """The keys starting with `prefix` claimed at `since` or later."""
        ...


class ReportReader(Protocol):
    async def transaction_seen_by(
        self, telegram_id: int, transaction_id: UUID
    ) -> TransactionSeen | None:
        """The entry in the member's household and the accounts it touches, in one round
        trip (every confirmation); None when the person is no member."""
        ...

    async def period_totals(
        self,
        household_id: int,
        start: date,
        end: date,
        *,
        currency: str,
        author_telegram_id: int | None = None,
    ) -> PeriodTotals: ...

    async def category_spending(
        self, household_id: int, start: date, end: date, *, currency: str
    ) -> dict[int | None, Money]:
        """Spending per expense category in [start, end), and the total under None."""
        ...

    async def daily_spending(
        self,
        household_id: int,
        start: date,
        end: date,
        *,
        currency: str,
        author_telegram_id: int | None = None,
    ) -> dict[date, Money]:
        """What live entries spent on expense categories each day of [start, end), in the
        base currency; days that add up to nothing are left out."""
        ...

    async def foreign_parts(
        self,
        household_id: int,
        start: date,
        end: date,
        *,
        author_telegram_id: int | None = None,
    ) -> dict[int, tuple[Money, ...]]:
        """What live converted entries in [start, end) brought to each category in
        currencies other than the base one, as typed, per currency."""
        ...

    async def balances(self, household_id: int) -> list[AccountBalance]:
        """Every asset and liability account (conversion accounts are not money one has)."""
        ...

    async def last_transactions(
        self, household_id: int, limit: int, *, author_telegram_id: int | None = None
    ) -> list[TransactionLine]: ...

    async def share_facts(self, household_id: int, *, currency: str) -> ShareFacts:
        """Live expenses that are neither in a personal category nor tagged personal
        (`PERSONAL_TAGS`), summed per owner of the account that paid them (shared accounts
        left out), at their base amount; and every live transfer between two different
        people's own accounts. `currency` is the household's base currency."""
        ...


class RecurringRepository(Protocol):
    """Repeating entries (docs/product.md §9, docs/adr/0016)."""

    async def add_rule(
        self,
        *,
        household_id: int,
        author_telegram_id: int,
        every: str,
        day: int,
        month: int,
        line: str,
        entry: Mapping[str, object],
        starts_on: date,
    ) -> int:
        """A new live rule; returns its number."""
        ...

    async def rules(self, household_id: int) -> list[RecurringRule]:
        """The household's live rules, oldest first."""
        ...

    async def live_rules(self) -> list[RecurringRule]:
        """The bound household's live rules: what the scheduler looks at."""
        ...

    async def households_with_live_rules(self) -> list[int]:
        """Across households, the ids alone: which have a live rule."""
        ...

    async def households_with_unsent_notices(self) -> list[int]:
        """Across households, the ids alone: which have occurrences not yet announced."""
        ...

    async def stop(self, household_id: int, number: int) -> bool:
        """Stop a live rule of the household; False when there is none by that number."""
        ...

    async def dealt_with(self, rule_id: int, since: date) -> set[date]:
        """The due dates from `since` on that have an occurrence row (recorded or skipped)."""
        ...

    async def add_occurrence(
        self,
        rule_id: int,
        due_on: date,
        *,
        transaction_id: UUID | None,
        skipped: str | None,
        alerts: Sequence[Mapping[str, Any]] = (),
    ) -> bool:
        """Claim the due date for this unit of work; False when another holds it (the
        first claim wins; a concurrent one waits until the first commits or rolls back)."""
        ...

    async def unsent(self, limit: int) -> list[OccurrenceNotice]:
        """Occurrences not yet announced, of the first rule that has some, oldest first;
        locked for this unit of work, skipping those another one holds."""
        ...

    async def mark_sent(self, rule_id: int, due_dates: Sequence[date]) -> None: ...


class DigestRepository(Protocol):
    """Who wants digests, and the log of digests claimed for sending (docs/adr/0017)."""

    async def subscribe(self, subscription: DigestSubscription) -> None:
        """Set the person's digest, replacing any they had."""
        ...

    async def unsubscribe(self, telegram_id: int) -> bool: ...

    async def subscription(self, telegram_id: int) -> DigestSubscription | None: ...

    async def subscriptions(self) -> list[DigestSubscription]:
        """The bound household's members' settings."""
        ...

    async def households_with_digests(self) -> list[int]:
        """Across households, the ids alone: which have a member with a digest set."""
        ...

    async def logged(self, telegram_id: int, kind: DigestKind, period_start: date) -> bool:
        """Whether this digest was claimed already, whatever became of it."""
        ...

    async def claim(self, telegram_id: int, kind: DigestKind, period_start: date) -> bool:
        """Log the digest as being sent; False if it was claimed before (by anyone)."""
        ...

    async def finish(
        self, telegram_id: int, kind: DigestKind, period_start: date, *, sent: bool
    ) -> None:
        """A claimed digest went out (`sent`), or Telegram refused it for good."""
        ...

    async def release(self, telegram_id: int, kind: DigestKind, period_start: date) -> None:
        """Give a claim back: Telegram took nothing, so a later tick may send it."""
        ...


class UnitOfWork(Protocol):
    ledger: LedgerRepository
    directory: DirectoryRepository
    budgets: BudgetRepository
    idempotency: IdempotencyRepository
    reports: ReportReader
    rates: RateRepository
    digests: DigestRepository
    membership: MembershipRepository  # across households: lookups by Telegram id or code

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""
        ...

    async def commit(self) -> None: ...

    async def bind(self, household_id: int) -> None:
        """Bind a unit of work opened for no household (or for a person who belongs to
        none yet) to this one: founding or joining a household. A unit of work is bound to
        one household at most (docs/adr/0021)."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(
        self,
        *,
        transactional: bool = True,
        person: int | None = None,
        household: int | None = None,
    ) -> UnitOfWork:
        """A unit of work, bound to one household: `household`, or the one the member
        `person` (a Telegram id) belongs to. It sees and writes that household's rows
        only; bound to none, it sees no household's rows at all (docs/adr/0021).

        `transactional=False`: each write counts as done when the repository method that
        made it returns (committed then: no rollback on leaving, nor on a later failure),
        and `commit()` has nothing left to do; a write may use it only when one method
        does all of it.
        """
        ...


class RecurringUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that also reaches the repeating entries."""

    recurring: RecurringRepository


class RecurringUnitOfWorkFactory(Protocol):
    def __call__(
        self,
        *,
        transactional: bool = True,
        person: int | None = None,
        household: int | None = None,
    ) -> RecurringUnitOfWork: ...
