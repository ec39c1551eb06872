"""The books coming back: transactions read from an export, and the store that loads them
into a household in one database transaction (docs/adr/0019)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date
from typing import Protocol
from uuid import UUID

from finance_bot.domain.accounts import AccountType
from finance_bot.domain.transactions import Conversion, TransactionKind


class BooksRefused(Exception):
    """The file cannot be loaded as it is; nothing was written. `line` is 1-based (the
    line a record starts on), None when the reason concerns the file as a whole."""

    def __init__(self, line: int | None, reason: str) -> None:
        super().__init__(f"line {line}: {reason}" if line is not None else reason)
        self.line = line
        self.reason = reason


class StoreRefused(Exception):
    """The database refused what was loaded (its triggers, at a statement or at COMMIT);
    `transaction_id` is the entry it named, when it named one."""

    def __init__(self, message: str, transaction_id: UUID | None) -> None:
        super().__init__(message)
        self.transaction_id = transaction_id


@dataclass(frozen=True, slots=True)
class AccountKey:
    """An account as the file names it: what tells two accounts apart."""

    name: str
    type: AccountType
    code: str | None
    owner_telegram_id: int | None
    currency: str


@dataclass(frozen=True, slots=True)
class Leg:
    account: AccountKey
    signed_minor: int  # debit +, credit -


@dataclass(frozen=True, slots=True)
class BookedTransaction:
    id: UUID
    number: int
    booked_on: date
    kind: TransactionKind
    author_telegram_id: int
    note: str
    tags: tuple[str, ...]
    voids: UUID | None
    voided_by: UUID | None
    conversion: Conversion | None
    legs: tuple[Leg, ...]  # in the order of the file, which is the ledger's


@dataclass(frozen=True, slots=True)
class Stored:
    """A transaction already in the database, and whose it is."""

    household_id: int
    transaction: BookedTransaction


class BooksStore(Protocol):
    """One database transaction; nothing stays unless `commit()` succeeds."""

    async def lock(self) -> None:
        """Serialise with people joining and with other imports."""
        ...

    async def has_households(self) -> bool: ...

    async def households_of(self, telegram_ids: Collection[int]) -> dict[int, int]:
        """The household of each of these people who is a member somewhere."""
        ...

    async def stored(self, ids: Collection[UUID]) -> dict[UUID, Stored]: ...

    async def household_currency(self, household_id: int) -> str: ...

    async def create_household(self, currency: str) -> int: ...

    async def add_members(self, household_id: int, names: Mapping[int, str]) -> None: ...

    async def default_accounts(self, household_id: int) -> dict[int, int | None]:
        """Each member's default account (None when unset)."""
        ...

    async def set_default_account(self, telegram_id: int, account_id: int) -> None: ...

    async def accounts(self, household_id: int) -> dict[AccountKey, int]: ...

    async def add_account(self, household_id: int, account: AccountKey) -> int | None:
        """The new account's id; None when its name or code is taken (nothing added).
        Raises StoreRefused when the ledger's rules refuse the account."""
        ...

    async def add_alias(self, household_id: int, alias_key: str, account_id: int) -> None: ...

    async def taken_numbers(self, household_id: int, numbers: Collection[int]) -> set[int]: ...

    async def add_transactions(
        self,
        household_id: int,
        transactions: Sequence[BookedTransaction],
        account_ids: Mapping[AccountKey, int],
    ) -> None:
        """Transactions, their legs in order, and their conversions; void links apart."""
        ...

    async def link_voids(self, links: Sequence[tuple[UUID, UUID]]) -> None:
        """(original, reversal) pairs, as the application links a void."""
        ...

    async def raise_last_number(self, household_id: int, number: int) -> None: ...

    async def commit(self) -> None:
        """Raises StoreRefused when the database's checks at COMMIT refuse."""
        ...


class BooksStoreFactory(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[BooksStore]: ...
