"""A household with a little of everything, for the reporting views and the dashboards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from finance_bot.application.budgets import set_budget
from finance_bot.domain.commands import RecordIncome, RecordTransfer
from tests.support.household import LedgerWorld, expense_command, uah


@dataclass(frozen=True)
class Seeded:
    household_id: int
    alice: int
    bob: int
    accounts: dict[str, int]  # by code
    this_month: date
    last_month: date


def month_start(day: date) -> date:
    return day.replace(day=1)


async def seed_household(world: LedgerWorld, today: date) -> Seeded:
    """Two months of expenses (one voided), income, a transfer and two budgets."""
    alice, bob = await world.new_household()
    found = await world.accounts(alice)
    ids = {code: account.id for code, account in found.items()}
    this_month = month_start(today)
    last_month = month_start(this_month - timedelta(days=1))

    await world.record(expense_command(uah("250.50"), ids["products"], on=this_month), alice)
    await world.record(expense_command(uah(120), ids["cafe"], on=this_month), bob)
    await world.record(expense_command(uah(80), ids["products"], on=last_month), alice)
    await world.record(expense_command(uah(40), ids["taxi"], on=last_month), bob)
    voided = await world.record(expense_command(uah(999), ids["cafe"], on=this_month), alice)
    await world.void(voided.number, alice)
    await world.record(RecordIncome(uah(30000), ids["salary"], None, last_month), alice)
    await world.record(RecordTransfer(uah(1000), ids["card"], ids["cash"], this_month), alice)

    await set_budget(alice, None, uah(5000), uow_factory=world.uow_factory)
    await set_budget(alice, ids["products"], uah(200), uow_factory=world.uow_factory)
    return Seeded(
        household_id=await world.household_of(alice),
        alice=alice,
        bob=bob,
        accounts=ids,
        this_month=this_month,
        last_month=last_month,
    )
