"""Accounts stay, and keep the type and currency their postings were made under."""

from __future__ import annotations

import asyncpg
import pytest
from asyncpg.exceptions import (
    IntegrityConstraintViolationError,
)

from tests.support.raw_ledger import (
    HouseholdRows,
    assert_nothing_written,
    ledger_state,
    spend,
)

pytestmark = pytest.mark.postgres


# ---------------------------------------------------------------------------
# 8. Accounts stay, and keep the type and currency their postings were made under
# ---------------------------------------------------------------------------


async def test_account_cannot_be_deleted(
    connection: asyncpg.Connection, household: HouseholdRows
) -> None:
    before = await ledger_state(connection)

    # An account with no postings yet: the trigger refuses, not merely a foreign key.
    with pytest.raises(IntegrityConstraintViolationError, match="DELETE on accounts is refused"):
        await connection.execute("DELETE FROM accounts WHERE id = $1", household.card.id)

    await assert_nothing_written(connection, before)


@pytest.mark.parametrize("assignment", ["currency = 'USD'", "type = 'liability'"])
async def test_account_currency_and_type_cannot_change(
    connection: asyncpg.Connection, household: HouseholdRows, assignment: str
) -> None:
    await spend(connection, household, 100)
    before = await ledger_state(connection)

    with pytest.raises(IntegrityConstraintViolationError, match="cannot change"):
        await connection.execute(
            f"UPDATE accounts SET {assignment} WHERE id = $1", household.cash.id
        )

    await assert_nothing_written(connection, before)
