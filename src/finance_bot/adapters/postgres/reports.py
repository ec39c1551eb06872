"""The read model behind reports: category day totals, balances and the latest entries."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import asyncpg

from finance_bot.adapters.postgres.directory import _ACCOUNT_FIELDS, _account, _account_of
from finance_bot.adapters.postgres.ledger import _GROUPED, _SELECT_TRANSACTION, _transaction
from finance_bot.domain.accounts import AccountType
from finance_bot.domain.money import Money
from finance_bot.domain.shares import PERSONAL_TAGS
from finance_bot.ports.records import (
    AccountBalance,
    AmountByKey,
    PeriodTotals,
    PersonTransfer,
    ShareFacts,
    TransactionLine,
    TransactionSeen,
)

# An entry of the member's household, with the accounts it touches; a row with no entry
# when the household has none of that id, and no row for a person who is no member.
_TRANSACTION_SEEN = f"""
    SELECT tx.*,
           ARRAY(SELECT ROW({_ACCOUNT_FIELDS}) FROM accounts a
                  WHERE a.id IN (SELECT p.account_id FROM postings p
                                  WHERE p.transaction_id = tx.id)
                  ORDER BY a.id) AS accounts
      FROM members m
      LEFT JOIN LATERAL ({_SELECT_TRANSACTION}
                          WHERE t.id = $2 AND t.household_id = m.household_id
                          {_GROUPED}) tx ON true
     WHERE m.telegram_id = $1 AND m.left_at IS NULL
"""

# What live transactions (neither voided nor reversals) put on each category: the
# trigger-kept day totals, so a month reads a few hundred rows whatever the ledger's size.
_CATEGORY_TOTALS = """
    SELECT a.type, d.account_id, d.author_telegram_id,
           sum(d.debit_minus_credit_minor) AS debit_minus_credit
      FROM category_day_totals d
      JOIN accounts a ON a.id = d.account_id
     WHERE d.household_id = $1 AND d.booked_on >= $2 AND d.booked_on < $3
       AND d.currency = $4
"""


# Common spending per person who paid it from an own account: the expense legs of live
# expenses (base currency, whatever was paid), neither personal nor tagged so. The paying
# leg is the one asset or liability leg of an expense.
_SHARED_PAID = """
    SELECT payer.owner_telegram_id AS person,
           sum(CASE p.direction WHEN 'debit' THEN p.amount_minor ELSE -p.amount_minor END)
               AS amount_minor
      FROM transactions t
      JOIN postings p ON p.transaction_id = t.id
      JOIN accounts c ON c.id = p.account_id AND c.type = 'expense'
      JOIN LATERAL (SELECT a.owner_telegram_id
                      FROM postings q JOIN accounts a ON a.id = q.account_id
                     WHERE q.transaction_id = t.id AND a.type IN ('asset', 'liability')
                     LIMIT 1) payer ON payer.owner_telegram_id IS NOT NULL
     WHERE t.household_id = $1 AND t.kind = 'expense' AND t.voided_by_transaction_id IS NULL
       AND NOT (t.tags && $2::text[])
       AND NOT EXISTS (SELECT 1 FROM personal_categories pc WHERE pc.category_id = c.id)
     GROUP BY payer.owner_telegram_id
"""

_PERSON_TRANSFERS = """
    SELECT t.booked_on, src.owner_telegram_id AS from_person, dst.owner_telegram_id AS to_person,
           ps.amount_minor AS sent_minor, src.currency AS sent_currency,
           pd.amount_minor AS received_minor, dst.currency AS received_currency
      FROM transactions t
      JOIN postings ps ON ps.transaction_id = t.id AND ps.direction = 'credit'
      JOIN accounts src ON src.id = ps.account_id AND src.type IN ('asset', 'liability')
      JOIN postings pd ON pd.transaction_id = t.id AND pd.direction = 'debit'
      JOIN accounts dst ON dst.id = pd.account_id AND dst.type IN ('asset', 'liability')
     WHERE t.household_id = $1 AND t.kind = 'transfer' AND t.voided_by_transaction_id IS NULL
       AND src.owner_telegram_id <> dst.owner_telegram_id
     ORDER BY t.number
"""


class PostgresReports:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def transaction_seen_by(
        self, telegram_id: int, transaction_id: UUID
    ) -> TransactionSeen | None:
        row = await self._connection.fetchrow(_TRANSACTION_SEEN, telegram_id, transaction_id)
        if row is None:
            return None
        if row["id"] is None:
            return TransactionSeen(None, [])
        return TransactionSeen(_transaction(row), [_account_of(f) for f in row["accounts"]])

    async def period_totals(
        self,
        household_id: int,
        start: date,
        end: date,
        *,
        currency: str,
        author_telegram_id: int | None = None,
    ) -> PeriodTotals:
        rows = await self._connection.fetch(
            _CATEGORY_TOTALS
            + " AND ($5::bigint IS NULL OR d.author_telegram_id = $5)"
            + " GROUP BY a.type, d.account_id, d.author_telegram_id",
            household_id,
            start,
            end,
            currency,
            author_telegram_id,
        )
        spending_by_category: dict[int, int] = {}
        spending_by_person: dict[int, int] = {}
        income_by_category: dict[int, int] = {}
        for row in rows:
            amount = int(row["debit_minus_credit"])
            if row["type"] == AccountType.EXPENSE.value:
                account, person = row["account_id"], row["author_telegram_id"]
                spending_by_category[account] = spending_by_category.get(account, 0) + amount
                spending_by_person[person] = spending_by_person.get(person, 0) + amount
            else:
                account = row["account_id"]
                income_by_category[account] = income_by_category.get(account, 0) - amount

        def ranked(sums: dict[int, int]) -> tuple[AmountByKey, ...]:
            return tuple(
                AmountByKey(key, Money(amount, currency))
                for key, amount in sorted(sums.items(), key=lambda kv: (-kv[1], kv[0]))
                if amount != 0
            )

        return PeriodTotals(
            start=start,
            end=end,
            spending=Money(sum(spending_by_category.values()), currency),
            income=Money(sum(income_by_category.values()), currency),
            by_category=ranked(spending_by_category),
            by_person=ranked(spending_by_person),
            income_by_category=ranked(income_by_category),
        )

    async def category_spending(
        self, household_id: int, start: date, end: date, *, currency: str
    ) -> dict[int | None, Money]:
        rows = await self._connection.fetch(
            _CATEGORY_TOTALS
            + " AND a.type = 'expense' GROUP BY a.type, d.account_id, d.author_telegram_id",
            household_id,
            start,
            end,
            currency,
        )
        spent: dict[int | None, Money] = {None: Money.zero(currency)}
        for row in rows:
            amount = Money(int(row["debit_minus_credit"]), currency)
            spent[row["account_id"]] = spent.get(row["account_id"], Money.zero(currency)) + amount
            spent[None] = spent[None] + amount
        return spent

    async def daily_spending(
        self,
        household_id: int,
        start: date,
        end: date,
        *,
        currency: str,
        author_telegram_id: int | None = None,
    ) -> dict[date, Money]:
        # The same trigger-kept day totals as the period's, so a year is at most 366 rows.
        rows = await self._connection.fetch(
            """
            SELECT d.booked_on, sum(d.debit_minus_credit_minor) AS spent
              FROM category_day_totals d
              JOIN accounts a ON a.id = d.account_id
             WHERE d.household_id = $1 AND d.booked_on >= $2 AND d.booked_on < $3
               AND d.currency = $4 AND a.type = 'expense'
               AND ($5::bigint IS NULL OR d.author_telegram_id = $5)
             GROUP BY d.booked_on
            HAVING sum(d.debit_minus_credit_minor) <> 0
             ORDER BY d.booked_on
            """,
            household_id,
            start,
            end,
            currency,
            author_telegram_id,
        )
        return {row["booked_on"]: Money(int(row["spent"]), currency) for row in rows}

    async def foreign_parts(
        self,
        household_id: int,
        start: date,
        end: date,
        *,
        author_telegram_id: int | None = None,
    ) -> dict[int, tuple[Money, ...]]:
        # The trigger-kept foreign totals (migration 0007), like the category day totals.
        rows = await self._connection.fetch(
            """
            SELECT account_id, currency, sum(amount_minor) AS amount_minor
              FROM category_day_foreign_totals
             WHERE household_id = $1 AND booked_on >= $2 AND booked_on < $3
               AND ($4::bigint IS NULL OR author_telegram_id = $4)
             GROUP BY account_id, currency
            HAVING sum(amount_minor) <> 0
             ORDER BY account_id, currency
            """,
            household_id,
            start,
            end,
            author_telegram_id,
        )
        parts: dict[int, tuple[Money, ...]] = {}
        for row in rows:
            amount = Money(int(row["amount_minor"]), row["currency"])
            parts[row["account_id"]] = (*parts.get(row["account_id"], ()), amount)
        return parts

    async def balances(self, household_id: int) -> list[AccountBalance]:
        rows = await self._connection.fetch(
            """
            SELECT a.id, a.household_id, a.type, a.name, a.currency, a.owner_telegram_id, a.code,
                   a.archived_at IS NOT NULL AS archived, b.balance_minor
              FROM accounts a JOIN account_balances b ON b.account_id = a.id
             WHERE a.household_id = $1 AND a.type IN ('asset', 'liability')
             ORDER BY a.owner_telegram_id NULLS LAST, a.id
            """,
            household_id,
        )
        result = []
        for row in rows:
            account = _account(row)
            natural = account.type.normal_sign * int(row["balance_minor"])
            result.append(AccountBalance(account, Money(natural, account.currency)))
        return result

    async def last_transactions(
        self, household_id: int, limit: int, *, author_telegram_id: int | None = None
    ) -> list[TransactionLine]:
        rows = await self._connection.fetch(
            """
            SELECT t.number, t.kind, t.booked_on, t.author_telegram_id, t.note, t.tags,
                   t.voided_by_transaction_id IS NOT NULL AS voided,
                   sum(p.amount_minor) FILTER (WHERE p.direction = 'debit') AS amount_minor,
                   min(p.currency) FILTER (WHERE p.direction = 'debit') AS currency,
                   min(p.account_id) FILTER (WHERE p.direction = 'debit') AS debit_account_id,
                   min(p.account_id) FILTER (WHERE p.direction = 'credit') AS credit_account_id,
                   c.from_amount_minor, c.from_currency, c.to_amount_minor, c.to_currency
              FROM (SELECT * FROM transactions
                     WHERE household_id = $1 AND kind <> 'reversal'
                       AND voided_by_transaction_id IS NULL
                       AND ($3::bigint IS NULL OR author_telegram_id = $3)
                     ORDER BY number DESC LIMIT $2) t
              JOIN postings p ON p.transaction_id = t.id
              -- the conversion accounts' legs only carry money across currencies
              JOIN accounts a ON a.id = p.account_id
                             AND (a.code IS NULL OR a.code NOT LIKE 'conversion:%')
              LEFT JOIN conversions c ON c.transaction_id = t.id
             GROUP BY t.number, t.kind, t.booked_on, t.author_telegram_id, t.note, t.tags,
                      t.voided_by_transaction_id, c.transaction_id
             ORDER BY t.number DESC
            """,
            household_id,
            limit,
            author_telegram_id,
        )
        return [
            TransactionLine(
                number=row["number"],
                kind=row["kind"],
                booked_on=row["booked_on"],
                # a conversion's size is what it came to (the base amount, what arrived)
                amount=Money(int(row["amount_minor"]), row["currency"])
                if row["from_currency"] is None
                else Money(int(row["to_amount_minor"]), row["to_currency"]),
                author_telegram_id=row["author_telegram_id"],
                debit_account_id=row["debit_account_id"],
                credit_account_id=row["credit_account_id"],
                note=row["note"],
                tags=tuple(row["tags"]),
                voided=row["voided"],
                converted_from=None
                if row["from_currency"] is None
                else Money(int(row["from_amount_minor"]), row["from_currency"]),
            )
            for row in rows
        ]

    async def share_facts(self, household_id: int, *, currency: str) -> ShareFacts:
        paid = await self._connection.fetch(_SHARED_PAID, household_id, list(PERSONAL_TAGS))
        transfers = await self._connection.fetch(_PERSON_TRANSFERS, household_id)
        last = await self._connection.fetchval(
            "SELECT last_transaction_number FROM households WHERE id = $1", household_id
        )
        return ShareFacts(
            paid=tuple(
                AmountByKey(row["person"], Money(int(row["amount_minor"]), currency))
                for row in sorted(paid, key=lambda row: row["person"])
            ),
            transfers=tuple(
                PersonTransfer(
                    from_telegram_id=row["from_person"],
                    to_telegram_id=row["to_person"],
                    sent=Money(row["sent_minor"], row["sent_currency"]),
                    received=Money(row["received_minor"], row["received_currency"]),
                    booked_on=row["booked_on"],
                )
                for row in transfers
            ),
            last_number=int(last or 0),
        )
