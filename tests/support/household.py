"""The tests' one vocabulary for "a household I can record into".

A `LedgerWorld` is a unit-of-work factory and an id source; `fake_world()` builds it over the
in-memory fakes, `ledger_world(url)` over PostgreSQL. The two are held to one contract by
tests/integration/test_repository_contract.py, so a `Household` behaves the same on both.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from finance_bot.adapters.system import UuidV7Source
from finance_bot.application.corrections import refile, undo_last, void
from finance_bot.application.household import enroll, found_household
from finance_bot.application.recording import record
from finance_bot.application.results import Recorded, Refiled, Voided
from finance_bot.domain.accounts import Account
from finance_bot.domain.commands import RecordCommand, RecordExpense
from finance_bot.domain.money import Money
from finance_bot.domain.transactions import Transaction, expense
from finance_bot.ports.clock import IdSource
from finance_bot.ports.records import Added
from finance_bot.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from tests.support.fakes import FakeUnitOfWorkFactory

if TYPE_CHECKING:
    import asyncpg

    from finance_bot.adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory

DAY = date(2024, 5, 10)

# Telegram ids unique across a test session, so households in a shared database never meet.
_telegram_ids = itertools.count(7_000_000_000 + (id(object()) % 1_000_000) * 1000)


def new_telegram_id() -> int:
    return next(_telegram_ids)


def uah(major: int | str) -> Money:
    """Hryvnias from major units: `uah(12)`, `uah("0.50")`."""
    return Money.from_decimal(Decimal(str(major)), "UAH")


def expense_command(
    amount: Money, category_id: int | None, *, on: date, note: str = ""
) -> RecordExpense:
    return RecordExpense(
        amount=amount, category_id=category_id, account_id=None, booked_on=on, note=note
    )


@dataclass
class LedgerWorld:
    uow_factory: UnitOfWorkFactory
    ids: IdSource

    async def new_household(self, people: int = 2, *, language: str = "ru") -> list[int]:
        """Members of a brand-new household of their own."""
        telegram_ids = [new_telegram_id() for _ in range(people)]
        async with self.uow_factory() as uow:
            household_id = await found_household(uow, language=language, currency="UAH")
            for telegram_id in telegram_ids:
                await enroll(uow, telegram_id, household_id, language=language, currency="UAH")
            await uow.commit()
        return telegram_ids

    async def household(self, *, language: str = "ru") -> Household:
        """Alice and Bob in a brand-new household of their own."""
        alice, bob = await self.new_household(2, language=language)
        return Household(
            self, await self.household_of(alice), alice, bob, await self.accounts(alice)
        )

    async def record(
        self, command: RecordCommand, author: int, *, key: str | None = None
    ) -> Recorded:
        return await record(
            command,
            author_telegram_id=author,
            idempotency_key=key,
            uow_factory=self.uow_factory,
            ids=self.ids,
        )

    async def void(self, number: int, author: int, *, key: str | None = None) -> Voided:
        return await void(
            number,
            author_telegram_id=author,
            idempotency_key=key,
            uow_factory=self.uow_factory,
            ids=self.ids,
        )

    async def undo(self, author: int, *, key: str | None = None) -> Voided:
        return await undo_last(
            author_telegram_id=author,
            idempotency_key=key,
            uow_factory=self.uow_factory,
            ids=self.ids,
        )

    async def refile(
        self, number: int, category_id: int, author: int, *, key: str | None = None
    ) -> Refiled:
        return await refile(
            number,
            category_id,
            author_telegram_id=author,
            idempotency_key=key,
            uow_factory=self.uow_factory,
            ids=self.ids,
        )

    async def household_of(self, telegram_id: int) -> int:
        async with self.uow_factory(person=telegram_id) as uow:
            member = await uow.directory.member(telegram_id)
            assert member is not None
            return member.household_id

    async def accounts(self, telegram_id: int) -> dict[str, Account]:
        """Visible accounts and categories by code (or by name when they have none)."""
        household_id = await self.household_of(telegram_id)
        async with self.uow_factory(household=household_id) as uow:
            found = await uow.directory.accounts(household_id)
        return {(a.code or a.name): a for a in found if a.owner_telegram_id in (None, telegram_id)}

    async def balance(self, account_id: int) -> int:
        """Debits minus credits, from the cache the ledger keeps."""
        assert isinstance(self.uow_factory, FakeUnitOfWorkFactory)
        return self.uow_factory.state.balances[account_id]


@dataclass
class PostgresWorld(LedgerWorld):
    # For the tests that read what the application has no port for.
    pool: asyncpg.Pool

    async def balance(self, account_id: int) -> int:
        async with self.pool.acquire() as connection:
            value: int = await connection.fetchval(
                "SELECT balance_minor FROM account_balances WHERE account_id = $1", account_id
            )
            return value


@dataclass
class Household:
    world: LedgerWorld
    id: int
    alice: int
    bob: int
    accounts: dict[str, Account]  # Alice's view when the household was founded, by code

    @property
    def factory(self) -> UnitOfWorkFactory:
        """The world's units of work, bound to this household unless told otherwise."""
        inner, own = self.world.uow_factory, self.id

        def bound(
            *, transactional: bool = True, person: int | None = None, household: int | None = None
        ) -> UnitOfWork:
            if person is None and household is None:
                household = own
            return inner(transactional=transactional, person=person, household=household)

        return bound

    @property
    def ids(self) -> IdSource:
        return self.world.ids

    async def spend(
        self,
        major: int,
        code: str | None,
        *,
        who: int = 0,
        key: str | None = None,
        on: date = DAY,
        note: str = "",
    ) -> Recorded:
        """An expense through the use case, as a chat line would record it."""
        who = who or self.alice
        category = (await self.world.accounts(who))[code].id if code else None
        return await self.world.record(
            RecordExpense(uah(major), category, None, on, note), who, key=key
        )

    async def void(self, number: int, *, who: int = 0, key: str | None = None) -> Voided:
        return await self.world.void(number, who or self.alice, key=key)

    def expense(self, major: int, code: str, *, author: int = 0, on: date = DAY) -> Transaction:
        """An expense from Alice's card, built but not stored: for the repositories."""
        return expense(
            id=self.ids.new_id(),
            household_id=self.id,
            author_telegram_id=author or self.alice,
            booked_on=on,
            amount=uah(major),
            account_id=self.accounts["card"].id,
            category_id=self.accounts[code].id,
        )

    async def add(self, transaction: Transaction, **key: Any) -> Added:
        """Store a built transaction through the ledger repository, in a unit of its own."""
        async with self.factory() as uow:
            added = await uow.ledger.add(transaction, **key)
            await uow.commit()
            return added


def fake_world() -> LedgerWorld:
    return LedgerWorld(FakeUnitOfWorkFactory(), UuidV7Source())


@asynccontextmanager
async def ledger_world(url: str, *, max_size: int = 10) -> AsyncIterator[PostgresWorld]:
    # Imported here so the unit tier, which only builds fake worlds, never loads asyncpg.
    from finance_bot.adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory, create_pool

    pool = await create_pool(url, max_size=max_size)
    try:
        yield PostgresWorld(PostgresUnitOfWorkFactory(pool), UuidV7Source(), pool)
    finally:
        await pool.close()


@asynccontextmanager
async def as_the_bot(url: str) -> AsyncIterator[PostgresUnitOfWorkFactory]:
    """Units of work logged in as the bot's role, which row-level security binds."""
    from finance_bot.adapters.postgres.roles import APP, login_url
    from finance_bot.adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory, create_pool

    pool = await create_pool(login_url(url, APP))
    try:
        yield PostgresUnitOfWorkFactory(pool)
    finally:
        await pool.close()
