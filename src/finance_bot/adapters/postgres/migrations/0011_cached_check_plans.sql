-- The checks and caches of several currencies (0007), rewritten in PL/pgSQL with the same
-- meaning. A LANGUAGE sql function that is not inlined — these are called from triggers, or
-- carry SECURITY DEFINER and SET — is parsed and planned again at every call, while
-- PL/pgSQL keeps its plans for the session: on a converted entry the three were most of the
-- COMMIT's cost (docs/adr/0014, "What it costs"). And the COMMIT check counts a converted
-- entry's foreign part itself, instead of a second deferred trigger on conversions.

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

CREATE OR REPLACE FUNCTION ledger_check_transaction() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    transaction_uuid uuid;
    leg_count        bigint;
    currency_count   bigint;
    unbalanced       text;
    tx               transactions%ROWTYPE;
    other            transactions%ROWTYPE;
    conversion       conversions%ROWTYPE;
    has_conversion   boolean;
BEGIN
    transaction_uuid := NEW.id;

    SELECT * INTO tx FROM transactions WHERE id = transaction_uuid;

    -- One pass over the legs, per currency: how many, and by how much each is off.
    SELECT COALESCE(sum(legs), 0), count(*),
           string_agg(currency || ' by ' || imbalance, ', ' ORDER BY currency)
               FILTER (WHERE imbalance <> 0)
      INTO leg_count, currency_count, unbalanced
      FROM (SELECT currency, count(*) AS legs,
                   sum(CASE direction WHEN 'debit' THEN amount_minor ELSE -amount_minor END)
                       AS imbalance
              FROM postings WHERE transaction_id = transaction_uuid
             GROUP BY currency) per_currency;
    IF leg_count < 2 THEN
        RAISE EXCEPTION 'transaction % has % posting(s); at least two are needed',
            transaction_uuid, leg_count USING ERRCODE = 'check_violation';
    END IF;
    IF unbalanced IS NOT NULL THEN
        RAISE EXCEPTION 'transaction % is unbalanced in %', transaction_uuid, unbalanced
            USING ERRCODE = 'check_violation';
    END IF;

    SELECT * INTO conversion FROM conversions WHERE transaction_id = transaction_uuid;
    has_conversion := FOUND;
    IF currency_count > 2 THEN
        RAISE EXCEPTION 'transaction % mixes more than two currencies', transaction_uuid
            USING ERRCODE = 'check_violation';
    END IF;
    IF currency_count = 2 AND NOT has_conversion THEN
        RAISE EXCEPTION 'transaction % mixes currencies without a conversion', transaction_uuid
            USING ERRCODE = 'check_violation';
    END IF;
    IF has_conversion THEN
        IF NOT ledger_conversion_fits(conversion) THEN
            RAISE EXCEPTION 'transaction % does not carry out its conversion', transaction_uuid
                USING ERRCODE = 'check_violation';
        END IF;
        IF NOT ledger_conversion_rate_fits(conversion) THEN
            RAISE EXCEPTION 'the rate of transaction % does not turn % % into % %',
                transaction_uuid, conversion.from_amount_minor, conversion.from_currency,
                conversion.to_amount_minor, conversion.to_currency
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;

    IF tx.voids_transaction_id IS NOT NULL THEN
        SELECT * INTO other FROM transactions WHERE id = tx.voids_transaction_id;
        IF other.voided_by_transaction_id IS DISTINCT FROM tx.id THEN
            RAISE EXCEPTION 'reversal % is not linked from the transaction it voids', tx.id
                USING ERRCODE = 'check_violation';
        END IF;
        IF other.kind = 'reversal' OR other.household_id <> tx.household_id THEN
            RAISE EXCEPTION 'reversal % voids a transaction it may not void', tx.id
                USING ERRCODE = 'check_violation';
        END IF;
        IF NOT ledger_mirrors(tx.id, other.id) THEN
            RAISE EXCEPTION 'reversal % does not mirror transaction %', tx.id, other.id
                USING ERRCODE = 'check_violation';
        END IF;
        IF NOT ledger_same_conversion(tx.id, other.id) THEN
            RAISE EXCEPTION 'reversal % does not carry the conversion of transaction %',
                tx.id, other.id USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    IF tx.voided_by_transaction_id IS NOT NULL THEN
        SELECT * INTO other FROM transactions WHERE id = tx.voided_by_transaction_id;
        IF other.voids_transaction_id IS DISTINCT FROM tx.id THEN
            RAISE EXCEPTION 'transaction % is marked voided by % which is not its reversal',
                tx.id, tx.voided_by_transaction_id USING ERRCODE = 'check_violation';
        END IF;
        IF NOT ledger_mirrors(other.id, tx.id) THEN
            RAISE EXCEPTION 'reversal % does not mirror transaction %', other.id, tx.id
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;

    -- The foreign part of a converted entry goes into the reports' cache here, as the entry
    -- is checked, rather than by a trigger of its own on conversions: one deferred event
    -- per entry, not two (a void takes the part back out: transactions_roll_out_voided_foreign).
    IF TG_OP = 'INSERT' AND has_conversion THEN
        PERFORM ledger_count_foreign_part(transaction_uuid, 1);
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER conversions_counted ON conversions;
DROP FUNCTION ledger_count_conversion();
