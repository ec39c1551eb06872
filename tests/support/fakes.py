"""An in-memory implementation of every storage port, for fast use-case tests.

It mirrors what the PostgreSQL adapter does that callers can observe (numbering, idempotency,
void links, balance and category-total caches, alias moves, budget alerts), and nothing of
how. A transactional unit of work works on a copy of the state and publishes it on commit;
a non-transactional one writes straight to the shared state, statement by statement.
Concurrency is not modelled: units of work running side by side do not wait for each other.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from iso4217 import Currency

from finance_bot.application.defaults import OTHER_CATEGORY_CODES
from finance_bot.domain.accounts import Account, AccountType, normalize_name
from finance_bot.domain.digests import DigestKind
from finance_bot.domain.money import Money
from finance_bot.domain.shares import PERSONAL_TAGS
from finance_bot.domain.transactions import Direction, Transaction, TransactionKind
from finance_bot.ports.records import (
    AccountBalance,
    Added,
    AmountByKey,
    Budget,
    DigestSubscription,
    HouseholdSettings,
    InviteRefusal,
    Member,
    Membership,
    PeriodTotals,
    PersonTransfer,
    Rate,
    ShareFacts,
    TransactionLine,
    TransactionSeen,
    Words,
    WriteContext,
)
from finance_bot.ports.unit_of_work import (
    BudgetRepository,
    DigestRepository,
    DirectoryRepository,
    IdempotencyKeyTaken,
    IdempotencyRepository,
    LedgerRepository,
    MembershipRepository,
    RateRepository,
    ReportReader,
)

# (household, booked_on, category, author, currency) -> debit minus credit, as the trigger keeps
_DayKey = tuple[int, date, int, int, str]


class IntegrityError(Exception):
    """What the database would refuse with a constraint or trigger error."""


@dataclass
class FakeState:
    """Every table the adapter reads and writes, as plain dictionaries."""

    households: dict[int, int] = field(default_factory=dict)  # id -> last transaction number
    currencies: dict[int, str] = field(default_factory=dict)  # household id -> base currency
    # household id -> (time zone, language) of its own (/settings); absent: the deployment's
    household_choices: dict[int, tuple[str | None, str | None]] = field(default_factory=dict)
    # household, expiry, used, inviter
    invites: dict[bytes, tuple[int, datetime, bool, int]] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)  # a person's latest membership
    member_since: dict[int, int] = field(default_factory=dict)  # telegram id -> "created_at"
    # The rows of households a person left before joining another: (row, "created_at").
    former: list[tuple[Member, int]] = field(default_factory=list)
    accounts: dict[int, Account] = field(default_factory=dict)
    balances: dict[int, int] = field(default_factory=dict)  # account id -> debit minus credit
    aliases: set[tuple[int, str, int]] = field(default_factory=set)  # household, key, category
    transactions: dict[UUID, Transaction] = field(default_factory=dict)
    day_totals: dict[_DayKey, int] = field(default_factory=dict)
    budgets: dict[tuple[int, int | None], Money] = field(default_factory=dict)
    alerts: set[tuple[int, int | None, date, int]] = field(default_factory=set)
    idempotency: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    rates: list[tuple[int, Rate]] = field(default_factory=list)  # household id, rate
    personal: set[int] = field(default_factory=set)  # ids of categories marked personal
    shares: dict[int, int] = field(default_factory=dict)  # telegram id -> share in percent
    digest_settings: dict[int, DigestSubscription] = field(default_factory=dict)
    digests_sent: dict[tuple[int, DigestKind, date], str] = field(default_factory=dict)  # state
    # Like PostgreSQL sequences and now(), these are not undone by a rollback.
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    clock: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def publish(self, other: FakeState) -> None:
        for f in fields(self):
            if f.name not in ("ids", "clock"):
                setattr(self, f.name, getattr(other, f.name))

    def snapshot(self) -> FakeState:
        taken = copy.deepcopy(replace(self, ids=itertools.count(), clock=itertools.count()))
        taken.ids, taken.clock = self.ids, self.clock
        return taken


class _Session:
    """What one unit of work sees: a private copy, or the shared state itself."""

    def __init__(self, data: FakeState, now: int, household: int | None = None) -> None:
        self.data = data
        self.now = now  # the transaction's start "time", as now() is in PostgreSQL
        # The bound household: only the reads the scheduler makes per household use it.
        self.household = household


def _json(value: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(json.dumps(value))
    return loaded


class FakeLedger:
    def __init__(self, session: _Session) -> None:
        self._s = session

    async def add(
        self,
        transaction: Transaction,
        *,
        idempotency_key: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> Added:
        data = self._s.data
        if transaction.id in data.transactions or transaction.household_id not in data.households:
            return Added(number=None)  # nothing numbered, nothing claimed, nothing stored
        if idempotency_key is not None and idempotency_key in data.idempotency:
            raise IdempotencyKeyTaken(idempotency_key)
        for posting in transaction.postings:
            account = data.accounts.get(posting.account_id)
            if account is None or account.household_id != transaction.household_id:
                raise IntegrityError(f"account {posting.account_id} is not in this household")
        number = data.households[transaction.household_id] + 1
        data.households[transaction.household_id] = number
        if idempotency_key is not None:
            data.idempotency[idempotency_key] = _json({**(result or {}), "number": number})
        # The adapter writes the legs in account order and reads them back in that order.
        postings = tuple(sorted(transaction.postings, key=lambda p: p.account_id))
        stored = replace(transaction, number=number, postings=postings)
        stored = replace(stored, voided_by_transaction_id=None)
        data.transactions[transaction.id] = stored
        for posting in postings:
            data.balances[posting.account_id] += posting.signed_minor
        if transaction.kind is not TransactionKind.REVERSAL:
            self._roll(stored, +1)
        return Added(number=number)

    def _roll(self, transaction: Transaction, sign: int) -> None:
        data = self._s.data
        for posting in transaction.postings:
            if data.accounts[posting.account_id].type.is_category:
                key = (
                    transaction.household_id,
                    transaction.booked_on,
                    posting.account_id,
                    transaction.author_telegram_id,
                    posting.amount.currency,
                )
                data.day_totals[key] = data.day_totals.get(key, 0) + sign * posting.signed_minor

    async def get(self, transaction_id: UUID) -> Transaction | None:
        return self._s.data.transactions.get(transaction_id)

    async def by_number(
        self, household_id: int, number: int, *, for_update: bool = False
    ) -> Transaction | None:
        for transaction in self._s.data.transactions.values():
            if transaction.household_id == household_id and transaction.number == number:
                return transaction
        return None

    async def last_number_by_author(self, author_telegram_id: int) -> int | None:
        numbers = [
            t.number
            for t in self._s.data.transactions.values()
            if t.author_telegram_id == author_telegram_id
            and t.kind is not TransactionKind.REVERSAL
            and t.number is not None
        ]
        return max(numbers, default=None)

    async def link_void(self, original_id: UUID, reversal_id: UUID) -> None:
        data = self._s.data
        original = data.transactions.get(original_id)
        if original is None:
            return  # the UPDATE matches no row
        if original.voided_by_transaction_id is not None:
            raise IntegrityError(f"transaction {original_id} is already voided")
        if original.kind is TransactionKind.REVERSAL:
            raise IntegrityError(f"transaction {original_id} is a reversal and cannot be voided")
        data.transactions[original_id] = replace(original, voided_by_transaction_id=reversal_id)
        self._roll(original, -1)


class FakeDirectory:
    def __init__(self, session: _Session) -> None:
        self._s = session

    async def lock_households(self) -> None:
        return None

    async def first_household(self) -> int | None:
        return min(self._s.data.households, default=None)

    async def household_ids(self) -> list[int]:
        return sorted(self._s.data.households)

    async def create_household(self, currency: str) -> int:
        if self._s.household is not None:
            raise RuntimeError("a unit of work bound to a household cannot found another")
        household_id = next(self._s.data.ids)
        self._s.household = household_id
        self._s.data.households[household_id] = 0
        self._s.data.currencies[household_id] = currency
        return household_id

    async def household_currency(self, household_id: int) -> str:
        return self._s.data.currencies[household_id]

    async def household_currencies(self) -> dict[int, str]:
        return dict(self._s.data.currencies)

    async def conversion_accounts(
        self, household_id: int, currencies: Sequence[str]
    ) -> dict[str, int]:
        found = {}
        for currency in sorted(set(currencies)):
            code = f"conversion:{currency}"
            existing = [
                a
                for a in self._s.data.accounts.values()
                if a.household_id == household_id
                and a.type is AccountType.EQUITY
                and a.code == code
            ]
            if existing:
                found[currency] = existing[0].id
                continue
            made = await self.add_account(
                household_id=household_id,
                type=AccountType.EQUITY,
                name=f"⇄ {currency}",
                currency=currency,
                owner_telegram_id=None,
                code=code,
            )
            found[currency] = made.id
        return found

    async def member(self, telegram_id: int) -> Member | None:
        member = self._s.data.members.get(telegram_id)
        return member if member is not None and member.active else None

    async def household_settings(self, household_id: int) -> HouseholdSettings:
        data = self._s.data
        timezone, language = data.household_choices.get(household_id, (None, None))
        return HouseholdSettings(household_id, data.currencies[household_id], timezone, language)

    async def set_household_timezone(self, household_id: int, timezone: str) -> None:
        _, language = self._s.data.household_choices.get(household_id, (None, None))
        self._s.data.household_choices[household_id] = (timezone, language)

    async def set_household_language(self, household_id: int, language: str) -> None:
        timezone, _ = self._s.data.household_choices.get(household_id, (None, None))
        self._s.data.household_choices[household_id] = (timezone, language)

    async def change_base_currency(self, household_id: int, currency: str) -> bool:
        data = self._s.data
        if (
            any(t.household_id == household_id for t in data.transactions.values())
            or any(h == household_id for h, _ in data.rates)
            or any(h == household_id for h, _ in data.budgets)
        ):
            return False
        old = data.currencies[household_id]
        for account in list(data.accounts.values()):
            own_conversion = account.code == f"conversion:{old}"  # stays the old base's
            in_old = account.household_id == household_id and account.currency == old
            if in_old and not own_conversion:
                data.accounts[account.id] = replace(account, currency=currency)
        data.currencies[household_id] = currency
        return True

    async def add_invite(
        self, code_hash: bytes, household_id: int, inviter_telegram_id: int, expires_at: datetime
    ) -> None:
        self._s.data.invites[code_hash] = (household_id, expires_at, False, inviter_telegram_id)

    async def leave(self, telegram_id: int, household_id: int) -> None:
        data = self._s.data
        member = data.members.get(telegram_id)
        if member is not None and member.household_id == household_id:
            data.members[telegram_id] = replace(member, active=False)
        data.digest_settings.pop(telegram_id, None)
        data.shares.clear()

    async def members(self, household_id: int) -> list[Member]:
        data = self._s.data
        found = [
            (data.member_since[m.telegram_id], m)
            for m in data.members.values()
            if m.household_id == household_id
        ]
        found += [(since, m) for m, since in data.former if m.household_id == household_id]
        return [m for _, m in sorted(found, key=lambda pair: (pair[0], pair[1].telegram_id))]

    async def words(self, telegram_id: int) -> Words | None:
        member = self._s.data.members.get(telegram_id)
        if member is None:
            return None
        return Words(
            member=member,
            accounts=await self.accounts(member.household_id),
            aliases=await self.aliases(member.household_id),
            budgets=self._budgets_of(member.household_id),
        )

    def _budgets_of(self, household_id: int) -> tuple[Budget, ...]:
        return tuple(
            Budget(category_id, limit)
            for (household, category_id), limit in self._s.data.budgets.items()
            if household == household_id
        )

    async def write_context(
        self,
        telegram_id: int,
        account_ids: Sequence[int],
        *,
        currency: str | None = None,
        day: date | None = None,
    ) -> WriteContext | None:
        data = self._s.data
        member = data.members.get(telegram_id)
        if member is None or not member.active:
            return None
        base = data.currencies[member.household_id]
        foreign = currency if currency is not None and currency != base else None

        def wanted(a: Account) -> bool:
            if a.id in account_ids or a.id == member.default_account_id:
                return True
            if a.owner_telegram_id is None and a.code in OTHER_CATEGORY_CODES:
                return True
            if foreign is None:
                return False
            if a.type.holds_money and a.currency == foreign and not a.archived:
                return a.owner_telegram_id in (None, telegram_id)
            return a.type is AccountType.EQUITY and a.code in (
                f"conversion:{foreign}",
                f"conversion:{base}",
            )

        accounts = {
            a.id: a
            for a in data.accounts.values()
            if a.household_id == member.household_id and wanted(a)
        }
        budgets = self._budgets_of(member.household_id)
        rate = None
        if foreign is not None and day is not None:
            rate = await FakeRates(self._s).on(member.household_id, foreign, day)
        return WriteContext(
            member=member, accounts=accounts, budgets=budgets, foreign=foreign, rate=rate
        )

    async def add_member(self, telegram_id: int, household_id: int, language: str | None) -> None:
        data = self._s.data
        rows = [m for m, _ in data.former if m.telegram_id == telegram_id]
        latest = data.members.get(telegram_id)
        rows += [latest] if latest is not None else []
        # members_one_active_uq and members_household_uq
        if any(m.active or m.household_id == household_id for m in rows):
            raise IntegrityError(f"member {telegram_id} is active, or was in {household_id}")
        if household_id not in data.households:
            raise IntegrityError(f"household {household_id} does not exist")
        if language not in (None, "ru", "en"):
            raise IntegrityError(f"unknown language {language}")
        if latest is not None:
            data.former.append((latest, data.member_since[telegram_id]))
        data.members[telegram_id] = Member(telegram_id, household_id, language, None)
        data.member_since[telegram_id] = self._s.now

    def _update(self, telegram_id: int, **changes: Any) -> None:
        member = self._s.data.members.get(telegram_id)
        if member is not None:
            self._s.data.members[telegram_id] = replace(member, **changes)

    async def set_language(self, telegram_id: int, language: str) -> None:
        if language not in ("ru", "en"):
            raise IntegrityError(f"unknown language {language}")
        self._update(telegram_id, language=language)

    async def set_profile(
        self, telegram_id: int, display_name: str | None, telegram_language: str | None
    ) -> None:
        self._update(telegram_id, display_name=display_name, telegram_language=telegram_language)

    async def set_default_account(self, telegram_id: int, account_id: int) -> None:
        self._update(telegram_id, default_account_id=account_id)

    async def add_account(
        self,
        *,
        household_id: int,
        type: AccountType,
        name: str,
        currency: str,
        owner_telegram_id: int | None,
        code: str | None = None,
    ) -> Account:
        data = self._s.data
        if type.is_category and owner_telegram_id is not None:
            raise IntegrityError("categories are shared")
        for other in data.accounts.values():
            same_owner = (other.household_id, other.owner_telegram_id) == (
                household_id,
                owner_telegram_id,
            )
            if (
                same_owner
                and not other.archived
                and normalize_name(other.name) == (normalize_name(name))
            ):
                raise IntegrityError(f"account name {name!r} is taken")
            if same_owner and code is not None and (other.type, other.code) == (type, code):
                raise IntegrityError(f"account code {code!r} is taken")
        account = Account(
            id=next(data.ids),
            household_id=household_id,
            type=type,
            name=name,
            currency=currency,
            owner_telegram_id=owner_telegram_id,
            code=code,
        )
        data.accounts[account.id] = account
        data.balances[account.id] = 0
        return account

    async def account(self, account_id: int) -> Account | None:
        return self._s.data.accounts.get(account_id)

    async def accounts(self, household_id: int, *, include_archived: bool = False) -> list[Account]:
        return sorted(
            (
                a
                for a in self._s.data.accounts.values()
                if a.household_id == household_id and (include_archived or not a.archived)
            ),
            key=lambda a: a.id,
        )

    async def archive_account(self, account_id: int) -> None:
        account = self._s.data.accounts.get(account_id)
        if account is not None:
            self._s.data.accounts[account_id] = replace(account, archived=True)

    async def rename_account(self, account_id: int, name: str) -> None:
        account = self._s.data.accounts.get(account_id)
        if account is not None:
            self._s.data.accounts[account_id] = replace(account, name=name)

    async def aliases(self, household_id: int) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {}
        for household, key, category_id in sorted(self._s.data.aliases):
            if household == household_id:
                found.setdefault(key, []).append(category_id)
        return found

    async def add_alias(self, household_id: int, alias_key: str, category_id: int) -> None:
        data = self._s.data
        target = data.accounts.get(category_id)
        if target is None or target.household_id != household_id:
            raise IntegrityError(f"no category {category_id} in household {household_id}")
        data.aliases = {
            (h, k, taken)
            for h, k, taken in data.aliases
            if not (
                (h, k) == (household_id, alias_key)
                and taken != category_id
                and data.accounts[taken].type is target.type
            )
        }
        data.aliases.add((household_id, alias_key, category_id))

    async def remove_alias(self, household_id: int, alias_key: str) -> int:
        data = self._s.data
        kept = {a for a in data.aliases if a[:2] != (household_id, alias_key)}
        removed = len(data.aliases) - len(kept)
        data.aliases = kept
        return removed

    async def set_personal(self, category_id: int, personal: bool) -> None:
        account = self._s.data.accounts.get(category_id)
        if account is None:
            return
        if personal and account.type is not AccountType.EXPENSE:
            raise IntegrityError("accounts_personal_is_an_expense")
        if personal:
            self._s.data.personal.add(category_id)
        else:
            self._s.data.personal.discard(category_id)

    async def personal_categories(self, household_id: int) -> set[int]:
        accounts = self._s.data.accounts
        return {i for i in self._s.data.personal if accounts[i].household_id == household_id}

    async def shares(self, household_id: int) -> dict[int, int]:
        members = self._s.data.members
        return {
            m: pct
            for m, pct in self._s.data.shares.items()
            if members[m].household_id == household_id
        }

    async def set_shares(self, household_id: int, shares: Mapping[int, int]) -> None:
        for m in self._s.data.members.values():
            if m.household_id != household_id:
                continue
            if m.telegram_id in shares:
                if not 0 <= shares[m.telegram_id] <= 100:
                    raise IntegrityError("members_share_pct_range")
                self._s.data.shares[m.telegram_id] = shares[m.telegram_id]
            else:
                self._s.data.shares.pop(m.telegram_id, None)


class FakeBudgets:
    def __init__(self, session: _Session) -> None:
        self._s = session

    async def set(self, household_id: int, category_id: int | None, limit: Money) -> None:
        if not limit.is_positive:
            raise IntegrityError("a budget's limit is positive")
        self._s.data.budgets[household_id, category_id] = limit

    async def remove(self, household_id: int, category_id: int | None) -> bool:
        return self._s.data.budgets.pop((household_id, category_id), None) is not None

    async def all(self, household_id: int) -> list[Budget]:
        found = [
            Budget(category_id, limit)
            for (household, category_id), limit in self._s.data.budgets.items()
            if household == household_id
        ]
        return sorted(found, key=lambda b: (b.category_id is not None, b.category_id or 0))

    async def record_alert(
        self, household_id: int, category_id: int | None, month: date, threshold_pct: int
    ) -> bool:
        if threshold_pct not in (80, 100):
            raise IntegrityError(f"unknown threshold {threshold_pct}")
        key = (household_id, category_id, month, threshold_pct)
        if key in self._s.data.alerts:
            return False
        self._s.data.alerts.add(key)
        return True


class FakeDigests:
    def __init__(self, session: _Session) -> None:
        self._s = session

    async def subscribe(self, subscription: DigestSubscription) -> None:
        if subscription.telegram_id not in self._s.data.members:
            raise IntegrityError("digest_settings_member_fk")
        self._s.data.digest_settings[subscription.telegram_id] = subscription

    async def unsubscribe(self, telegram_id: int) -> bool:
        return self._s.data.digest_settings.pop(telegram_id, None) is not None

    async def subscription(self, telegram_id: int) -> DigestSubscription | None:
        return self._s.data.digest_settings.get(telegram_id)

    async def subscriptions(self) -> list[DigestSubscription]:
        settings, members = self._s.data.digest_settings, self._s.data.members
        return [
            settings[telegram_id]
            for telegram_id in sorted(settings)
            if members[telegram_id].household_id == self._s.household
        ]

    async def households_with_digests(self) -> list[int]:
        members = self._s.data.members
        return sorted({members[t].household_id for t in self._s.data.digest_settings})

    async def logged(self, telegram_id: int, kind: DigestKind, period_start: date) -> bool:
        return (telegram_id, kind, period_start) in self._s.data.digests_sent

    async def claim(self, telegram_id: int, kind: DigestKind, period_start: date) -> bool:
        if telegram_id not in self._s.data.members:
            raise IntegrityError("digests_sent_member_fk")
        key = (telegram_id, kind, period_start)
        if key in self._s.data.digests_sent:
            return False
        self._s.data.digests_sent[key] = "sending"
        return True

    async def finish(
        self, telegram_id: int, kind: DigestKind, period_start: date, *, sent: bool
    ) -> None:
        key = (telegram_id, kind, period_start)
        if key in self._s.data.digests_sent:
            self._s.data.digests_sent[key] = "sent" if sent else "refused"

    async def release(self, telegram_id: int, kind: DigestKind, period_start: date) -> None:
        key = (telegram_id, kind, period_start)
        if self._s.data.digests_sent.get(key) == "sending":
            del self._s.data.digests_sent[key]


class FakeIdempotency:
    def __init__(self, session: _Session) -> None:
        self._s = session

    async def claim(self, key: str) -> dict[str, Any] | None:
        keys = self._s.data.idempotency
        if key not in keys:
            keys[key] = None
            return None
        stored = keys[key]
        return dict(stored) if stored is not None else {}

    async def store(self, key: str, result: dict[str, Any]) -> None:
        if key in self._s.data.idempotency:
            self._s.data.idempotency[key] = _json(result)

    async def stored(self, key: str) -> dict[str, Any] | None:
        stored = self._s.data.idempotency.get(key)
        return dict(stored) if stored is not None else None

    async def claimed_since(self, prefix: str, since: datetime) -> set[str]:
        # The fake keeps no wall clock: every key it holds counts as recent.
        return {key for key in self._s.data.idempotency if key.startswith(prefix)}


_RANK = {"manual": 0, "exchange": 1, "official": 2}


def _is_money(code: str) -> bool:
    """In the currency table (ISO 4217 with digits): gold and the like are not money here."""
    try:
        return Currency(code).exponent is not None
    except ValueError:
        return False


class FakeRates:
    def __init__(self, session: _Session) -> None:
        self._s = session

    async def add(
        self,
        household_id: int,
        currency: str,
        rate: Decimal,
        valid_from: date,
        *,
        source: str,
        author_telegram_id: int | None = None,
    ) -> None:
        if rate <= 0:
            raise IntegrityError("exchange_rates_rate_positive")
        self._s.data.rates.append((household_id, Rate(currency, rate, valid_from, source)))

    async def add_official(self, day: date, rates_in_uah: Mapping[str, Decimal]) -> int:
        quoted = {**rates_in_uah, "UAH": Decimal(1)}
        added = 0
        for household_id, base in self._s.data.currencies.items():
            if base not in quoted or household_id != self._s.household:
                continue
            for code, rate in quoted.items():
                taken = any(
                    h == household_id
                    and r.currency == code
                    and r.valid_from == day
                    and r.source == "official"
                    for h, r in self._s.data.rates
                )
                if code == base or rate <= 0 or taken or not _is_money(code):
                    continue
                await self.add(household_id, code, rate / quoted[base], day, source="official")
                added += 1
        return added

    def _history(self, household_id: int, currency: str) -> list[tuple[int, Rate]]:
        return [
            (position, r)
            for position, (h, r) in enumerate(self._s.data.rates)
            if h == household_id and r.currency == currency
        ]

    async def on(self, household_id: int, currency: str, day: date) -> Rate | None:
        history = self._history(household_id, currency)
        if not history:
            return None
        _, rate = min(
            history,
            key=lambda pr: (
                pr[1].valid_from > day,
                abs((pr[1].valid_from - day).days),
                _RANK[pr[1].source],
                -pr[0],
            ),
        )
        return rate

    async def latest(self, household_id: int) -> list[Rate]:
        currencies = sorted({r.currency for h, r in self._s.data.rates if h == household_id})
        newest = []
        for currency in currencies:
            _, rate = min(
                self._history(household_id, currency),
                key=lambda pr: (-pr[1].valid_from.toordinal(), _RANK[pr[1].source], -pr[0]),
            )
            newest.append(rate)
        return newest


class FakeReports:
    def __init__(self, session: _Session) -> None:
        self._s = session

    async def transaction_seen_by(
        self, telegram_id: int, transaction_id: UUID
    ) -> TransactionSeen | None:
        data = self._s.data
        member = data.members.get(telegram_id)
        if member is None:
            return None
        transaction = data.transactions.get(transaction_id)
        if transaction is None or transaction.household_id != member.household_id:
            return TransactionSeen(None, [])
        touched = sorted({p.account_id for p in transaction.postings})
        return TransactionSeen(transaction, [data.accounts[i] for i in touched])

    def _category_rows(
        self, household_id: int, start: date, end: date, currency: str
    ) -> list[tuple[Account, int, int]]:
        sums: dict[tuple[int, int], int] = {}
        for (household, day, account_id, author, cur), amount in self._s.data.day_totals.items():
            if household == household_id and start <= day < end and cur == currency:
                sums[account_id, author] = sums.get((account_id, author), 0) + amount
        accounts = self._s.data.accounts
        return [(accounts[a], author, amount) for (a, author), amount in sums.items()]

    async def period_totals(
        self,
        household_id: int,
        start: date,
        end: date,
        *,
        currency: str,
        author_telegram_id: int | None = None,
    ) -> PeriodTotals:
        spending: dict[int, int] = {}
        by_person: dict[int, int] = {}
        income: dict[int, int] = {}
        for account, author, amount in self._category_rows(household_id, start, end, currency):
            if author_telegram_id is not None and author != author_telegram_id:
                continue
            if account.type is AccountType.EXPENSE:
                spending[account.id] = spending.get(account.id, 0) + amount
                by_person[author] = by_person.get(author, 0) + amount
            else:
                income[account.id] = income.get(account.id, 0) - amount

        def ranked(sums: dict[int, int]) -> tuple[AmountByKey, ...]:
            return tuple(
                AmountByKey(key, Money(amount, currency))
                for key, amount in sorted(sums.items(), key=lambda kv: (-kv[1], kv[0]))
                if amount != 0
            )

        return PeriodTotals(
            start=start,
            end=end,
            spending=Money(sum(spending.values()), currency),
            income=Money(sum(income.values()), currency),
            by_category=ranked(spending),
            by_person=ranked(by_person),
            income_by_category=ranked(income),
        )

    async def category_spending(
        self, household_id: int, start: date, end: date, *, currency: str
    ) -> dict[int | None, Money]:
        spent: dict[int | None, Money] = {None: Money.zero(currency)}
        for account, _, amount in self._category_rows(household_id, start, end, currency):
            if account.type is AccountType.EXPENSE:
                money = Money(amount, currency)
                spent[account.id] = spent.get(account.id, Money.zero(currency)) + money
                spent[None] = spent[None] + money
        return spent

    async def daily_spending(
        self,
        household_id: int,
        start: date,
        end: date,
        *,
        currency: str,
        author_telegram_id: int | None = None,
    ) -> dict[date, Money]:
        data = self._s.data
        sums: dict[date, int] = {}
        for (household, day, account_id, author, cur), amount in data.day_totals.items():
            if (
                household == household_id
                and start <= day < end
                and cur == currency
                and author_telegram_id in (None, author)
                and data.accounts[account_id].type is AccountType.EXPENSE
            ):
                sums[day] = sums.get(day, 0) + amount
        return {day: Money(sums[day], currency) for day in sorted(sums) if sums[day] != 0}

    async def foreign_parts(
        self,
        household_id: int,
        start: date,
        end: date,
        *,
        author_telegram_id: int | None = None,
    ) -> dict[int, tuple[Money, ...]]:
        data = self._s.data
        sums: dict[int, dict[str, int]] = {}
        for t in data.transactions.values():
            if (
                t.household_id != household_id
                or not start <= t.booked_on < end
                or t.kind is TransactionKind.REVERSAL
                or t.is_voided
                or t.conversion is None
                or author_telegram_id not in (None, t.author_telegram_id)
                or t.conversion.source.currency == data.currencies[household_id]
            ):
                continue
            source = t.conversion.source
            for p in t.postings:
                if data.accounts[p.account_id].type.is_category:
                    per = sums.setdefault(p.account_id, {})
                    per[source.currency] = per.get(source.currency, 0) + source.amount_minor
        return {
            account_id: tuple(Money(per[c], c) for c in sorted(per))
            for account_id, per in sorted(sums.items())
        }

    async def balances(self, household_id: int) -> list[AccountBalance]:
        data = self._s.data
        found = [
            a
            for a in data.accounts.values()
            if a.household_id == household_id
            and a.type in (AccountType.ASSET, AccountType.LIABILITY)
        ]
        found.sort(key=lambda a: (a.owner_telegram_id is None, a.owner_telegram_id or 0, a.id))
        return [
            AccountBalance(a, Money(a.type.normal_sign * data.balances[a.id], a.currency))
            for a in found
        ]

    async def last_transactions(
        self, household_id: int, limit: int, *, author_telegram_id: int | None = None
    ) -> list[TransactionLine]:
        chosen = sorted(
            (
                t
                for t in self._s.data.transactions.values()
                if t.household_id == household_id
                and t.kind is not TransactionKind.REVERSAL
                and not t.is_voided
                and author_telegram_id in (None, t.author_telegram_id)
            ),
            key=lambda t: t.number or 0,
            reverse=True,
        )[:limit]
        lines = []
        accounts = self._s.data.accounts
        for t in chosen:
            # the conversion accounts' legs only carry money across currencies
            legs = [
                p
                for p in t.postings
                if not (accounts[p.account_id].code or "").startswith("conversion:")
            ]
            debits = [p.account_id for p in legs if p.direction is Direction.DEBIT]
            credits = [p.account_id for p in legs if p.direction is Direction.CREDIT]
            lines.append(
                TransactionLine(
                    number=t.number or 0,
                    kind=t.kind.value,
                    booked_on=t.booked_on,
                    amount=t.amount,
                    author_telegram_id=t.author_telegram_id,
                    debit_account_id=min(debits),
                    credit_account_id=min(credits),
                    note=t.note,
                    tags=t.tags,
                    voided=False,
                    converted_from=t.conversion.source if t.conversion else None,
                )
            )
        return lines

    async def share_facts(self, household_id: int, *, currency: str) -> ShareFacts:
        data = self._s.data
        paid: dict[int, int] = {}
        transfers = []
        for t in sorted(data.transactions.values(), key=lambda t: t.number or 0):
            if t.household_id != household_id or t.is_voided:
                continue
            money_legs = [p for p in t.postings if data.accounts[p.account_id].type.holds_money]
            if t.kind is TransactionKind.EXPENSE:
                if set(t.tags) & set(PERSONAL_TAGS):
                    continue
                payer = data.accounts[money_legs[0].account_id].owner_telegram_id
                for p in t.postings:
                    account = data.accounts[p.account_id]
                    if payer is None or account.type is not AccountType.EXPENSE:
                        continue
                    if account.id in data.personal:
                        continue
                    paid[payer] = paid.get(payer, 0) + p.signed_minor
            elif t.kind is TransactionKind.TRANSFER:
                source = next(p for p in money_legs if p.direction is Direction.CREDIT)
                target = next(p for p in money_legs if p.direction is Direction.DEBIT)
                source_owner = data.accounts[source.account_id].owner_telegram_id
                target_owner = data.accounts[target.account_id].owner_telegram_id
                if source_owner is None or target_owner is None or source_owner == target_owner:
                    continue
                transfers.append(
                    PersonTransfer(
                        from_telegram_id=source_owner,
                        to_telegram_id=target_owner,
                        sent=source.amount,
                        received=target.amount,
                        booked_on=t.booked_on,
                    )
                )
        return ShareFacts(
            paid=tuple(AmountByKey(m, Money(a, currency)) for m, a in sorted(paid.items())),
            transfers=tuple(transfers),
            last_number=data.households[household_id],
        )


class FakeMembership:
    def __init__(self, session: _Session) -> None:
        self._s = session

    async def membership(self, telegram_id: int, *, with_words: bool = False) -> Membership | None:
        directory = FakeDirectory(self._s)
        member = await directory.member(telegram_id)
        if member is None:
            return None
        words = await directory.words(telegram_id) if with_words else None
        return Membership(member, await directory.household_settings(member.household_id), words)

    async def household_of_any(self, telegram_ids: frozenset[int]) -> int | None:
        data = self._s.data
        found = sorted(
            (data.member_since[m.telegram_id], m.telegram_id, m.household_id)
            for m in data.members.values()
            if m.telegram_id in telegram_ids and m.active
        )
        return found[0][2] if found else None

    async def household_zones(self) -> dict[int, str]:
        choices = self._s.data.household_choices
        return {h: zone for h, (zone, _) in choices.items() if zone is not None}

    async def household_of(self, telegram_id: int) -> int | None:
        member = self._s.data.members.get(telegram_id)
        return member.household_id if member is not None and member.active else None

    async def former_household(self, telegram_id: int) -> int | None:
        member = self._s.data.members.get(telegram_id)
        return member.household_id if member is not None and not member.active else None

    async def lock_person(self, telegram_id: int) -> None:
        return None

    async def redeem_invite(
        self, code_hash: bytes, telegram_id: int, now: datetime
    ) -> int | InviteRefusal:
        found = self._s.data.invites.get(code_hash)
        if found is None:
            return InviteRefusal.UNKNOWN
        household_id, expires_at, used, inviter = found
        if used:
            return InviteRefusal.USED
        if expires_at <= now:
            return InviteRefusal.EXPIRED
        member = self._s.data.members.get(inviter)
        if member is None or not member.active or member.household_id != household_id:
            return InviteRefusal.WITHDRAWN
        self._s.data.invites[code_hash] = (household_id, expires_at, True, inviter)
        return household_id

    async def found_household(self, currency: str, timezone: str) -> int:
        household_id = await FakeDirectory(self._s).create_household(currency)
        self._s.data.household_choices[household_id] = (timezone, None)
        return household_id

    async def rejoin(self, telegram_id: int, household_id: int) -> bool:
        data = self._s.data
        member = data.members.get(telegram_id)
        if member is None or member.active:
            return False
        if member.household_id == household_id:
            data.members[telegram_id] = replace(member, active=True)
            return True
        for index, (row, since) in enumerate(data.former):
            if row.telegram_id == telegram_id and row.household_id == household_id:
                # Back to an older household: its row is the latest again.
                data.former[index] = (member, data.member_since[telegram_id])
                data.members[telegram_id] = replace(row, active=True)
                data.member_since[telegram_id] = since
                return True
        return False


class FakeUnitOfWork:
    """Isolation between households is the database's (docs/adr/0021); the fake only
    keeps what the unit of work was bound to."""

    def __init__(
        self,
        state: FakeState,
        *,
        transactional: bool = True,
        person: int | None = None,
        household: int | None = None,
    ) -> None:
        self._state = state
        self._transactional = transactional
        self.person = person
        self.household = household
        self.commits = 0

    async def bind(self, household_id: int) -> None:
        assert self._session.household in (None, household_id)
        self._session.household = household_id

    async def __aenter__(self) -> Self:
        now = next(self._state.clock)
        data = self._state.snapshot() if self._transactional else self._state
        bound = self.household
        if bound is None and self.person is not None and self.person in data.members:
            member = data.members[self.person]
            bound = member.household_id if member.active else None  # who left: no member
        self._session = _Session(data, now, bound)
        self.ledger: LedgerRepository = FakeLedger(self._session)
        self.directory: DirectoryRepository = FakeDirectory(self._session)
        self.budgets: BudgetRepository = FakeBudgets(self._session)
        self.idempotency: IdempotencyRepository = FakeIdempotency(self._session)
        self.reports: ReportReader = FakeReports(self._session)
        self.rates: RateRepository = FakeRates(self._session)
        self.digests: DigestRepository = FakeDigests(self._session)
        self.membership: MembershipRepository = FakeMembership(self._session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # A transactional copy that was not committed is simply dropped.
        self._session.data = FakeState()

    async def commit(self) -> None:
        if not self._transactional:
            return
        data = self._session.data
        _check_void_links(data)  # the deferred constraint trigger, at COMMIT
        self._state.publish(data)
        self._session.data = self._state.snapshot()
        self.commits += 1


def _check_void_links(data: FakeState) -> None:
    for t in data.transactions.values():
        if t.voids_transaction_id is not None:
            original = data.transactions.get(t.voids_transaction_id)
            if original is None or original.voided_by_transaction_id != t.id:
                raise IntegrityError(f"reversal {t.id} is not linked from what it voids")


class FakeUnitOfWorkFactory:
    def __init__(self, state: FakeState | None = None) -> None:
        self.state = state if state is not None else FakeState()

    def __call__(
        self,
        *,
        transactional: bool = True,
        person: int | None = None,
        household: int | None = None,
    ) -> FakeUnitOfWork:
        return FakeUnitOfWork(
            self.state, transactional=transactional, person=person, household=household
        )
