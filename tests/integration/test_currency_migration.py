"""Several currencies (docs/product.md §8) arrive by a forward migration that keeps every
entry, number and report of a database the previous version filled; the currency table it
brings is the ISO 4217 table the code reads."""

from __future__ import annotations

from datetime import date

import asyncpg
import pytest
from iso4217 import Currency

from finance_bot.adapters.postgres.check import check_ledger
from finance_bot.adapters.postgres.migrator import available_migrations, migrate
from finance_bot.adapters.system import UuidV7Source
from finance_bot.domain import transactions
from finance_bot.domain.money import Money
from tests.integration.test_backup import _columns, _tables
from tests.integration.test_household_currency import _household, _reports
from tests.support.databases import FirstReleaseLedger, migrate_up_to_before

pytestmark = pytest.mark.postgres

CURRENCY_MIGRATION = 7


async def _migrate_as_the_previous_version(connection: asyncpg.Connection) -> None:
    """Every migration before this one, applied in turn as the previous runner did."""
    await migrate_up_to_before(connection, CURRENCY_MIGRATION)


async def _undo_the_last_entry(connection: asyncpg.Connection, household_id: int) -> None:
    """A void as the previous version wrote one: the mirrored reversal and its link."""
    row = await connection.fetchrow(
        "SELECT id, author_telegram_id FROM transactions WHERE household_id = $1"
        " ORDER BY number DESC LIMIT 1",
        household_id,
    )
    legs = await connection.fetch(
        "SELECT account_id, direction, amount_minor, currency FROM postings"
        " WHERE transaction_id = $1 ORDER BY id",
        row["id"],
    )
    original = transactions.expense(
        id=row["id"],
        household_id=household_id,
        author_telegram_id=row["author_telegram_id"],
        booked_on=date(2026, 11, 2),
        amount=Money(legs[0]["amount_minor"], legs[0]["currency"]),
        account_id=next(leg["account_id"] for leg in legs if leg["direction"] == "credit"),
        category_id=next(leg["account_id"] for leg in legs if leg["direction"] == "debit"),
    )
    reversal = original.reversal(
        reversal_id=UuidV7Source().new_id(),
        author_telegram_id=row["author_telegram_id"],
        booked_on=date(2026, 11, 2),
    )
    async with connection.transaction():
        await FirstReleaseLedger(connection).add(reversal)
        await connection.execute(
            "UPDATE transactions SET voided_by_transaction_id = $2 WHERE id = $1",
            row["id"],
            reversal.id,
        )


async def test_the_migration_keeps_every_entry_number_and_report(
    empty_database_url: str,
) -> None:
    connection = await asyncpg.connect(empty_database_url)
    try:
        await _migrate_as_the_previous_version(connection)
        households = {
            await _household(connection, [701, 702], "UAH", currency_column=True): "UAH",
            await _household(connection, [801], "EUR", currency_column=True): "EUR",
        }
        for household_id in households:
            await _undo_the_last_entry(connection, household_id)
        reports_before = {
            h: await _reports(connection, h, c, before=True) for h, c in households.items()
        }
        tables_before = await _tables(empty_database_url)
        columns_before = await _columns(empty_database_url)

        assert await migrate(connection) == list(
            range(CURRENCY_MIGRATION, len(available_migrations()) + 1)
        )

        for household_id, currency in households.items():
            assert (
                await _reports(connection, household_id, currency) == (reports_before[household_id])
            )
        # Later migrations may add columns; the ones this schema had keep every value.
        tables_after = await _tables(empty_database_url, columns=columns_before)
        for table, rows in tables_before.items():
            if table != "schema_migrations":
                assert tables_after[table] == rows, table
        added = await _tables(empty_database_url)
        assert added["conversions"] == []
        assert added["exchange_rates"] == []
        assert await check_ledger(connection) == []
    finally:
        await connection.close()


async def test_the_currency_table_is_the_iso_4217_table(fresh_database_url: str) -> None:
    connection = await asyncpg.connect(fresh_database_url)
    try:
        stored = {
            row["code"]: row["scale"]
            for row in await connection.fetch("SELECT code, scale FROM currencies")
        }
        shown = dict(await connection.fetch("SELECT currency, scale FROM reporting.currencies"))
    finally:
        await connection.close()
    iso = {c.code: c.exponent for c in Currency if c.exponent is not None}
    assert stored == iso
    assert shown == iso
    assert (stored["UAH"], stored["JPY"], stored["KWD"]) == (2, 0, 3)
