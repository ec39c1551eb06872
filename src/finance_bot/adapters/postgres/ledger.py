"""The ledger repository: transactions and postings, in raw SQL."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import asyncpg

from finance_bot.adapters.postgres.lent_connection import durable
from finance_bot.domain.money import Money
from finance_bot.domain.transactions import (
    Conversion,
    Direction,
    Posting,
    Transaction,
    TransactionKind,
)
from finance_bot.ports.records import Added
from finance_bot.ports.unit_of_work import IdempotencyKeyTaken


class PostgresLedger:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def add(
        self,
        transaction: Transaction,
        *,
        idempotency_key: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> Added:
        # One statement numbers and stores the transaction with its postings (and claims
        # the idempotency key). The UPDATE of the household row is the first lock every
        # ledger write takes; the postings go in ascending account order, so the balance
        # rows their trigger updates are locked in one global order too: writers queue,
        # never deadlock (docs/adr/0001).
        postings = list(transaction.postings_in_lock_order)
        try:
            row = await self._add(transaction, postings, idempotency_key, result)
        except asyncpg.UniqueViolationError as error:
            if error.constraint_name == "idempotency_keys_pk":
                raise IdempotencyKeyTaken(idempotency_key) from error
            raise
        await durable(self._connection)  # "recorded as #N" holds from here on (ADR-0008)
        assert row is not None
        return Added(number=row["number"])

    async def _add(
        self,
        transaction: Transaction,
        postings: list[Posting],
        idempotency_key: str | None,
        result: dict[str, Any] | None,
    ) -> Any:
        return await self._connection.fetchrow(
            _ADD,
            transaction.id,
            transaction.household_id,
            transaction.author_telegram_id,
            transaction.kind.value,
            transaction.booked_on,
            transaction.note,
            list(transaction.tags),
            transaction.voids_transaction_id,
            [p.account_id for p in postings],
            [p.direction.value for p in postings],
            [p.amount.amount_minor for p in postings],
            [p.amount.currency for p in postings],
            idempotency_key,
            json.dumps(result or {}),
            *_conversion_arguments(transaction.conversion),
        )

    async def get(self, transaction_id: UUID) -> Transaction | None:
        row = await self._connection.fetchrow(
            f"{_SELECT_TRANSACTION} WHERE t.id = $1 {_GROUPED}", transaction_id
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
            f"{_SELECT_TRANSACTION} WHERE t.household_id = $1 AND t.number = $2 {_GROUPED}",
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
        await durable(self._connection)


# A key claimed before makes the whole statement fail on the key's primary key (after
# waiting for a claimer still in flight), so its counter increment is undone with it, even
# when the statement is its own transaction.
_ADD = """
    WITH numbered AS (
        UPDATE households SET last_transaction_number = last_transaction_number + 1
         WHERE id = $2 AND NOT EXISTS (SELECT 1 FROM transactions WHERE id = $1)
        RETURNING last_transaction_number AS number
    ), claimed AS (
        INSERT INTO idempotency_keys (key, result)
        SELECT $13, $14::jsonb || jsonb_build_object('number', number) FROM numbered
         WHERE $13::text IS NOT NULL
    ), stored AS (
        INSERT INTO transactions
            (id, household_id, number, author_telegram_id, kind, booked_on, note, tags,
             voids_transaction_id)
        SELECT $1, $2, number, $3, $4, $5, $6, $7, $8 FROM numbered
        RETURNING id, number
    ), legs AS (
        INSERT INTO postings (transaction_id, account_id, direction, amount_minor, currency)
        SELECT stored.id, leg.account_id, leg.direction::posting_direction, leg.amount_minor,
               leg.currency
          FROM stored,
               unnest($9::bigint[], $10::text[], $11::bigint[], $12::text[]) WITH ORDINALITY
                   AS leg(account_id, direction, amount_minor, currency, position)
         ORDER BY leg.position
    ), converted AS (
        INSERT INTO conversions
            (transaction_id, from_currency, from_amount_minor, to_currency, to_amount_minor,
             rate)
        SELECT stored.id, $15::char(3), $16::bigint, $17::char(3), $18::bigint, $19::numeric
          FROM stored WHERE $15::char(3) IS NOT NULL
    )
    SELECT (SELECT number FROM stored) AS number
"""

_SELECT_TRANSACTION = """
    SELECT t.id, t.household_id, t.number, t.author_telegram_id, t.kind, t.booked_on, t.note,
           t.tags, t.voids_transaction_id, t.voided_by_transaction_id,
           array_agg(ARRAY[p.account_id::text, p.direction::text, p.amount_minor::text,
                           p.currency::text] ORDER BY p.id) AS postings,
           c.from_currency, c.from_amount_minor, c.to_currency, c.to_amount_minor, c.rate
      FROM transactions t JOIN postings p ON p.transaction_id = t.id
      LEFT JOIN conversions c ON c.transaction_id = t.id
"""
_GROUPED = "GROUP BY t.id, c.transaction_id"


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
        conversion=_conversion(row),
    )


def _conversion_arguments(conversion: Conversion | None) -> tuple[Any, ...]:
    if conversion is None:
        return (None, None, None, None, None)
    source, target = conversion.source, conversion.target
    return (
        source.currency,
        source.amount_minor,
        target.currency,
        target.amount_minor,
        conversion.rate,
    )


def _conversion(row: Any) -> Conversion | None:
    if row["from_currency"] is None:
        return None
    return Conversion(
        source=Money(row["from_amount_minor"], row["from_currency"]),
        target=Money(row["to_amount_minor"], row["to_currency"]),
        rate=row["rate"],
    )
