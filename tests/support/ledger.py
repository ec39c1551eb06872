"""A household on a real PostgreSQL, with helpers to record lines and read balances."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import asyncpg

from finance_bot.adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory, create_pool
from finance_bot.adapters.system import UuidV7Source
from finance_bot.application.corrections import refile, undo_last, void
from finance_bot.application.household import enroll, found_household
from finance_bot.application.recording import record
from finance_bot.application.results import Recorded, Refiled, Voided
from finance_bot.domain.accounts import Account
from finance_bot.domain.commands import RecordCommand, RecordExpense
from finance_bot.domain.money import Money

# Telegram ids unique across a test session, so households in a shared database never meet.
_telegram_ids = itertools.count(7_000_000_000 + (id(object()) % 1_000_000) * 1000)


def new_telegram_id() -> int:
    return next(_telegram_ids)


@dataclass
class LedgerWorld:
    pool: asyncpg.Pool
    uow_factory: PostgresUnitOfWorkFactory
    ids: UuidV7Source

    async def new_household(self, people: int = 2) -> list[int]:
        """Members of a brand-new household of their own."""
        telegram_ids = [new_telegram_id() for _ in range(people)]
        async with self.uow_factory() as uow:
            household_id = await found_household(uow, language="ru", currency="UAH")
            for telegram_id in telegram_ids:
                await enroll(uow, telegram_id, household_id, language="ru", currency="UAH")
            await uow.commit()
        return telegram_ids

    async def record(
        self, command: RecordCommand, author: int, *, key: str | None = None
    ) -> Recorded:
        return await record(
            command, author_telegram_id=author, idempotency_key=key,
            uow_factory=self.uow_factory, ids=self.ids,
        )  # fmt: skip

    async def void(self, number: int, author: int, *, key: str | None = None) -> Voided:
        return await void(
            number, author_telegram_id=author, idempotency_key=key,
            uow_factory=self.uow_factory, ids=self.ids,
        )  # fmt: skip

    async def undo(self, author: int, *, key: str | None = None) -> Voided:
        return await undo_last(
            author_telegram_id=author, idempotency_key=key, uow_factory=self.uow_factory,
            ids=self.ids,
        )  # fmt: skip

    async def refile(
        self, number: int, category_id: int, author: int, *, key: str | None = None
    ) -> Refiled:
        return await refile(
            number, category_id, author_telegram_id=author, idempotency_key=key,
            uow_factory=self.uow_factory, ids=self.ids,
        )  # fmt: skip

    async def household_of(self, telegram_id: int) -> int:
        async with self.uow_factory() as uow:
            member = await uow.directory.member(telegram_id)
            assert member is not None
            return member.household_id

    async def accounts(self, telegram_id: int) -> dict[str, Account]:
        """Visible accounts and categories by code (or by name when they have none)."""
        household_id = await self.household_of(telegram_id)
        async with self.uow_factory() as uow:
            found = await uow.directory.accounts(household_id)
        return {(a.code or a.name): a for a in found if a.owner_telegram_id in (None, telegram_id)}

    async def balance(self, account_id: int) -> int:
        async with self.pool.acquire() as connection:
            value: int = await connection.fetchval(
                "SELECT balance_minor FROM account_balances WHERE account_id = $1", account_id
            )
            return value


def uah(major: int | str) -> Money:
    return Money.from_decimal(Decimal(str(major)), "UAH")


def expense_command(
    amount: Money, category_id: int | None, *, on: date, note: str = ""
) -> RecordExpense:
    return RecordExpense(
        amount=amount, category_id=category_id, account_id=None, booked_on=on, note=note
    )


@asynccontextmanager
async def ledger_world(url: str, *, max_size: int = 10) -> AsyncIterator[LedgerWorld]:
    pool = await create_pool(url, max_size=max_size)
    try:
        yield LedgerWorld(pool, PostgresUnitOfWorkFactory(pool), UuidV7Source())
    finally:
        await pool.close()
