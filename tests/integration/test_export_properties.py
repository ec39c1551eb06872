"""Random books through the application, exported, read by hledger and beancount: every
month's categories, every account and the number of transactions agree with the bot.

The tools are slow to start, so the examples are few (EXPORT_PROPERTY_EXAMPLES for more)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finance_bot.application.directory import add_account, add_category
from finance_bot.application.rates import set_rate
from finance_bot.domain.accounts import AccountType
from finance_bot.domain.commands import RecordCommand, RecordExpense, RecordIncome, RecordTransfer
from finance_bot.domain.errors import LedgerRuleViolation
from finance_bot.domain.money import Money
from tests.support.export_tools import (
    beancount_balances,
    beancount_months,
    beancount_transactions,
    bot_balances,
    bot_month,
    check_files,
    export_files,
    hledger_balances,
    hledger_month,
    hledger_transactions,
)
from tests.support.household import PostgresWorld, ledger_world

pytestmark = pytest.mark.postgres

FIRST_DAY = date(2026, 9, 1)
MONTHS = [date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)]
NAMES = ["кафе у дома", 'бар "У Ёжика": ночь', "pizza 🍕", "a b c", "Ж;ж", "ёлка-палка"]


@dataclass(frozen=True)
class Step:
    """One thing a person does; which fields matter depends on `kind`."""

    kind: str  # expense | income | foreign | transfer | exchange | void
    person: str
    category: int
    amount: int  # minor units
    received: int  # an exchange's hryvnias, in kopecks
    day: int  # days after FIRST_DAY
    currency: str
    own_account: bool  # a foreign expense paid from the account in its currency
    number: int  # the transaction a void names


steps = st.builds(
    Step,
    kind=st.sampled_from(
        ["expense", "expense", "income", "foreign", "transfer", "exchange", "void"]
    ),
    person=st.sampled_from(["alice", "bob"]),
    category=st.integers(0, len(NAMES) - 1),
    amount=st.integers(min_value=1, max_value=5_000_00),
    received=st.integers(min_value=1, max_value=200_000_00),
    day=st.integers(min_value=0, max_value=120),
    currency=st.sampled_from(["USD", "EUR"]),
    own_account=st.booleans(),
    number=st.integers(1, 20),
)


async def _play(world: PostgresWorld, plan: list[Step]) -> tuple[int, list[int]]:
    alice, bob = await world.new_household(2)
    people = {"alice": alice, "bob": bob}
    factory = world.uow_factory
    categories = [
        (
            await add_category(
                alice, name, [], kind=AccountType.EXPENSE, currency="UAH", uow_factory=factory
            )
        ).id
        for name in NAMES
    ]
    foreign = {}
    for currency, name in (("USD", "доллары"), ("EUR", "euro: €")):
        made = await add_account(alice, name, shared=True, currency=currency, uow_factory=factory)
        foreign[currency] = made.id
    for currency, rate in (("USD", "41.37"), ("EUR", "45.65")):
        await set_rate(
            alice,
            currency,
            Decimal(rate),
            today=FIRST_DAY,
            idempotency_key=None,
            uow_factory=factory,
        )
    mine = {person: await world.accounts(person) for person in (alice, bob)}
    for step in plan:
        person = people[step.person]
        on = FIRST_DAY + timedelta(days=step.day)
        command: RecordCommand
        if step.kind == "expense":
            command = RecordExpense(
                Money(step.amount, "UAH"), categories[step.category], None, on, "note; “x”"
            )
        elif step.kind == "income":
            command = RecordIncome(Money(step.amount, "UAH"), None, None, on)
        elif step.kind == "foreign":
            account = foreign[step.currency] if step.own_account else None
            command = RecordExpense(
                Money(step.amount, step.currency), categories[step.category], account, on
            )
        elif step.kind == "transfer":
            card, cash = mine[person]["card"].id, mine[person]["cash"].id
            command = RecordTransfer(Money(step.amount, "UAH"), card, cash, on)
        elif step.kind == "exchange":
            person, card = alice, mine[alice]["card"].id
            command = RecordTransfer(
                Money(step.amount, "USD"),
                foreign["USD"],
                card,
                on,
                received=Money(step.received, "UAH"),
            )
        else:
            with contextlib.suppress(LedgerRuleViolation):
                await world.void(step.number, person)
            continue
        with contextlib.suppress(LedgerRuleViolation):
            await world.record(command, person)  # refused as the chat would: nothing written
    return await world.household_of(alice), [alice, bob]


@settings(
    max_examples=int(os.environ.get("EXPORT_PROPERTY_EXAMPLES", "10")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(plan=st.lists(steps, min_size=1, max_size=14))
def test_random_books_read_the_same_in_every_tool(
    shared_database_url: str, plan: list[Step]
) -> None:
    async def body() -> None:
        async with ledger_world(shared_database_url, max_size=2) as world:
            household, members = await _play(world, plan)
            with tempfile.TemporaryDirectory() as folder:
                files = await export_files(world.pool, household, Path(folder))
                check_files(files)
                beans = beancount_months(files.beancount, "UAH")
                for month in MONTHS:
                    factory = world.uow_factory
                    bot = await bot_month(members[0], month, "UAH", factory, beancount=False)
                    assert hledger_month(files.journal, month, "UAH") == bot, month
                    bot = await bot_month(members[0], month, "UAH", factory, beancount=True)
                    assert beans.get(month, ({}, {})) == bot, month
                hledger = hledger_balances(files.journal, "^Assets:", "^Liabilities:")
                assert hledger == await bot_balances(members, "UAH", factory, beancount=False)
                assert beancount_balances(files.beancount) == await bot_balances(
                    members, "UAH", factory, beancount=True
                )
                async with world.pool.acquire() as connection:
                    count = await connection.fetchval(
                        "SELECT count(*) FROM transactions WHERE household_id = $1", household
                    )
                assert files.exported.transactions == count
                assert hledger_transactions(files.journal) == count
                assert beancount_transactions(files.beancount) == count

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(body())
    finally:
        loop.close()
