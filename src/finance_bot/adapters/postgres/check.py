"""`finance-bot check`: every ledger invariant re-verified from the rows themselves.

The triggers refuse bad writes as they happen; this catches what got past them anyway
(triggers disabled by hand, a restore of a damaged dump, a bug in a migration).
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.detail}"


# rule name -> a query returning one text column per offending row
_RULES: dict[str, str] = {
    "transaction_unbalanced": """
        SELECT t.id::text || ' (' || p.currency || ' off by ' || sum(
                   CASE p.direction WHEN 'debit' THEN p.amount_minor ELSE -p.amount_minor END
               ) || ')'
          FROM transactions t JOIN postings p ON p.transaction_id = t.id
         GROUP BY t.id, p.currency
        HAVING sum(CASE p.direction WHEN 'debit' THEN p.amount_minor ELSE -p.amount_minor END) <> 0
    """,
    "transaction_has_fewer_than_two_postings": """
        SELECT t.id::text || ' (' || count(p.id) || ' postings)'
          FROM transactions t LEFT JOIN postings p ON p.transaction_id = t.id
         GROUP BY t.id HAVING count(p.id) < 2
    """,
    # Two currencies only as a stored conversion between exactly those two.
    "transaction_mixes_currencies": """
        SELECT p.transaction_id::text FROM postings p
          LEFT JOIN conversions c ON c.transaction_id = p.transaction_id
         GROUP BY p.transaction_id, c.from_currency, c.to_currency
        HAVING count(DISTINCT p.currency) > 2
            OR (count(DISTINCT p.currency) = 2 AND (c.from_currency IS NULL
                OR NOT bool_and(p.currency IN (c.from_currency, c.to_currency))))
    """,
    "conversion_not_carried_out": """
        SELECT c.transaction_id::text FROM conversions c
         WHERE NOT COALESCE(ledger_conversion_fits(c), false)
    """,
    "conversion_rate_does_not_fit": """
        SELECT c.transaction_id::text || ' (' || c.from_amount_minor || ' ' || c.from_currency
               || ' at ' || c.rate || ' is not ' || c.to_amount_minor || ' ' || c.to_currency
               || ')'
          FROM conversions c
         WHERE NOT COALESCE(ledger_conversion_rate_fits(c), false)
    """,
    "conversion_without_transaction": """
        SELECT c.transaction_id::text FROM conversions c
         WHERE NOT EXISTS (SELECT 1 FROM transactions t WHERE t.id = c.transaction_id)
    """,
    "reversal_conversion_differs": """
        SELECT r.id::text FROM transactions r
         WHERE r.voids_transaction_id IS NOT NULL
           AND NOT ledger_same_conversion(r.id, r.voids_transaction_id)
    """,
    "category_not_in_base_currency": """
        SELECT a.id::text || ' (' || a.currency || ', household ' || h.currency || ')'
          FROM accounts a JOIN households h ON h.id = a.household_id
         WHERE a.type IN ('income', 'expense') AND a.currency <> h.currency
    """,
    "posting_amount_not_positive": """
        SELECT id::text || ' (' || amount_minor || ')' FROM postings WHERE amount_minor <= 0
    """,
    "posting_currency_differs_from_account": """
        SELECT p.id::text FROM postings p JOIN accounts a ON a.id = p.account_id
         WHERE a.currency <> p.currency
    """,
    "posting_without_transaction": """
        SELECT p.id::text FROM postings p
         WHERE NOT EXISTS (SELECT 1 FROM transactions t WHERE t.id = p.transaction_id)
    """,
    "posting_without_account": """
        SELECT p.id::text FROM postings p
         WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = p.account_id)
    """,
    "posting_to_other_household": """
        SELECT p.id::text FROM postings p
          JOIN transactions t ON t.id = p.transaction_id
          JOIN accounts a ON a.id = p.account_id
         WHERE a.household_id <> t.household_id
    """,
    "cached_balance_differs_from_postings": """
        SELECT a.id::text || ' (cached ' || COALESCE(b.balance_minor::text, 'missing') ||
               ', postings ' || COALESCE(s.total, 0) || ')'
          FROM accounts a
          LEFT JOIN account_balances b ON b.account_id = a.id
          LEFT JOIN (SELECT account_id,
                            sum(CASE direction WHEN 'debit' THEN amount_minor
                                               ELSE -amount_minor END) AS total
                       FROM postings GROUP BY account_id) s ON s.account_id = a.id
         WHERE b.balance_minor IS DISTINCT FROM COALESCE(s.total, 0)
    """,
    "category_totals_differ_from_postings": """
        SELECT COALESCE(k.household_id, s.household_id) || ' ' ||
               COALESCE(k.booked_on, s.booked_on) || ' account ' ||
               COALESCE(k.account_id, s.account_id) || ' (kept ' ||
               COALESCE(k.total::text, 'none') || ', postings ' ||
               COALESCE(s.total::text, 'none') || ')'
          FROM (SELECT household_id, booked_on, account_id, author_telegram_id, currency,
                       debit_minus_credit_minor AS total
                  FROM category_day_totals WHERE debit_minus_credit_minor <> 0) k
          FULL JOIN (
                SELECT t.household_id, t.booked_on, p.account_id, t.author_telegram_id,
                       p.currency,
                       sum(CASE p.direction WHEN 'debit' THEN p.amount_minor
                                            ELSE -p.amount_minor END) AS total
                  FROM transactions t
                  JOIN postings p ON p.transaction_id = t.id
                  JOIN accounts a ON a.id = p.account_id
                 WHERE a.type IN ('income', 'expense') AND t.kind <> 'reversal'
                   AND t.voided_by_transaction_id IS NULL
                 GROUP BY 1, 2, 3, 4, 5
                HAVING sum(CASE p.direction WHEN 'debit' THEN p.amount_minor
                                            ELSE -p.amount_minor END) <> 0) s
            ON (k.household_id, k.booked_on, k.account_id, k.author_telegram_id, k.currency)
             = (s.household_id, s.booked_on, s.account_id, s.author_telegram_id, s.currency)
         WHERE k.total IS DISTINCT FROM s.total
    """,
    "foreign_totals_differ_from_conversions": """
        SELECT COALESCE(k.household_id, s.household_id) || ' ' ||
               COALESCE(k.booked_on, s.booked_on) || ' account ' ||
               COALESCE(k.account_id, s.account_id) || ' ' ||
               COALESCE(k.currency, s.currency) || ' (kept ' ||
               COALESCE(k.total::text, 'none') || ', conversions ' ||
               COALESCE(s.total::text, 'none') || ')'
          FROM (SELECT household_id, booked_on, account_id, author_telegram_id, currency,
                       amount_minor AS total
                  FROM category_day_foreign_totals WHERE amount_minor <> 0) k
          FULL JOIN (
                SELECT t.household_id, t.booked_on, p.account_id, t.author_telegram_id,
                       c.from_currency AS currency, sum(c.from_amount_minor) AS total
                  FROM transactions t
                  JOIN households h ON h.id = t.household_id
                  JOIN conversions c ON c.transaction_id = t.id AND c.from_currency <> h.currency
                  JOIN postings p ON p.transaction_id = t.id
                  JOIN accounts a ON a.id = p.account_id
                 WHERE a.type IN ('income', 'expense') AND t.kind <> 'reversal'
                   AND t.voided_by_transaction_id IS NULL
                 GROUP BY 1, 2, 3, 4, 5) s
            ON (k.household_id, k.booked_on, k.account_id, k.author_telegram_id, k.currency)
             = (s.household_id, s.booked_on, s.account_id, s.author_telegram_id, s.currency)
         WHERE k.total IS DISTINCT FROM s.total
    """,
    "balance_without_account": """
        SELECT b.account_id::text FROM account_balances b
         WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = b.account_id)
    """,
    "transaction_without_household_or_author": """
        SELECT t.id::text FROM transactions t
         WHERE NOT EXISTS (SELECT 1 FROM households h WHERE h.id = t.household_id)
            OR NOT EXISTS (SELECT 1 FROM members m WHERE m.telegram_id = t.author_telegram_id
                                                      AND m.household_id = t.household_id)
    """,
    "account_without_household_or_owner": """
        SELECT a.id::text FROM accounts a
         WHERE NOT EXISTS (SELECT 1 FROM households h WHERE h.id = a.household_id)
            OR (a.owner_telegram_id IS NOT NULL AND NOT EXISTS
                (SELECT 1 FROM members m WHERE m.telegram_id = a.owner_telegram_id
                                            AND m.household_id = a.household_id))
    """,
    "reversal_not_linked_back": """
        SELECT r.id::text FROM transactions r
          LEFT JOIN transactions o ON o.id = r.voids_transaction_id
         WHERE r.voids_transaction_id IS NOT NULL
           AND o.voided_by_transaction_id IS DISTINCT FROM r.id
    """,
    "void_link_without_reversal": """
        SELECT o.id::text FROM transactions o
          LEFT JOIN transactions r ON r.id = o.voided_by_transaction_id
         WHERE o.voided_by_transaction_id IS NOT NULL
           AND r.voids_transaction_id IS DISTINCT FROM o.id
    """,
    "reversal_kind_mismatch": """
        SELECT id::text FROM transactions
         WHERE (kind = 'reversal') <> (voids_transaction_id IS NOT NULL)
            OR (kind = 'reversal' AND voided_by_transaction_id IS NOT NULL)
    """,
    "reversal_does_not_mirror_original": """
        SELECT r.id::text FROM transactions r
         WHERE r.voids_transaction_id IS NOT NULL AND EXISTS (
            (SELECT account_id, direction::text, amount_minor FROM postings
              WHERE transaction_id = r.id
             EXCEPT ALL
             SELECT account_id, CASE direction WHEN 'debit' THEN 'credit' ELSE 'debit' END,
                    amount_minor FROM postings WHERE transaction_id = r.voids_transaction_id)
            UNION ALL
            (SELECT account_id, CASE direction WHEN 'debit' THEN 'credit' ELSE 'debit' END,
                    amount_minor FROM postings WHERE transaction_id = r.voids_transaction_id
             EXCEPT ALL
             SELECT account_id, direction::text, amount_minor FROM postings
              WHERE transaction_id = r.id))
    """,
    "transaction_number_duplicated": """
        SELECT household_id || ' #' || number FROM transactions
         GROUP BY household_id, number HAVING count(*) > 1
    """,
    "transaction_number_beyond_counter": """
        SELECT t.household_id || ' #' || max(t.number) FROM transactions t
          JOIN households h ON h.id = t.household_id
         GROUP BY t.household_id, h.last_transaction_number
        HAVING max(t.number) > h.last_transaction_number
    """,
}


async def check_all(connection: asyncpg.Connection) -> list[Violation]:
    """The whole ledger: at once for a role that sees every household (the owner, whose
    check also finds rows that hang on nothing), else household by household, each in a
    snapshot bound to it (the bot's role, docs/adr/0021)."""
    async with connection.transaction(readonly=True):
        # Bound to nothing for this transaction, whatever the connection was used for.
        await connection.execute("SELECT set_config('finance_bot.household', '', true)")
        sees_all = await connection.fetchval(
            "SELECT (SELECT count(*) FROM households) = (SELECT count(*) FROM household_ids())"
        )
    if sees_all:
        return await check_ledger(connection)
    violations: list[Violation] = []
    for (household_id,) in await connection.fetch("SELECT household_ids()"):
        violations.extend(await check_ledger(connection, household=household_id))
    return violations


async def check_ledger(
    connection: asyncpg.Connection, *, limit_per_rule: int = 20, household: int | None = None
) -> list[Violation]:
    """Run every rule in one snapshot; return what is wrong (empty when all is well).
    Bound to `household`, the bot's role sees that household's rows (docs/adr/0021)."""
    violations: list[Violation] = []
    async with connection.transaction(isolation="repeatable_read", readonly=True):
        if household is not None:
            await connection.execute(
                "SELECT set_config('finance_bot.household', $1::bigint::text, true)", household
            )
        for rule, query in _RULES.items():
            rows = await connection.fetch(
                f"SELECT * FROM ({query}) AS found LIMIT {limit_per_rule}"
            )
            violations.extend(Violation(rule, row[0]) for row in rows)
    return violations


RULE_NAMES = tuple(_RULES)
