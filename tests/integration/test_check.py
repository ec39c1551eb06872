"""`finance-bot check` finds every kind of corruption that gets past the triggers."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import date
from decimal import Decimal

import asyncpg
import pytest

from finance_bot.adapters.postgres.check import RULE_NAMES, check_ledger
from finance_bot.adapters.postgres.ledger import PostgresLedger
from finance_bot.adapters.system import UuidV7Source
from finance_bot.domain import transactions
from finance_bot.domain.commands import RecordTransfer
from finance_bot.domain.money import Money
from finance_bot.domain.transactions import Conversion
from tests.support.household import expense_command, ledger_world, uah

pytestmark = pytest.mark.postgres
DAY = date(2026, 11, 20)

# rule -> SQL that breaks it, run with triggers off (session_replication_role = replica).
# Placeholders: {expense} {reversal} {voided} {transfer} {cafe} {card} {member}
CORRUPTIONS: dict[str, str] = {
    "transaction_unbalanced": "UPDATE postings SET amount_minor = amount_minor + 1"
    " WHERE id = (SELECT min(id) FROM postings WHERE transaction_id = '{expense}')",
    "transaction_has_fewer_than_two_postings": "DELETE FROM postings"
    " WHERE id = (SELECT min(id) FROM postings WHERE transaction_id = '{expense}')",
    "transaction_mixes_currencies": "UPDATE postings SET currency = 'USD'"
    " WHERE id = (SELECT min(id) FROM postings WHERE transaction_id = '{expense}')",
    "conversion_not_carried_out": "UPDATE postings SET amount_minor = amount_minor + 1"
    " WHERE transaction_id = '{converted}' AND currency = 'USD'",
    "conversion_rate_does_not_fit": "UPDATE conversions SET rate = rate + 1"
    " WHERE transaction_id = '{converted}'",
    "conversion_without_transaction": "INSERT INTO conversions"
    " VALUES (gen_random_uuid(), 'USD', 100, 'UAH', 4150, 41.5,"
    " (SELECT min(id) FROM households))",
    "reversal_conversion_differs": "DELETE FROM conversions"
    " WHERE transaction_id = '{converted_reversal}'",
    "foreign_totals_differ_from_conversions": "UPDATE category_day_foreign_totals"
    " SET amount_minor = amount_minor + 1",
    "category_not_in_base_currency": "UPDATE households SET currency = 'EUR'",
    "posting_amount_not_positive": "ALTER TABLE postings DROP CONSTRAINT postings_amount_positive;"
    " UPDATE postings SET amount_minor = -amount_minor WHERE transaction_id = '{expense}'",
    "posting_currency_differs_from_account": "ALTER TABLE postings"
    " DROP CONSTRAINT postings_account_fk; UPDATE accounts SET currency = 'USD' WHERE id = {cafe}",
    "posting_without_transaction": "INSERT INTO postings"
    " (transaction_id, account_id, direction, amount_minor, currency)"
    " VALUES (gen_random_uuid(), {cafe}, 'debit', 1, 'UAH')",
    "posting_without_account": "UPDATE postings SET account_id = 987654321"
    " WHERE id = (SELECT min(id) FROM postings WHERE transaction_id = '{expense}')",
    "posting_to_other_household": "WITH h AS"
    " (INSERT INTO households (currency) VALUES ('UAH') RETURNING id),"
    " a AS (INSERT INTO accounts (household_id, type, name, name_key, currency)"
    " SELECT id, 'expense', 'x', 'x', 'UAH' FROM h RETURNING id)"
    " UPDATE postings SET account_id = (SELECT id FROM a)"
    " WHERE id = (SELECT min(id) FROM postings WHERE transaction_id = '{transfer}')",
    "cached_balance_differs_from_postings": "UPDATE account_balances"
    " SET balance_minor = balance_minor + 1 WHERE account_id = {card}",
    "category_totals_differ_from_postings": "UPDATE category_day_totals"
    " SET debit_minus_credit_minor = debit_minus_credit_minor + 1"
    " WHERE account_id = {cafe}",
    "balance_without_account": "INSERT INTO account_balances VALUES (987654321, 0)",
    "transaction_without_household_or_author": "UPDATE transactions"
    " SET author_telegram_id = 1 WHERE id = '{expense}'",
    "account_without_household_or_owner": "UPDATE accounts SET owner_telegram_id = 1"
    " WHERE id = {card}",
    "reversal_not_linked_back": "UPDATE transactions SET voided_by_transaction_id = NULL"
    " WHERE id = '{voided}'",
    "void_link_without_reversal": "UPDATE transactions SET voided_by_transaction_id = '{transfer}'"
    " WHERE id = '{expense}'",
    "reversal_kind_mismatch": "ALTER TABLE transactions"
    " DROP CONSTRAINT transactions_reversal_names_original;"
    " UPDATE transactions SET kind = 'expense' WHERE id = '{reversal}'",
    "reversal_does_not_mirror_original": "UPDATE postings SET amount_minor = amount_minor + 1"
    " WHERE transaction_id = '{reversal}'",
    "transaction_number_duplicated": "ALTER TABLE transactions"
    " DROP CONSTRAINT transactions_number_uq;"
    " UPDATE transactions SET number = 1 WHERE id = '{transfer}'",
    "transaction_number_beyond_counter": "UPDATE households SET last_transaction_number = 0",
}


def test_every_rule_has_a_corruption_case() -> None:
    assert set(CORRUPTIONS) == set(RULE_NAMES)


async def _populate(url: str) -> dict[str, object]:
    async with ledger_world(url) as world:
        (alice, _) = await world.new_household()
        accounts = await world.accounts(alice)
        cafe, card, cash = accounts["cafe"].id, accounts["card"].id, accounts["cash"].id
        expense = await world.record(expense_command(uah(100), cafe, on=DAY), alice)
        voided = await world.record(expense_command(uah(40), cafe, on=DAY), alice)
        undone = await world.void(voided.number, alice)
        transfer = await world.record(RecordTransfer(uah(10), card, cash, DAY), alice)
        async with world.pool.acquire() as connection:
            reversal = await connection.fetchval(
                "SELECT id FROM transactions WHERE number = $1", undone.reversal_number
            )
        converted = await _converted_entries(url, alice, cafe)
        return {
            **converted,
            "expense": expense.transaction_id,
            "voided": voided.transaction_id,
            "reversal": reversal,
            "transfer": transfer.transaction_id,
            "cafe": cafe,
            "card": card,
            "member": alice,
        }


async def _converted_entries(url: str, member: int, cafe: int) -> dict[str, object]:
    """20 USD of coffee paid from a dollar account, and another such entry undone."""
    connection = await asyncpg.connect(url)
    try:
        household_id = await connection.fetchval(
            "SELECT household_id FROM members WHERE telegram_id = $1", member
        )
        accounts = {}
        for name, type_, code, currency, owner in (
            ("доллары", "asset", None, "USD", member),
            ("⇄ USD", "equity", "conversion:USD", "USD", None),
            ("⇄ UAH", "equity", "conversion:UAH", "UAH", None),
        ):
            accounts[name] = await connection.fetchval(
                "INSERT INTO accounts (household_id, type, name, name_key, code, currency,"
                " owner_telegram_id) VALUES ($1, $2, $3, $3, $4, $5, $6) RETURNING id",
                household_id,
                type_,
                name,
                code,
                currency,
                owner,
            )
        ledger, ids = PostgresLedger(connection), UuidV7Source()
        conversion = Conversion.at_rate(Money(2_000, "USD"), Decimal("41.50"), "UAH")
        made = []
        for _ in range(2):
            entry = transactions.expense(
                id=ids.new_id(),
                household_id=household_id,
                author_telegram_id=member,
                booked_on=DAY,
                amount=conversion.target,
                paid=conversion.source,
                account_id=accounts["доллары"],
                category_id=cafe,
                conversion=conversion,
                conversion_accounts={"USD": accounts["⇄ USD"], "UAH": accounts["⇄ UAH"]},
            )
            await ledger.add(entry)
            made.append(entry)
        reversal = made[1].reversal(
            reversal_id=ids.new_id(), author_telegram_id=member, booked_on=DAY
        )
        async with connection.transaction():
            await ledger.add(reversal)
            await ledger.link_void(made[1].id, reversal.id)
        return {"converted": made[0].id, "converted_reversal": reversal.id}
    finally:
        await connection.close()


async def _run_cli(url: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "finance_bot",
        "check",
        env={**os.environ, "DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_check_passes_on_a_healthy_ledger(fresh_database_url: str) -> None:
    await _populate(fresh_database_url)
    code, out, err = await _run_cli(fresh_database_url)
    assert (code, err) == (0, "")
    assert "ledger ok" in out


@pytest.mark.parametrize("rule", sorted(CORRUPTIONS))
async def test_check_names_each_kind_of_corruption(fresh_database_url: str, rule: str) -> None:
    ids = await _populate(fresh_database_url)
    connection = await asyncpg.connect(fresh_database_url)
    try:
        assert await check_ledger(connection) == []
        async with connection.transaction():
            await connection.execute("SET LOCAL session_replication_role = replica")
            await connection.execute(CORRUPTIONS[rule].format(**ids))
        found = {violation.rule for violation in await check_ledger(connection)}
    finally:
        await connection.close()
    assert rule in found


async def test_check_exits_non_zero_naming_the_violation(fresh_database_url: str) -> None:
    ids = await _populate(fresh_database_url)
    connection = await asyncpg.connect(fresh_database_url)
    try:
        async with connection.transaction():
            await connection.execute("SET LOCAL session_replication_role = replica")
            await connection.execute(
                CORRUPTIONS["cached_balance_differs_from_postings"].format(**ids)
            )
    finally:
        await connection.close()
    code, _, err = await _run_cli(fresh_database_url)
    assert code == 1
    assert f"cached_balance_differs_from_postings: {ids['card']}" in err
