"""The ledger repository: transactions and postings, in raw SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from finance_bot.domain.money import Money
from finance_bot.domain.transactions import Direction, Posting, Transaction, TransactionKind


class PostgresLedger:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def next_number(self, household_id: int) -> int:
        # The household row is the first lock every ledger write takes (docs/adr/0001).
        number: int = await self._connection.fetchval(
            """
            UPDATE households SET last_transaction_number = last_transaction_number + 1
             WHERE id = $1 RETURNING last_transaction_number
            """,
            household_id,
        )
        return number

    async def lock_accounts(self, account_ids: Sequence[int]) -> None:
        await self._connection.execute(
            """
            SELECT 1 FROM account_balances
             WHERE account_id = ANY($1::bigint[])
             ORDER BY account_id FOR UPDATE
            """,
            sorted(account_ids),
        )

    async def add(self, transaction: Transaction) -> bool:
        if transaction.number is None:
            raise ValueError("a transaction is numbered before it is stored")
        inserted = await self._connection.fetchval(
            """
            INSERT INTO transactions
                (id, household_id, number, author_telegram_id, kind, booked_on, note, tags,
                 voids_transaction_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT (id) DO NOTHING
            RETURNING true
            """,
            transaction.id, transaction.household_id, transaction.number,
            transaction.author_telegram_id, transaction.kind.value, transaction.booked_on,
            transaction.note, list(transaction.tags), transaction.voids_transaction_id,
        )  # fmt: skip
        if not inserted:
            return False
        # Ascending account order: the balance rows are locked in the global order.
        postings = sorted(transaction.postings, key=lambda p: p.account_id)
        await self._connection.executemany(
            """
            INSERT INTO postings (transaction_id, account_id, direction, amount_minor, currency)
            VALUES ($1, $2, $3, $4, $5)
            """,
            [
                (transaction.id, p.account_id, p.direction.value, p.amount.amount_minor,
                 p.amount.currency)
                for p in postings
            ],
        )  # fmt: skip
        return True

    async def get(self, transaction_id: UUID) -> Transaction | None:
        row = await self._connection.fetchrow(
            f"{_SELECT_TRANSACTION} WHERE t.id = $1 GROUP BY t.id", transaction_id
        )
        return _transaction(row) if row else None

    async def by_number(
        self, household_id: int, number: int, *, for_update: bool = False
    ) -> Transaction | None:
        if for_update:
            await self._connection.execute(
                "SELECT 1 FROM transactions WHERE household_id = $1 AND number = $2 FOR UPDATE",
                household_id,
                number,
            )
        row = await self._connection.fetchrow(
            f"{_SELECT_TRANSACTION} WHERE t.household_id = $1 AND t.number = $2 GROUP BY t.id",
            household_id,
            number,
        )
        return _transaction(row) if row else None

    async def last_number_by_author(self, author_telegram_id: int) -> int | None:
        number: int | None = await self._connection.fetchval(
            """
            SELECT number FROM transactions
             WHERE author_telegram_id = $1 AND kind <> 'reversal'
             ORDER BY number DESC LIMIT 1
            """,
            author_telegram_id,
        )
        return number

    async def link_void(self, original_id: UUID, reversal_id: UUID) -> None:
        await self._connection.execute(
            "UPDATE transactions SET voided_by_transaction_id = $2 WHERE id = $1",
            original_id,
            reversal_id,
        )


_SELECT_TRANSACTION = """
    SELECT t.id, t.household_id, t.number, t.author_telegram_id, t.kind, t.booked_on, t.note,
           t.tags, t.voids_transaction_id, t.voided_by_transaction_id,
           array_agg(ARRAY[p.account_id::text, p.direction::text, p.amount_minor::text,
                           p.currency::text] ORDER BY p.id) AS postings
      FROM transactions t JOIN postings p ON p.transaction_id = t.id
"""


def _transaction(row: Any) -> Transaction:
    return Transaction(
        id=row["id"],
        household_id=row["household_id"],
        number=row["number"],
        author_telegram_id=row["author_telegram_id"],
        kind=TransactionKind(row["kind"]),
        booked_on=row["booked_on"],
        note=row["note"],
        tags=tuple(row["tags"]),
        voids_transaction_id=row["voids_transaction_id"],
        voided_by_transaction_id=row["voided_by_transaction_id"],
        postings=tuple(
            Posting(int(account_id), Direction(direction), Money(int(amount), currency))
            for account_id, direction, amount, currency in row["postings"]
        ),
    )
