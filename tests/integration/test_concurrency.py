"""Many writers on one household at once: no deadlock, exact balances, gapless numbers."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from finance_bot.adapters.postgres.check import check_ledger
from finance_bot.application.corrections import void
from finance_bot.application.directory import add_account
from finance_bot.application.recording import record
from finance_bot.application.results import Recorded, Voided
from finance_bot.domain.commands import RecordCommand, RecordExpense, RecordTransfer
from finance_bot.domain.errors import AlreadyVoided
from finance_bot.domain.money import Money
from tests.support.household import Household, PostgresWorld, ledger_world

pytestmark = pytest.mark.postgres

TODAY = date(2026, 11, 20)
POOL_SIZE = 12
EXPENSE_CODES = ("cafe", "taxi", "products", "coffee")
ASSETS = ("card", "cash", "shared")


@dataclass(frozen=True)
class Write:
    author: int
    command: RecordCommand
    postings: tuple[tuple[int, int], ...]  # (account id, debit minus credit)
    key: str | None


@dataclass
class Wallets:
    """What the writers draw on: Alice's and Bob's own card and cash, and one shared account."""

    household: Household
    assets: list[dict[str, int]]  # per person: card, cash and the shared account
    categories: dict[str, int]

    @property
    def people(self) -> list[int]:
        return [self.household.alice, self.household.bob]


async def _wallets(world: PostgresWorld) -> Wallets:
    home = await world.household()
    shared = await add_account(
        home.alice, "общий котёл", shared=True, currency="UAH", uow_factory=world.uow_factory
    )
    assets = []
    for person in (home.alice, home.bob):
        own = await world.accounts(person)
        assets.append({"card": own["card"].id, "cash": own["cash"].id, "shared": shared.id})
    return Wallets(home, assets, {code: home.accounts[code].id for code in EXPENSE_CODES})


def _expenses(rng: random.Random, home: Wallets, count: int) -> list[Write]:
    writes = []
    for index in range(count):
        who = index % 2
        source = home.assets[who][rng.choice(ASSETS)]
        category = home.categories[rng.choice(EXPENSE_CODES)]
        amount = rng.randint(1, 10**6)
        command = RecordExpense(
            Money(amount, "UAH"), category, source, TODAY - timedelta(days=rng.randint(0, 40))
        )
        key = f"concurrency:{uuid.uuid4()}" if rng.random() < 0.5 else None
        writes.append(
            Write(home.people[who], command, ((category, amount), (source, -amount)), key)
        )
    return writes


def _transfers(rng: random.Random, home: Wallets, count: int) -> list[Write]:
    # card -> cash and cash -> card alternate, and every third one goes via the shared account
    writes = []
    for index in range(count):
        who = rng.randrange(2)
        pair = ("card", "cash") if index % 2 else ("cash", "card")
        if index % 3 == 0:
            pair = (pair[0], "shared") if index % 2 else ("shared", pair[1])
        source, target = home.assets[who][pair[0]], home.assets[who][pair[1]]
        amount = rng.randint(1, 10**6)
        command = RecordTransfer(
            Money(amount, "UAH"), source, target, TODAY - timedelta(days=rng.randint(0, 40))
        )
        writes.append(Write(home.people[who], command, ((target, amount), (source, -amount)), None))
    return writes


def _send(world: PostgresWorld, write: Write) -> Coroutine[Any, Any, Recorded]:
    return record(
        write.command,
        author_telegram_id=write.author,
        idempotency_key=write.key,
        uow_factory=world.uow_factory,
        ids=world.ids,
    )


async def _state(world: PostgresWorld, home: Wallets) -> tuple[list[int], int, dict[int, int]]:
    async with world.pool.acquire() as connection:
        numbers = [
            row["number"]
            for row in await connection.fetch(
                "SELECT number FROM transactions WHERE household_id = $1 ORDER BY number",
                home.household.id,
            )
        ]
        counter: int = await connection.fetchval(
            "SELECT last_transaction_number FROM households WHERE id = $1", home.household.id
        )
        rows = await connection.fetch(
            """
            SELECT a.id, b.balance_minor FROM accounts a
              JOIN account_balances b ON b.account_id = a.id
             WHERE a.household_id = $1
            """,
            home.household.id,
        )
        assert await check_ledger(connection) == []
    return numbers, counter, {row["id"]: row["balance_minor"] for row in rows}


def _expected(writes: list[Write], accounts: set[int]) -> dict[int, int]:
    balances: Counter[int] = Counter()
    for write in writes:
        for account_id, signed in write.postings:
            balances[account_id] += signed
    return {account_id: balances[account_id] for account_id in accounts}


async def test_400_concurrent_writes_keep_exact_balances_and_gapless_numbers(
    shared_database_url: str,
) -> None:
    rng = random.Random(20261120)
    async with ledger_world(shared_database_url, max_size=POOL_SIZE) as world:
        home = await _wallets(world)
        writes = _expenses(rng, home, 200) + _transfers(rng, home, 200)
        rng.shuffle(writes)

        outcomes = await asyncio.gather(
            *(_send(world, write) for write in writes), return_exceptions=True
        )

        failures = [o for o in outcomes if isinstance(o, BaseException)]
        assert failures == []
        assert world.pool.get_size() >= 8  # the writes really did run side by side
        recorded = [o for o in outcomes if isinstance(o, Recorded)]
        assert sorted(r.number for r in recorded) == list(range(1, 401))
        numbers, counter, balances = await _state(world, home)
        assert numbers == list(range(1, 401))
        assert counter == 400
        assert balances == _expected(writes, set(balances))
        shared = home.assets[0]["shared"]
        assert {w.author for w in writes if shared in dict(w.postings)} == set(home.people)


async def test_concurrent_voids_amid_new_writes_void_each_transaction_once(
    shared_database_url: str,
) -> None:
    """Each of 60 transactions voided twice at once by its author, among 60 fresh writes."""
    rng = random.Random(42)
    async with ledger_world(shared_database_url, max_size=POOL_SIZE) as world:
        home = await _wallets(world)
        first = _expenses(rng, home, 60) + _transfers(rng, home, 60)
        recorded = await asyncio.gather(*(_send(world, write) for write in first))
        victims = rng.sample(range(len(first)), 60)
        later = _expenses(rng, home, 30) + _transfers(rng, home, 30)

        voids: list[Coroutine[Any, Any, Any]] = [
            void(
                recorded[index].number,
                author_telegram_id=first[index].author,
                idempotency_key=None,
                uow_factory=world.uow_factory,
                ids=world.ids,
            )
            for index in victims
            for _ in range(2)
        ]
        jobs: list[Coroutine[Any, Any, Any]] = [*voids, *(_send(world, w) for w in later)]
        rng.shuffle(jobs)
        outcomes = await asyncio.gather(*jobs, return_exceptions=True)

        unexpected = [
            o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, AlreadyVoided)
        ]
        assert unexpected == []
        voided = Counter(o.number for o in outcomes if isinstance(o, Voided))
        refused = Counter(o.number for o in outcomes if isinstance(o, AlreadyVoided))
        victim_numbers = {recorded[index].number for index in victims}
        assert voided == dict.fromkeys(victim_numbers, 1)
        assert refused == dict.fromkeys(victim_numbers, 1)
        total = len(first) + len(later) + len(victim_numbers)
        numbers, counter, balances = await _state(world, home)
        assert numbers == list(range(1, total + 1))
        assert counter == total
        survivors = [w for i, w in enumerate(first) if i not in set(victims)] + later
        assert balances == _expected(survivors, set(balances))
