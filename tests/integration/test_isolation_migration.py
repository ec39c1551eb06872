"""Households apart by row-level security (migration 0012, docs/adr/0021) arrive by a
forward migration that keeps every entry, number and report of a database the previous
version filled, and gives each conversion its transaction's household."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import asyncpg
import pytest

from finance_bot.adapters.postgres.check import check_ledger
from finance_bot.adapters.postgres.directory import PostgresDirectory
from finance_bot.adapters.postgres.ledger import PostgresLedger
from finance_bot.adapters.postgres.migrator import available_migrations, migrate
from finance_bot.adapters.postgres.roles import APP, login_url, setup_roles
from finance_bot.adapters.system import UuidV7Source
from finance_bot.domain import transactions
from finance_bot.domain.accounts import AccountType
from finance_bot.domain.money import Money
from finance_bot.domain.transactions import Conversion
from tests.integration.test_backup import _columns, _tables
from tests.integration.test_household_currency import _household, _reports
from tests.support.databases import migrate_up_to_before

pytestmark = pytest.mark.postgres

ISOLATION_MIGRATION = 12


async def _migrate_as_the_previous_version(connection: asyncpg.Connection) -> None:
    """Every migration before this one, applied in turn as the previous runner did."""
    await migrate_up_to_before(connection, ISOLATION_MIGRATION)


async def _spend_dollars(connection: asyncpg.Connection, household_id: int, member: int) -> None:
    """Two converted expenses, written by the ledger's own writer of the previous version:
    a price in dollars paid from the hryvnia card, and dollars paid from a dollar account."""
    directory = PostgresDirectory(connection)
    accounts = await directory.accounts(household_id)
    card = next(a for a in accounts if a.code == "card" and a.owner_telegram_id == member)
    cafe = next(a for a in accounts if a.code == "cafe")
    dollars = await directory.add_account(
        household_id=household_id,
        type=AccountType.ASSET,
        name="доллары",
        currency="USD",
        owner_telegram_id=member,
    )
    through = await directory.conversion_accounts(household_id, ["USD", "UAH"])
    ledger, ids = PostgresLedger(connection), UuidV7Source()
    for cents, paid_from in ((2_000, None), (3_550, dollars.id)):
        typed = Money(cents, "USD")
        conversion = Conversion.at_rate(typed, Decimal("41.50"), "UAH")
        await ledger.add(
            transactions.expense(
                id=ids.new_id(),
                household_id=household_id,
                author_telegram_id=member,
                booked_on=date(2026, 11, 3),
                amount=conversion.target,
                account_id=paid_from or card.id,
                category_id=cafe.id,
                conversion=conversion,
                paid=typed if paid_from else None,
                conversion_accounts=through,
            )
        )


async def test_the_migration_keeps_every_entry_number_and_report(
    empty_database_url: str,
) -> None:
    connection = await asyncpg.connect(empty_database_url)
    try:
        await _migrate_as_the_previous_version(connection)
        households = {
            await _household(connection, [901, 902], "UAH", currency_column=True): "UAH",
            await _household(connection, [903], "UAH", currency_column=True): "UAH",
            await _household(connection, [904], "EUR", currency_column=True): "EUR",
        }
        first, second, _ = households
        await _spend_dollars(connection, first, 901)
        await _spend_dollars(connection, second, 903)
        reports_before = {h: await _reports(connection, h, c) for h, c in households.items()}
        tables_before = await _tables(empty_database_url)
        # Later migrations add columns; the rows are compared on the columns they had.
        columns_before = await _columns(empty_database_url)
        conversions = await connection.fetch(
            "SELECT c.transaction_id, t.household_id FROM conversions c"
            " JOIN transactions t ON t.id = c.transaction_id"
        )
        assert {row["household_id"] for row in conversions} == {first, second}

        await setup_roles(connection)  # as an upgrade's start does before migrating
        assert await migrate(connection) == list(
            range(ISOLATION_MIGRATION, len(available_migrations()) + 1)
        )

        tables_after = await _tables(empty_database_url, columns=columns_before)
        for table, rows in tables_before.items():
            if table not in ("schema_migrations", "conversions"):
                assert tables_after[table] == rows, table
        assert len(tables_after["conversions"]) == len(tables_before["conversions"])
        filled = await connection.fetch("SELECT transaction_id, household_id FROM conversions")
        assert sorted(map(tuple, filled)) == sorted(map(tuple, conversions))
        assert await check_ledger(connection) == []
        for household_id, currency in households.items():
            assert (
                await _reports(connection, household_id, currency) == (reports_before[household_id])
            )
    finally:
        await connection.close()

    # The bot's own role, bound to each household in turn, sees that household's reports
    # whole: the policies hide nothing of its own books.
    app = await asyncpg.connect(login_url(empty_database_url, APP))
    try:
        for household_id, currency in households.items():
            await app.execute(
                "SELECT set_config('finance_bot.household', $1::bigint::text, false)",
                household_id,
            )
            assert await _reports(app, household_id, currency) == reports_before[household_id]
    finally:
        await app.close()
