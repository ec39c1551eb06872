-- The checks and caches of several currencies (0007), rewritten in PL/pgSQL with the same
-- meaning. A LANGUAGE sql function that is not inlined — these are called from triggers, or
-- carry SECURITY DEFINER and SET — is parsed and planned again at every call, while
-- PL/pgSQL keeps its plans for the session: on a converted entry the three were most of the
-- COMMIT's cost (docs/adr/0014, "What it costs").

CREATE OR REPLACE FUNCTION ledger_count_foreign_part(transaction_uuid uuid, sign integer)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO category_day_foreign_totals AS d
        (household_id, booked_on, account_id, author_telegram_id, currency, amount_minor)
    SELECT t.household_id, t.booked_on, p.account_id, t.author_telegram_id, c.from_currency,
           sign * c.from_amount_minor
      FROM transactions t
      JOIN households h ON h.id = t.household_id
      JOIN conversions c ON c.transaction_id = t.id AND c.from_currency <> h.currency
      JOIN postings p ON p.transaction_id = t.id
      JOIN accounts a ON a.id = p.account_id AND a.type IN ('income', 'expense')
     WHERE t.id = transaction_uuid AND t.kind <> 'reversal'
    ON CONFLICT (household_id, booked_on, account_id, author_telegram_id, currency)
    DO UPDATE SET amount_minor = d.amount_minor + EXCLUDED.amount_minor;
END $$;

CREATE OR REPLACE FUNCTION ledger_conversion_fits(conversion conversions) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
    fits boolean;
BEGIN
    WITH legs AS (
        SELECT p.currency,
               CASE p.direction WHEN 'debit' THEN p.amount_minor ELSE -p.amount_minor END
                   AS signed,
               a.type = 'equity' AND a.code = 'conversion:' || p.currency AS converting
          FROM postings p JOIN accounts a ON a.id = p.account_id
         WHERE p.transaction_id = conversion.transaction_id
    ), through AS (
        SELECT COALESCE(sum(signed) FILTER (WHERE converting
                                              AND currency = conversion.from_currency), 0)
                   AS from_net,
               COALESCE(sum(signed) FILTER (WHERE converting
                                              AND currency = conversion.to_currency), 0)
                   AS to_net,
               count(DISTINCT currency) AS currencies,
               bool_and(currency IN (conversion.from_currency, conversion.to_currency))
                   AS known_currencies,
               COALESCE(sum(signed) FILTER (WHERE signed > 0
                                              AND currency = conversion.to_currency), 0)
                   AS to_debits,
               bool_or(currency = conversion.from_currency) AS has_from
          FROM legs
    )
    SELECT CASE
        -- both currencies in the postings: each passes through its conversion account,
        -- one side in, the other out, by exactly the converted amounts
        WHEN currencies = 2 THEN known_currencies
             AND abs(from_net) = conversion.from_amount_minor
             AND abs(to_net) = conversion.to_amount_minor
             AND sign(from_net) = -sign(to_net)
        -- only the "to" currency in the postings: a foreign price paid from (or into) an
        -- account in the base currency; the conversion tells what was spent, the postings
        -- what it cost
        WHEN currencies = 1 THEN known_currencies AND from_net = 0 AND to_net = 0
             AND NOT has_from
             AND to_debits = conversion.to_amount_minor
        ELSE false
    END INTO fits
      FROM through;
    RETURN fits;
END $$;

CREATE OR REPLACE FUNCTION ledger_conversion_rate_fits(conversion conversions) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
    from_scale smallint;
    to_scale   smallint;
BEGIN
    SELECT scale INTO from_scale FROM currencies WHERE code = conversion.from_currency;
    SELECT scale INTO to_scale FROM currencies WHERE code = conversion.to_currency;
    RETURN abs(conversion.from_amount_minor / 10::numeric ^ from_scale * conversion.rate
               - conversion.to_amount_minor / 10::numeric ^ to_scale)
           <= 1 / 10::numeric ^ to_scale;
END $$;
