"""A household's base currency is its own (issue 9, item 9): the migration that stores it
keeps every entry, number and report of a database made by the earlier schema."""

from __future__ import annotations

from datetime import date

import asyncpg
import pytest

from finance_bot.adapters.postgres.directory import PostgresDirectory
from finance_bot.adapters.postgres.migrator import available_migrations, migrate
from finance_bot.adapters.postgres.reports import PostgresReports
from finance_bot.adapters.system import UuidV7Source
from finance_bot.domain import transactions
from finance_bot.domain.accounts import AccountType
from finance_bot.domain.money import Money
from tests.support.databases import (
    FIRST_RELEASE_MIGRATIONS,
    FirstReleaseLedger,
    migrate_as_the_first_release_did,
)
from tests.support.previous_reports import PreviousReports

pytestmark = pytest.mark.postgres


async def _household(
    connection: asyncpg.Connection,
    members: list[int],
    currency: str,
    *,
    currency_column: bool = False,
) -> int:
    """A household as the earlier code made one: before migration 0005, with no currency
    column to fill."""
    household_id: int = (
        await connection.fetchval(
            "INSERT INTO households (currency) VALUES ($1) RETURNING id", currency
        )
        if currency_column
        else await connection.fetchval("INSERT INTO households DEFAULT VALUES RETURNING id")
    )
    directory = PostgresDirectory(connection)
    ledger = FirstReleaseLedger(connection)
    ids = UuidV7Source()
    categories = {}
    for code, kind in (
        ("cafe", AccountType.EXPENSE),
        ("other", AccountType.EXPENSE),
        ("salary", AccountType.INCOME),
    ):
        category = await directory.add_account(
            household_id=household_id,
            type=kind,
            name=f"{code}-{household_id}",
            currency=currency,
            owner_telegram_id=None,
            code=code,
        )
        categories[code] = category.id
    for number, member in enumerate(members):
        await directory.add_member(member, household_id, "ru")
        card = await directory.add_account(
            household_id=household_id,
            type=AccountType.ASSET,
            name="карта",
            currency=currency,
            owner_telegram_id=member,
            code="card",
        )
        day = date(2026, 10 + number, 5)
        amount = Money(12_345 * (number + 1), currency)
        common = {"household_id": household_id, "author_telegram_id": member, "booked_on": day}
        await ledger.add(
            transactions.income(
                id=ids.new_id(),
                amount=Money(500_000, currency),
                account_id=card.id,
                category_id=categories["salary"],
                **common,
            )
        )
        spent = transactions.expense(
            id=ids.new_id(),
            amount=amount,
            account_id=card.id,
            category_id=categories["cafe"],
            note="ужин",
            **common,
        )
        await ledger.add(spent)
        await ledger.add(
            transactions.expense(
                id=ids.new_id(),
                amount=amount,
                account_id=card.id,
                category_id=categories["other"],
                **common,
            )
        )
    return household_id


async def _reports(
    connection: asyncpg.Connection, household_id: int, currency: str, *, before: bool = False
) -> object:
    """What the reports show; `before`: as the previous version's queries read them."""
    reports = PreviousReports(connection) if before else PostgresReports(connection)
    return (
        await reports.period_totals(
            household_id, date(2026, 1, 1), date(2027, 1, 1), currency=currency
        ),
        await reports.category_spending(
            household_id, date(2026, 10, 1), date(2026, 12, 1), currency=currency
        ),
        await reports.balances(household_id),
        await reports.last_transactions(household_id, 50),
        await connection.fetch(
            "SELECT number, kind, booked_on, note FROM transactions WHERE household_id = $1"
            " ORDER BY number",
            household_id,
        ),
    )


async def test_the_currency_migration_keeps_every_entry_number_and_report(
    empty_database_url: str,
) -> None:
    connection = await asyncpg.connect(empty_database_url)
    try:
        await migrate_as_the_first_release_did(connection)
        households = {
            await _household(connection, [501, 502], "UAH"): "UAH",
            await _household(connection, [601], "USD"): "USD",
        }
        before = {h: await _reports(connection, h, c, before=True) for h, c in households.items()}

        assert await migrate(connection) == [
            m.version for m in available_migrations()[FIRST_RELEASE_MIGRATIONS:]
        ]

        for household_id, currency in households.items():
            assert await _reports(connection, household_id, currency) == before[household_id]
            stored = await PostgresDirectory(connection).household_currency(household_id)
            assert stored == currency
    finally:
        await connection.close()


async def test_a_household_without_accounts_stops_the_migration_with_a_reason(
    empty_database_url: str,
) -> None:
    connection = await asyncpg.connect(empty_database_url)
    try:
        await migrate_as_the_first_release_did(connection)
        await connection.execute("INSERT INTO households DEFAULT VALUES")
        with pytest.raises(asyncpg.RaiseError, match="currency is unknown"):
            await migrate(connection)
    finally:
        await connection.close()
