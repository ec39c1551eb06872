"""Loading exported books in one database transaction, in bulk (docs/adr/0019).

Rows go in the way the application writes them, so every trigger of the ledger keeps its
books: each transaction with its postings and conversion in the same database transaction,
postings in the file's order (their ids keep the ledger's order), a void linked by the one
UPDATE the ledger allows, the household's counter raised past the last number. The checks
at COMMIT then judge the whole file at once. Runs as the bot's own role: appending is all
it needs (docs/adr/0009).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from finance_bot.adapters.postgres.directory import PostgresDirectory
from finance_bot.domain.accounts import AccountType, normalize_name
from finance_bot.domain.money import Money
from finance_bot.domain.transactions import Conversion, TransactionKind
from finance_bot.ports.books_import import (
    AccountKey,
    BookedTransaction,
    BooksStore,
    Leg,
    Stored,
    StoreRefused,
)

_BATCH = 5000  # transactions per statement: big files, bounded statements
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class PostgresBooksStore:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection
        self._transaction = connection.transaction()

    async def start(self) -> None:
        await self._transaction.start()

    async def rollback(self) -> None:
        await self._transaction.rollback()

    async def lock(self) -> None:
        # The lock people joining take: an import and a first message cannot both found
        # a household, nor two imports load one file.
        await PostgresDirectory(self._connection).lock_households()

    async def has_households(self) -> bool:
        found: bool = await self._connection.fetchval("SELECT EXISTS (SELECT 1 FROM households)")
        return found

    async def households_of(self, telegram_ids: Collection[int]) -> dict[int, int]:
        rows = await self._connection.fetch(
            # A person's membership now, else the one they left last (docs/adr/0025).
            "SELECT DISTINCT ON (telegram_id) telegram_id, household_id FROM members"
            " WHERE telegram_id = ANY($1::bigint[])"
            " ORDER BY telegram_id, left_at IS NOT NULL, left_at DESC",
            list(telegram_ids),
        )
        return {row["telegram_id"]: row["household_id"] for row in rows}

    async def stored(self, ids: Collection[UUID]) -> dict[UUID, Stored]:
        rows = await self._connection.fetch(_STORED, list(ids))
        return {row["id"]: Stored(row["household_id"], _booked(row)) for row in rows}

    async def household_currency(self, household_id: int) -> str:
        currency: str = await self._connection.fetchval(
            "SELECT currency FROM households WHERE id = $1", household_id
        )
        return currency

    async def create_household(self, currency: str) -> int:
        household_id: int = await self._connection.fetchval(
            "INSERT INTO households (currency) VALUES ($1) RETURNING id", currency
        )
        return household_id

    async def add_members(self, household_id: int, names: Mapping[int, str]) -> None:
        await self._connection.execute(
            """
            INSERT INTO members (telegram_id, household_id, display_name)
            SELECT id, $1, NULLIF(name, '')
              FROM unnest($2::bigint[], $3::text[]) AS m(id, name)
            """,
            household_id,
            list(names),
            list(names.values()),
        )

    async def default_accounts(self, household_id: int) -> dict[int, int | None]:
        rows = await self._connection.fetch(
            "SELECT telegram_id, default_account_id FROM members WHERE household_id = $1"
            " ORDER BY telegram_id",
            household_id,
        )
        return {row["telegram_id"]: row["default_account_id"] for row in rows}

    async def set_default_account(self, telegram_id: int, account_id: int) -> None:
        await self._connection.execute(
            # The person's row in the account's household, not every household of theirs.
            "UPDATE members SET default_account_id = $2 WHERE telegram_id = $1"
            " AND household_id = (SELECT household_id FROM accounts WHERE id = $2)",
            telegram_id,
            account_id,
        )

    async def accounts(self, household_id: int) -> dict[AccountKey, int]:
        rows = await self._connection.fetch(
            """
            SELECT id, name, type::text, code, owner_telegram_id, currency FROM accounts
             WHERE household_id = $1 ORDER BY id
            """,
            household_id,
        )
        return {_account(row): row["id"] for row in rows}

    async def add_account(self, household_id: int, account: AccountKey) -> int | None:
        try:
            async with self._connection.transaction():  # a savepoint: a refusal undoes it alone
                return await self._add_account(household_id, account)
        except asyncpg.UniqueViolationError:
            return None  # its code is another account's
        except (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError) as error:
            # An account the ledger's rules refuse (a conversion account in another
            # currency than its code says, say): the file is refused, not the import broken.
            raise StoreRefused(str(error), None) from None

    async def _add_account(self, household_id: int, account: AccountKey) -> int | None:
        account_id: int | None = await self._connection.fetchval(
            """
            INSERT INTO accounts (household_id, type, name, name_key, code, currency,
                                  owner_telegram_id)
            SELECT $1, $2::account_type, $3, $4, $5, $6, $7
             WHERE NOT EXISTS (
                SELECT 1 FROM accounts
                 WHERE household_id = $1 AND archived_at IS NULL AND name_key = $4
                   AND COALESCE(owner_telegram_id, 0) = COALESCE($7::bigint, 0))
            RETURNING id
            """,
            household_id,
            account.type.value,
            account.name,
            normalize_name(account.name),
            account.code,
            account.currency,
            account.owner_telegram_id,
        )
        return account_id

    async def add_alias(self, household_id: int, alias_key: str, account_id: int) -> None:
        # First come, first served, as when a household is founded by chatting.
        await self._connection.execute(
            """
            INSERT INTO category_aliases (household_id, alias_key, account_id)
            VALUES ($1, $2, $3) ON CONFLICT DO NOTHING
            """,
            household_id,
            alias_key,
            account_id,
        )

    async def taken_numbers(self, household_id: int, numbers: Collection[int]) -> set[int]:
        rows = await self._connection.fetch(
            "SELECT number FROM transactions WHERE household_id = $1 AND number = ANY($2)",
            household_id,
            list(numbers),
        )
        return {row["number"] for row in rows}

    async def add_transactions(
        self,
        household_id: int,
        transactions: Sequence[BookedTransaction],
        account_ids: Mapping[AccountKey, int],
    ) -> None:
        for start in range(0, len(transactions), _BATCH):
            batch = transactions[start : start + _BATCH]
            await self._guarded(self._add_batch, household_id, batch, account_ids)

    async def _add_batch(
        self,
        household_id: int,
        batch: Sequence[BookedTransaction],
        account_ids: Mapping[AccountKey, int],
    ) -> None:
        await self._connection.execute(
            _INSERT_TRANSACTIONS,
            household_id,
            [t.id for t in batch],
            [t.number for t in batch],
            [t.author_telegram_id for t in batch],
            [t.kind.value for t in batch],
            [t.booked_on for t in batch],
            [t.note for t in batch],
            # A text[][] must be rectangular: the tags travel as one string each.
            [" ".join(t.tags) for t in batch],
            [t.voids for t in batch],
        )
        legs = [(t.id, leg) for t in batch for leg in t.legs]
        await self._connection.execute(
            _INSERT_POSTINGS,
            [transaction_id for transaction_id, _ in legs],
            [account_ids[leg.account] for _, leg in legs],
            ["debit" if leg.signed_minor > 0 else "credit" for _, leg in legs],
            [abs(leg.signed_minor) for _, leg in legs],
            [leg.account.currency for _, leg in legs],
        )
        converted = [(t.id, t.conversion) for t in batch if t.conversion is not None]
        await self._connection.execute(
            _INSERT_CONVERSIONS,
            [transaction_id for transaction_id, _ in converted],
            [c.source.currency for _, c in converted],
            [c.source.amount_minor for _, c in converted],
            [c.target.currency for _, c in converted],
            [c.target.amount_minor for _, c in converted],
            [c.rate for _, c in converted],
        )

    async def link_voids(self, links: Sequence[tuple[UUID, UUID]]) -> None:
        if links:
            await self._guarded(self._link, links)

    async def _link(self, links: Sequence[tuple[UUID, UUID]]) -> None:
        await self._connection.execute(
            """
            UPDATE transactions t SET voided_by_transaction_id = link.reversal
              FROM unnest($1::uuid[], $2::uuid[]) AS link(original, reversal)
             WHERE t.id = link.original
            """,
            [original for original, _ in links],
            [reversal for _, reversal in links],
        )

    async def raise_last_number(self, household_id: int, number: int) -> None:
        await self._connection.execute(
            """
            UPDATE households SET last_transaction_number = GREATEST(last_transaction_number, $2)
             WHERE id = $1
            """,
            household_id,
            number,
        )

    async def commit(self) -> None:
        await self._guarded(self._transaction.commit)

    async def _guarded(self, step: Any, *arguments: Any) -> None:
        try:
            await step(*arguments)
        except (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError) as error:
            message = str(error)
            found = _UUID.search(message)
            raise StoreRefused(message, UUID(found.group()) if found else None) from None


@asynccontextmanager
async def books_store(url: str) -> AsyncIterator[BooksStore]:
    """A store on its own connection; rolled back unless committed."""
    connection = await asyncpg.connect(url)
    try:
        store = PostgresBooksStore(connection)
        await store.start()
        try:
            yield store
        finally:
            if connection.is_in_transaction():
                await store.rollback()
    finally:
        await connection.close()


_INSERT_TRANSACTIONS = """
    INSERT INTO transactions
        (id, household_id, number, author_telegram_id, kind, booked_on, note, tags,
         voids_transaction_id)
    SELECT t.id, $1, t.number, t.author, t.kind::transaction_kind, t.booked_on, t.note,
           CASE t.tags WHEN '' THEN '{}'::text[] ELSE string_to_array(t.tags, ' ') END,
           t.voids
      FROM unnest($2::uuid[], $3::bigint[], $4::bigint[], $5::text[], $6::date[], $7::text[],
                  $8::text[], $9::uuid[]) WITH ORDINALITY
           AS t(id, number, author, kind, booked_on, note, tags, voids, position)
     ORDER BY t.position
"""

_INSERT_POSTINGS = """
    INSERT INTO postings (transaction_id, account_id, direction, amount_minor, currency)
    SELECT leg.transaction_id, leg.account_id, leg.direction::posting_direction,
           leg.amount_minor, leg.currency
      FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::bigint[], $5::text[])
               WITH ORDINALITY
           AS leg(transaction_id, account_id, direction, amount_minor, currency, position)
     ORDER BY leg.position
"""

_INSERT_CONVERSIONS = """
    INSERT INTO conversions
        (transaction_id, from_currency, from_amount_minor, to_currency, to_amount_minor, rate)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::bigint[],
                         $6::numeric[])
"""

_STORED = """
    SELECT t.id, t.household_id, t.number, t.author_telegram_id, t.kind::text, t.booked_on,
           t.note, t.tags, t.voids_transaction_id, t.voided_by_transaction_id,
           c.from_currency, c.from_amount_minor, c.to_currency, c.to_amount_minor, c.rate,
           array_agg(ARRAY[a.name, a.type::text, a.code, a.owner_telegram_id::text,
                           a.currency::text,
                           (CASE p.direction WHEN 'debit' THEN 1 ELSE -1 END
                            * p.amount_minor)::text] ORDER BY p.id) AS legs
      FROM transactions t
      JOIN postings p ON p.transaction_id = t.id
      JOIN accounts a ON a.id = p.account_id
      LEFT JOIN conversions c ON c.transaction_id = t.id
     WHERE t.id = ANY($1::uuid[])
     GROUP BY t.id, c.transaction_id
"""


def _account(row: Any) -> AccountKey:
    return AccountKey(
        row["name"],
        AccountType(row["type"]),
        row["code"],
        row["owner_telegram_id"],
        row["currency"],
    )


def _booked(row: Any) -> BookedTransaction:
    conversion = None
    if row["from_currency"] is not None:
        conversion = Conversion(
            Money(row["from_amount_minor"], row["from_currency"]),
            Money(row["to_amount_minor"], row["to_currency"]),
            Decimal(row["rate"]),
        )
    return BookedTransaction(
        id=row["id"],
        number=row["number"],
        booked_on=row["booked_on"],
        kind=TransactionKind(row["kind"]),
        author_telegram_id=row["author_telegram_id"],
        note=row["note"],
        tags=tuple(row["tags"]),
        voids=row["voids_transaction_id"],
        voided_by=row["voided_by_transaction_id"],
        conversion=conversion,
        legs=tuple(
            Leg(
                AccountKey(name, AccountType(kind), code, int(owner) if owner else None, currency),
                int(signed),
            )
            for name, kind, code, owner, currency, signed in row["legs"]
        ),
    )
