-- Several currencies (docs/adr/0014, docs/product.md §8).
--
-- Accounts may hold any ISO 4217 currency; categories stay in the household's base currency,
-- so every report and budget keeps adding up in one currency. A transaction whose postings
-- are in two currencies is a conversion: each currency balances on its own through the
-- household's conversion (trading) account of that currency, and the conversion itself —
-- both amounts and the rate — is stored beside the transaction, once, never to change.
-- Every existing entry is in its household's one currency, so nothing old changes meaning.

-- The currencies money may be kept in, with their digits after the decimal point: the ISO
-- 4217 table of the `iso4217` package (tests/integration/test_currencies.py keeps the two
-- equal; a currency ISO adds later needs a migration that inserts it).
CREATE TABLE currencies (
    code  char(3) NOT NULL,
    scale smallint NOT NULL,
    CONSTRAINT currencies_pk PRIMARY KEY (code),
    CONSTRAINT currencies_code_format CHECK (code ~ '^[A-Z]{3}$'),
    CONSTRAINT currencies_scale_known CHECK (scale BETWEEN 0 AND 4)
);
INSERT INTO currencies (code, scale) VALUES
    ('AED', 2), ('AFN', 2), ('ALL', 2), ('AMD', 2), ('AOA', 2), ('ARS', 2), ('AUD', 2),
    ('AWG', 2), ('AZN', 2), ('BAM', 2), ('BBD', 2), ('BDT', 2), ('BHD', 3), ('BIF', 0),
    ('BMD', 2), ('BND', 2), ('BOB', 2), ('BOV', 2), ('BRL', 2), ('BSD', 2), ('BTN', 2),
    ('BWP', 2), ('BYN', 2), ('BZD', 2), ('CAD', 2), ('CDF', 2), ('CHE', 2), ('CHF', 2),
    ('CHW', 2), ('CLF', 4), ('CLP', 0), ('CNY', 2), ('COP', 2), ('COU', 2), ('CRC', 2),
    ('CUP', 2), ('CVE', 2), ('CZK', 2), ('DJF', 0), ('DKK', 2), ('DOP', 2), ('DZD', 2),
    ('EGP', 2), ('ERN', 2), ('ETB', 2), ('EUR', 2), ('FJD', 2), ('FKP', 2), ('GBP', 2),
    ('GEL', 2), ('GHS', 2), ('GIP', 2), ('GMD', 2), ('GNF', 0), ('GTQ', 2), ('GYD', 2),
    ('HKD', 2), ('HNL', 2), ('HTG', 2), ('HUF', 2), ('IDR', 2), ('ILS', 2), ('INR', 2),
    ('IQD', 3), ('IRR', 2), ('ISK', 0), ('JMD', 2), ('JOD', 3), ('JPY', 0), ('KES', 2),
    ('KGS', 2), ('KHR', 2), ('KMF', 0), ('KPW', 2), ('KRW', 0), ('KWD', 3), ('KYD', 2),
    ('KZT', 2), ('LAK', 2), ('LBP', 2), ('LKR', 2), ('LRD', 2), ('LSL', 2), ('LYD', 3),
    ('MAD', 2), ('MDL', 2), ('MGA', 2), ('MKD', 2), ('MMK', 2), ('MNT', 2), ('MOP', 2),
    ('MRU', 2), ('MUR', 2), ('MVR', 2), ('MWK', 2), ('MXN', 2), ('MXV', 2), ('MYR', 2),
    ('MZN', 2), ('NAD', 2), ('NGN', 2), ('NIO', 2), ('NOK', 2), ('NPR', 2), ('NZD', 2),
    ('OMR', 3), ('PAB', 2), ('PEN', 2), ('PGK', 2), ('PHP', 2), ('PKR', 2), ('PLN', 2),
    ('PYG', 0), ('QAR', 2), ('RON', 2), ('RSD', 2), ('RUB', 2), ('RWF', 0), ('SAR', 2),
    ('SBD', 2), ('SCR', 2), ('SDG', 2), ('SEK', 2), ('SGD', 2), ('SHP', 2), ('SLE', 2),
    ('SOS', 2), ('SRD', 2), ('SSP', 2), ('STN', 2), ('SVC', 2), ('SYP', 2), ('SZL', 2),
    ('THB', 2), ('TJS', 2), ('TMT', 2), ('TND', 3), ('TOP', 2), ('TRY', 2), ('TTD', 2),
    ('TWD', 2), ('TZS', 2), ('UAH', 2), ('UGX', 0), ('USD', 2), ('USN', 2), ('UYI', 0),
    ('UYU', 2), ('UYW', 4), ('UZS', 2), ('VED', 2), ('VES', 2), ('VND', 0), ('VUV', 0),
    ('WST', 2), ('XAD', 2), ('XAF', 0), ('XCD', 2), ('XCG', 2), ('XOF', 0), ('XPF', 0),
    ('YER', 2), ('ZAR', 2), ('ZMW', 2), ('ZWG', 2);

ALTER TABLE accounts
    ADD CONSTRAINT accounts_currency_fk FOREIGN KEY (currency) REFERENCES currencies (code);
ALTER TABLE households
    ADD CONSTRAINT households_currency_fk FOREIGN KEY (currency) REFERENCES currencies (code);
ALTER TABLE budgets
    ADD CONSTRAINT budgets_currency_fk FOREIGN KEY (currency) REFERENCES currencies (code);

-- The dashboards' scale table now reads the same rows (it was a copy of the first list).
CREATE OR REPLACE VIEW reporting.currencies (currency, scale) AS
SELECT code::bpchar, scale::integer FROM currencies;

-- Categories are in the household's base currency, and a conversion account (code
-- 'conversion:<CODE>', an equity account shared by the household) is in its own currency:
-- the balance check below finds conversion legs by that code.
CREATE FUNCTION ledger_account_currency_fits() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    base char(3);
BEGIN
    SELECT currency INTO base FROM households WHERE id = NEW.household_id;
    IF NEW.type IN ('income', 'expense') AND NEW.currency IS DISTINCT FROM base THEN
        RAISE EXCEPTION 'category % must be in the household''s currency %', NEW.name, base
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.code LIKE 'conversion:%' AND (NEW.type <> 'equity'
       OR NEW.code <> 'conversion:' || NEW.currency OR NEW.owner_telegram_id IS NOT NULL) THEN
        RAISE EXCEPTION 'a conversion account is a shared equity account in its own currency'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER accounts_currency_fits BEFORE INSERT ON accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_account_currency_fits();

-- What a conversion turned into what: "from" is the side as typed (the dollars spent, the
-- dollars exchanged), "to" what it was worth or what arrived; rate = to per one from.
CREATE TABLE conversions (
    transaction_id    uuid NOT NULL,
    from_currency     char(3) NOT NULL,
    from_amount_minor bigint NOT NULL,
    to_currency       char(3) NOT NULL,
    to_amount_minor   bigint NOT NULL,
    rate              numeric NOT NULL,
    CONSTRAINT conversions_pk PRIMARY KEY (transaction_id),
    CONSTRAINT conversions_transaction_fk
        FOREIGN KEY (transaction_id) REFERENCES transactions (id),
    CONSTRAINT conversions_from_currency_fk FOREIGN KEY (from_currency) REFERENCES currencies (code),
    CONSTRAINT conversions_to_currency_fk FOREIGN KEY (to_currency) REFERENCES currencies (code),
    CONSTRAINT conversions_two_currencies CHECK (from_currency <> to_currency),
    CONSTRAINT conversions_amounts_positive CHECK (from_amount_minor > 0 AND to_amount_minor > 0),
    CONSTRAINT conversions_rate_positive CHECK (rate > 0)
);

-- A conversion is written with its transaction, in the same database transaction, and never
-- changes after.
CREATE FUNCTION ledger_conversion_with_transaction() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM transactions
                    WHERE id = NEW.transaction_id AND xmin = pg_current_xact_id()::xid) THEN
        RAISE EXCEPTION 'the conversion of transaction % can only be written with it',
            NEW.transaction_id USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER conversions_with_transaction BEFORE INSERT ON conversions
    FOR EACH ROW EXECUTE FUNCTION ledger_conversion_with_transaction();
CREATE TRIGGER conversions_append_only BEFORE UPDATE OR DELETE ON conversions
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER conversions_no_truncate BEFORE TRUNCATE ON conversions
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- The household's rates: one unit of `currency` is worth `rate` of the base currency from
-- `valid_from` on. Kept as a history (a new rate is a new row), so every conversion's rate
-- can be traced to where it came from.
CREATE TYPE rate_source AS ENUM ('manual', 'exchange', 'official');

CREATE TABLE exchange_rates (
    id                 bigint GENERATED ALWAYS AS IDENTITY,
    household_id       bigint NOT NULL,
    currency           char(3) NOT NULL,
    valid_from         date NOT NULL,
    rate               numeric NOT NULL,
    source             rate_source NOT NULL,
    author_telegram_id bigint,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT exchange_rates_pk PRIMARY KEY (id),
    CONSTRAINT exchange_rates_household_fk FOREIGN KEY (household_id) REFERENCES households (id),
    CONSTRAINT exchange_rates_currency_fk FOREIGN KEY (currency) REFERENCES currencies (code),
    CONSTRAINT exchange_rates_author_fk FOREIGN KEY (author_telegram_id, household_id)
        REFERENCES members (telegram_id, household_id),
    CONSTRAINT exchange_rates_rate_positive CHECK (rate > 0)
);
CREATE INDEX exchange_rates_lookup_ix ON exchange_rates (household_id, currency, valid_from);
-- An official rate is published once a day; fetching it again adds nothing.
CREATE UNIQUE INDEX exchange_rates_official_uq ON exchange_rates (household_id, currency, valid_from)
    WHERE source = 'official';
CREATE TRIGGER exchange_rates_append_only BEFORE UPDATE OR DELETE ON exchange_rates
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER exchange_rates_no_truncate BEFORE TRUNCATE ON exchange_rates
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- True when a conversion says what its transaction's postings do (see the check below).
CREATE FUNCTION ledger_conversion_fits(conversion conversions) RETURNS boolean
LANGUAGE sql STABLE AS $$
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
                   AS to_debits
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
             AND NOT EXISTS (SELECT 1 FROM legs WHERE currency = conversion.from_currency)
             AND to_debits = conversion.to_amount_minor
        ELSE false
    END
      FROM through
$$;

-- True when the rate turns one amount into the other, to within one minor unit of "to"
-- (the "to" amount is the "from" amount at the rate, rounded to its currency's digits).
CREATE FUNCTION ledger_conversion_rate_fits(conversion conversions) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT abs(conversion.from_amount_minor / 10::numeric ^ f.scale * conversion.rate
               - conversion.to_amount_minor / 10::numeric ^ t.scale)
           <= 1 / 10::numeric ^ t.scale
      FROM currencies f, currencies t
     WHERE f.code = conversion.from_currency AND t.code = conversion.to_currency
$$;

-- At COMMIT: at least two legs; per currency, debits = credits; at most two currencies, and
-- two only with a conversion that the postings carry out; a conversion's rate fits its
-- amounts; a reversal carries its original's conversion unchanged; void links agree in both
-- directions. Deferred, so the rows may arrive in any order within one unit of work.
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
    RETURN NULL;
END $$;

-- True when two transactions carry the same conversion, or neither carries one.
CREATE FUNCTION ledger_same_conversion(first_id uuid, second_id uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT NOT EXISTS (
        (SELECT from_currency, from_amount_minor, to_currency, to_amount_minor, rate
           FROM conversions WHERE transaction_id = first_id
         EXCEPT
         SELECT from_currency, from_amount_minor, to_currency, to_amount_minor, rate
           FROM conversions WHERE transaction_id = second_id)
        UNION ALL
        (SELECT from_currency, from_amount_minor, to_currency, to_amount_minor, rate
           FROM conversions WHERE transaction_id = second_id
         EXCEPT
         SELECT from_currency, from_amount_minor, to_currency, to_amount_minor, rate
           FROM conversions WHERE transaction_id = first_id)
    )
$$;

-- What live converted entries brought to each category in currencies other than the base
-- one, as typed, per day and author: the "(incl. 20.00 $)" of the reports, kept by triggers
-- like category_day_totals, so a month report reads a few rows instead of the month's
-- conversions. Kept at COMMIT (the conversion, its postings and its transaction are all in
-- by then, in whatever order they were written); a void takes its original back out.
CREATE TABLE category_day_foreign_totals (
    household_id       bigint NOT NULL,
    booked_on          date NOT NULL,
    account_id         bigint NOT NULL,
    author_telegram_id bigint NOT NULL,
    currency           char(3) NOT NULL,
    amount_minor       bigint NOT NULL,
    CONSTRAINT category_day_foreign_totals_pk
        PRIMARY KEY (household_id, booked_on, account_id, author_telegram_id, currency),
    CONSTRAINT category_day_foreign_totals_account_fk
        FOREIGN KEY (account_id, household_id) REFERENCES accounts (id, household_id),
    CONSTRAINT category_day_foreign_totals_author_fk FOREIGN KEY (author_telegram_id, household_id)
        REFERENCES members (telegram_id, household_id),
    CONSTRAINT category_day_foreign_totals_currency_fk
        FOREIGN KEY (currency) REFERENCES currencies (code)
);

-- Adds `sign` times the foreign side of one transaction's conversion to its categories.
CREATE FUNCTION ledger_count_foreign_part(transaction_uuid uuid, sign integer) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
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
    DO UPDATE SET amount_minor = d.amount_minor + EXCLUDED.amount_minor
$$;

CREATE FUNCTION ledger_count_conversion() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM ledger_count_foreign_part(NEW.transaction_id, 1);
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER conversions_counted AFTER INSERT ON conversions
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_count_conversion();

CREATE FUNCTION ledger_roll_out_voided_foreign() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM ledger_count_foreign_part(NEW.id, -1);
    RETURN NULL;
END $$;
CREATE TRIGGER transactions_roll_out_voided_foreign AFTER UPDATE OF voided_by_transaction_id
    ON transactions FOR EACH ROW
    WHEN (OLD.voided_by_transaction_id IS NULL AND NEW.voided_by_transaction_id IS NOT NULL)
    EXECUTE FUNCTION ledger_roll_out_voided_foreign();

-- Like the other caches, these totals change only through the triggers above.
CREATE TRIGGER category_day_foreign_totals_by_triggers_only
    BEFORE INSERT OR UPDATE ON category_day_foreign_totals
    FOR EACH ROW EXECUTE FUNCTION ledger_balance_by_postings_only();
CREATE TRIGGER category_day_foreign_totals_no_delete BEFORE DELETE ON category_day_foreign_totals
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER category_day_foreign_totals_no_truncate
    BEFORE TRUNCATE ON category_day_foreign_totals
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
