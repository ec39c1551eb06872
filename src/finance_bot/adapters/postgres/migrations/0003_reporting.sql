-- Reporting views for the Grafana dashboards, and the read-only role that may read them and
-- nothing else (docs/adr/0007-observability.md).
--
-- The views live in their own schema, `reporting`. The role `finance_bot_reader` gets USAGE
-- on that schema and SELECT on these views only: no privilege on any base table. A view
-- reads its tables with its owner's rights (the migrating user), so the reader sees what
-- the views show and nothing more. Grafana logs in as a LOGIN role that is a member of
-- finance_bot_reader (deploy/postgres/initdb/10-grafana-reader.sh); this migration never
-- makes a role that can log in and never handles a password.
--
-- Amounts come twice: `*_minor`, exact integers of minor units, and the same in major units
-- as numeric (exact too), for display. Days and months are booking dates: the household's
-- own calendar (BOT_TIMEZONE), as chosen when each line was recorded.

CREATE SCHEMA reporting;
COMMENT ON SCHEMA reporting IS
    'Read-only reporting views for dashboards; the role finance_bot_reader may read only these.';

-- Digits after the decimal point per currency: the same table as CURRENCY_SCALES in
-- finance_bot/domain/money.py (tests/deploy/test_reporting.py keeps the two equal; a new
-- currency there needs a migration that replaces this view).
CREATE VIEW reporting.currencies (currency, scale) AS
VALUES
    ('UAH'::char(3), 2), ('USD', 2), ('EUR', 2), ('GBP', 2), ('PLN', 2), ('CZK', 2),
    ('CHF', 2), ('SEK', 2), ('NOK', 2), ('DKK', 2), ('HUF', 2), ('RON', 2), ('BGN', 2),
    ('GEL', 2), ('MDL', 2), ('KZT', 2), ('TRY', 2), ('CAD', 2), ('AUD', 2), ('ILS', 2),
    ('RUB', 2), ('BYN', 2), ('CNY', 2), ('INR', 2), ('JPY', 0), ('KRW', 0), ('ISK', 0);

-- Households, for the dashboards' household picker.
CREATE VIEW reporting.households AS
SELECT h.id AS household_id,
       'household ' || h.id AS household,
       (SELECT count(*) FROM members m WHERE m.household_id = h.id) AS members,
       h.created_at
  FROM households h;

-- What each expense and income category took or brought per month, from live transactions
-- only (voided ones and their reversals are left out, as in the bot's /month report).
-- `amount_minor` is positive for spending on an expense category and for income on an
-- income category.
CREATE VIEW reporting.monthly_category_totals AS
SELECT d.household_id,
       date_trunc('month', d.booked_on)::date AS month,
       d.account_id AS category_id,
       a.name AS category,
       a.type::text AS category_type,
       d.currency,
       (sum(d.debit_minus_credit_minor) * CASE a.type WHEN 'expense' THEN 1 ELSE -1 END)::bigint
           AS amount_minor,
       round(sum(d.debit_minus_credit_minor) * CASE a.type WHEN 'expense' THEN 1 ELSE -1 END
             / 10::numeric ^ c.scale, c.scale) AS amount
  FROM category_day_totals d
  JOIN accounts a ON a.id = d.account_id
  JOIN reporting.currencies c ON c.currency = d.currency
 WHERE a.type IN ('expense', 'income')
 GROUP BY d.household_id, date_trunc('month', d.booked_on), d.account_id, a.name, a.type,
          d.currency, c.scale
HAVING sum(d.debit_minus_credit_minor) <> 0;

-- Each budget (a category's, or the household's total when category_id is NULL) against
-- the spending of every month that has spending, and of the current month. Budgets have
-- no history: a month is measured against today's limit.
CREATE VIEW reporting.monthly_budget_use AS
WITH spent AS (
    SELECT d.household_id,
           date_trunc('month', d.booked_on)::date AS month,
           d.account_id,
           d.currency,
           sum(d.debit_minus_credit_minor)::bigint AS spent_minor
      FROM category_day_totals d
      JOIN accounts a ON a.id = d.account_id
     WHERE a.type = 'expense'
     GROUP BY d.household_id, date_trunc('month', d.booked_on), d.account_id, d.currency
), months AS (
    SELECT household_id, month FROM spent
    UNION
    SELECT household_id, date_trunc('month', current_date)::date FROM budgets
)
SELECT b.household_id,
       m.month,
       b.category_id,
       CASE WHEN b.category_id IS NULL THEN 'total' ELSE a.name END AS category,
       b.currency,
       b.amount_minor AS budget_minor,
       COALESCE(s.spent_minor, 0) AS spent_minor,
       round(b.amount_minor / 10::numeric ^ c.scale, c.scale) AS budget,
       round(COALESCE(s.spent_minor, 0) / 10::numeric ^ c.scale, c.scale) AS spent,
       round(100.0 * COALESCE(s.spent_minor, 0) / b.amount_minor, 1) AS used_pct
  FROM budgets b
  JOIN months m ON m.household_id = b.household_id
  JOIN reporting.currencies c ON c.currency = b.currency
  LEFT JOIN accounts a ON a.id = b.category_id
  LEFT JOIN LATERAL (
      SELECT sum(x.spent_minor)::bigint AS spent_minor
        FROM spent x
       WHERE x.household_id = b.household_id AND x.month = m.month
         AND x.currency = b.currency
         AND (b.category_id IS NULL OR x.account_id = b.category_id)
  ) s ON true;

-- A readable name for every asset and liability account: its name, and whose it is.
CREATE VIEW reporting.accounts AS
SELECT a.household_id,
       a.id AS account_id,
       a.name AS account,
       a.name || ' (' || COALESCE(NULLIF(m.display_name, ''), CASE
           WHEN a.owner_telegram_id IS NULL THEN 'shared' ELSE 'member' END) || ')' AS label,
       a.type::text AS account_type,
       a.currency,
       a.archived_at IS NOT NULL AS archived
  FROM accounts a
  LEFT JOIN members m ON m.telegram_id = a.owner_telegram_id
 WHERE a.type IN ('asset', 'liability');

-- The balance of every asset and liability account at the end of each day on which it
-- moved, from the postings themselves (voids and reversals included: they cancel out on
-- the day they are booked, which is the original's day). Natural sign: what an asset holds,
-- what a liability owes.
CREATE VIEW reporting.daily_balances AS
WITH daily AS (
    SELECT p.account_id,
           t.booked_on AS day,
           sum(CASE p.direction WHEN 'debit' THEN p.amount_minor ELSE -p.amount_minor END)::bigint
               AS debit_minus_credit
      FROM postings p
      JOIN transactions t ON t.id = p.transaction_id
     GROUP BY p.account_id, t.booked_on
), signed AS (
    SELECT ra.household_id, ra.account_id, ra.account, ra.label, ra.account_type,
           ra.currency, d.day,
           d.debit_minus_credit * CASE ra.account_type WHEN 'asset' THEN 1 ELSE -1 END
               AS change_minor
      FROM daily d
      JOIN reporting.accounts ra ON ra.account_id = d.account_id
)
SELECT s.household_id, s.account_id, s.account, s.label, s.account_type, s.currency, s.day,
       s.change_minor,
       (sum(s.change_minor) OVER w)::bigint AS balance_minor,
       round(sum(s.change_minor) OVER w / 10::numeric ^ c.scale, c.scale) AS balance
  FROM signed s
  JOIN reporting.currencies c ON c.currency = s.currency
WINDOW w AS (PARTITION BY s.account_id ORDER BY s.day);

-- Today's balance of every asset and liability account, from the cached balances.
CREATE VIEW reporting.current_balances AS
SELECT ra.household_id, ra.account_id, ra.account, ra.label, ra.account_type, ra.currency,
       ra.archived,
       b.balance_minor * CASE ra.account_type WHEN 'asset' THEN 1 ELSE -1 END AS balance_minor,
       round(b.balance_minor * CASE ra.account_type WHEN 'asset' THEN 1 ELSE -1 END
             / 10::numeric ^ c.scale, c.scale) AS balance
  FROM reporting.accounts ra
  JOIN account_balances b ON b.account_id = ra.account_id
  JOIN reporting.currencies c ON c.currency = ra.currency;

-- The read-only role. Roles belong to the whole server, and several databases on one server
-- may run this migration at the same moment (the test suite does): create it only if it is
-- missing, and take a concurrent creation as success.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'finance_bot_reader') THEN
        BEGIN
            CREATE ROLE finance_bot_reader NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- another database's migration created it first
        END;
    END IF;
END $$;

GRANT USAGE ON SCHEMA reporting TO finance_bot_reader;
GRANT SELECT ON
    reporting.currencies,
    reporting.households,
    reporting.monthly_category_totals,
    reporting.monthly_budget_use,
    reporting.accounts,
    reporting.daily_balances,
    reporting.current_balances
TO finance_bot_reader;
