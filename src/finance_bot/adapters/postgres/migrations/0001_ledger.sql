-- The ledger and its invariants, enforced by the database itself (docs/adr/0001).

CREATE TABLE households (
    id                      bigint GENERATED ALWAYS AS IDENTITY,
    last_transaction_number bigint NOT NULL DEFAULT 0,
    created_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT households_pk PRIMARY KEY (id),
    CONSTRAINT households_number_not_negative CHECK (last_transaction_number >= 0)
);

CREATE TABLE members (
    telegram_id  bigint NOT NULL,
    household_id bigint NOT NULL,
    language     text,
    display_name text,
    telegram_language text,  -- the language Telegram reports for them, when not chosen
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT members_pk PRIMARY KEY (telegram_id),
    CONSTRAINT members_household_uq UNIQUE (telegram_id, household_id),
    CONSTRAINT members_household_fk FOREIGN KEY (household_id) REFERENCES households (id),
    CONSTRAINT members_language_known CHECK (language IN ('ru', 'en'))
);

CREATE TYPE account_type AS ENUM ('asset', 'liability', 'equity', 'income', 'expense');

CREATE TABLE accounts (
    id                bigint GENERATED ALWAYS AS IDENTITY,
    household_id      bigint NOT NULL,
    type              account_type NOT NULL,
    name              text NOT NULL,
    name_key          text NOT NULL,
    code              text,
    currency          char(3) NOT NULL,
    owner_telegram_id bigint,
    archived_at       timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT accounts_pk PRIMARY KEY (id),
    CONSTRAINT accounts_id_currency_uq UNIQUE (id, currency),
    CONSTRAINT accounts_id_household_uq UNIQUE (id, household_id),
    CONSTRAINT accounts_household_fk FOREIGN KEY (household_id) REFERENCES households (id),
    -- an owner belongs to the account's household
    CONSTRAINT accounts_owner_fk FOREIGN KEY (owner_telegram_id, household_id)
        REFERENCES members (telegram_id, household_id),
    CONSTRAINT accounts_currency_format CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT accounts_name_not_blank CHECK (length(btrim(name)) > 0 AND length(name_key) > 0),
    CONSTRAINT accounts_categories_are_shared
        CHECK (type NOT IN ('income', 'expense') OR owner_telegram_id IS NULL)
);
-- One name per owner (or per household for shared accounts and categories).
CREATE UNIQUE INDEX accounts_name_uq
    ON accounts (household_id, COALESCE(owner_telegram_id, 0), name_key)
    WHERE archived_at IS NULL;
CREATE UNIQUE INDEX accounts_code_uq
    ON accounts (household_id, type, COALESCE(owner_telegram_id, 0), code)
    WHERE code IS NOT NULL;

ALTER TABLE members
    ADD COLUMN default_account_id bigint,
    ADD CONSTRAINT members_default_account_fk
        FOREIGN KEY (default_account_id, household_id) REFERENCES accounts (id, household_id)
        DEFERRABLE INITIALLY DEFERRED;

CREATE TABLE category_aliases (
    household_id bigint NOT NULL,
    alias_key    text NOT NULL,
    account_id   bigint NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT category_aliases_pk PRIMARY KEY (household_id, alias_key, account_id),
    CONSTRAINT category_aliases_household_fk FOREIGN KEY (household_id) REFERENCES households (id),
    CONSTRAINT category_aliases_account_fk
        FOREIGN KEY (account_id, household_id) REFERENCES accounts (id, household_id),
    CONSTRAINT category_aliases_not_blank CHECK (length(alias_key) > 0)
);

-- The cached balance of each account: debits minus credits, kept by a trigger on postings
-- so that no writer can forget it; `finance-bot check` recomputes it from the postings.
CREATE TABLE account_balances (
    account_id    bigint NOT NULL,
    balance_minor bigint NOT NULL DEFAULT 0,
    CONSTRAINT account_balances_pk PRIMARY KEY (account_id),
    CONSTRAINT account_balances_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id)
);

CREATE TYPE transaction_kind AS ENUM ('expense', 'income', 'transfer', 'reversal');

CREATE TABLE transactions (
    id                       uuid NOT NULL,
    household_id             bigint NOT NULL,
    number                   bigint NOT NULL,
    author_telegram_id       bigint NOT NULL,
    kind                     transaction_kind NOT NULL,
    booked_on                date NOT NULL,
    note                     text NOT NULL DEFAULT '',
    tags                     text[] NOT NULL DEFAULT '{}',
    voids_transaction_id     uuid,
    voided_by_transaction_id uuid,
    created_at               timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT transactions_pk PRIMARY KEY (id),
    CONSTRAINT transactions_number_uq UNIQUE (household_id, number),
    CONSTRAINT transactions_household_fk FOREIGN KEY (household_id) REFERENCES households (id),
    -- the author belongs to the transaction's household
    CONSTRAINT transactions_author_fk FOREIGN KEY (author_telegram_id, household_id)
        REFERENCES members (telegram_id, household_id),
    CONSTRAINT transactions_voids_fk FOREIGN KEY (voids_transaction_id) REFERENCES transactions (id),
    CONSTRAINT transactions_voided_by_fk
        FOREIGN KEY (voided_by_transaction_id) REFERENCES transactions (id) DEFERRABLE INITIALLY DEFERRED,
    -- one reversal per transaction, and each transaction voided at most once
    CONSTRAINT transactions_voids_uq UNIQUE (voids_transaction_id),
    CONSTRAINT transactions_voided_by_uq UNIQUE (voided_by_transaction_id),
    CONSTRAINT transactions_number_positive CHECK (number > 0),
    CONSTRAINT transactions_reversal_names_original
        CHECK ((kind = 'reversal') = (voids_transaction_id IS NOT NULL)),
    CONSTRAINT transactions_not_self_void
        CHECK (voids_transaction_id <> id AND voided_by_transaction_id <> id)
);
CREATE INDEX transactions_household_booked_on_ix ON transactions (household_id, booked_on);
CREATE INDEX transactions_author_ix ON transactions (author_telegram_id, number DESC);

CREATE TYPE posting_direction AS ENUM ('debit', 'credit');

CREATE TABLE postings (
    id             bigint GENERATED ALWAYS AS IDENTITY,
    transaction_id uuid NOT NULL,
    account_id     bigint NOT NULL,
    direction      posting_direction NOT NULL,
    amount_minor   bigint NOT NULL,
    currency       char(3) NOT NULL,
    CONSTRAINT postings_pk PRIMARY KEY (id),
    CONSTRAINT postings_transaction_fk FOREIGN KEY (transaction_id) REFERENCES transactions (id),
    -- the leg's currency is its account's currency
    CONSTRAINT postings_account_fk
        FOREIGN KEY (account_id, currency) REFERENCES accounts (id, currency),
    CONSTRAINT postings_amount_positive CHECK (amount_minor > 0)
);
CREATE INDEX postings_transaction_ix ON postings (transaction_id);
CREATE INDEX postings_account_ix ON postings (account_id);

CREATE TABLE idempotency_keys (
    key        text NOT NULL,
    result     jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT idempotency_keys_pk PRIMARY KEY (key)
);

-- What live transactions (neither voided nor reversals) put on each category, per day and
-- author: the read side of reports and budgets, kept by triggers like the balance cache,
-- so a month report reads a few hundred rows instead of every posting of the month.
CREATE TABLE category_day_totals (
    household_id       bigint NOT NULL,
    booked_on          date NOT NULL,
    account_id         bigint NOT NULL,
    author_telegram_id bigint NOT NULL,
    currency           char(3) NOT NULL,
    debit_minus_credit_minor bigint NOT NULL,
    CONSTRAINT category_day_totals_pk
        PRIMARY KEY (household_id, booked_on, account_id, author_telegram_id, currency),
    CONSTRAINT category_day_totals_account_fk
        FOREIGN KEY (account_id, household_id) REFERENCES accounts (id, household_id),
    CONSTRAINT category_day_totals_author_fk FOREIGN KEY (author_telegram_id, household_id)
        REFERENCES members (telegram_id, household_id)
);

CREATE TABLE budgets (
    household_id bigint NOT NULL,
    category_id  bigint,
    amount_minor bigint NOT NULL,
    currency     char(3) NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT budgets_household_fk FOREIGN KEY (household_id) REFERENCES households (id),
    CONSTRAINT budgets_category_fk
        FOREIGN KEY (category_id, household_id) REFERENCES accounts (id, household_id),
    CONSTRAINT budgets_amount_positive CHECK (amount_minor > 0)
);
-- NULL category = the household's total budget; one budget per category (or total).
CREATE UNIQUE INDEX budgets_category_uq ON budgets (household_id, COALESCE(category_id, 0));

CREATE TABLE budget_alerts (
    household_id  bigint NOT NULL,
    category_id   bigint,
    month         date NOT NULL,
    threshold_pct integer NOT NULL,
    sent_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT budget_alerts_household_fk FOREIGN KEY (household_id) REFERENCES households (id),
    CONSTRAINT budget_alerts_category_fk
        FOREIGN KEY (category_id, household_id) REFERENCES accounts (id, household_id),
    CONSTRAINT budget_alerts_threshold_known CHECK (threshold_pct IN (80, 100))
);
CREATE UNIQUE INDEX budget_alerts_once_uq
    ON budget_alerts (household_id, COALESCE(category_id, 0), month, threshold_pct);

-- ---------------------------------------------------------------------------
-- Invariants
-- ---------------------------------------------------------------------------

-- Every account has its balance row from birth, so the posting trigger can rely on it.
CREATE FUNCTION ledger_open_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO account_balances (account_id) VALUES (NEW.id);
    RETURN NEW;
END $$;
CREATE TRIGGER accounts_open_balance AFTER INSERT ON accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_open_balance();

-- An account's type and currency never change: its postings were made under them.
CREATE FUNCTION ledger_account_immutable_fields() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.type IS DISTINCT FROM OLD.type OR NEW.currency IS DISTINCT FROM OLD.currency
       OR NEW.household_id IS DISTINCT FROM OLD.household_id
       OR NEW.owner_telegram_id IS DISTINCT FROM OLD.owner_telegram_id THEN
        RAISE EXCEPTION 'account % type, currency, household and owner cannot change', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER accounts_immutable_fields BEFORE UPDATE ON accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_account_immutable_fields();

CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % is refused: the ledger is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON postings
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER transactions_no_delete BEFORE DELETE ON transactions
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER transactions_no_truncate BEFORE TRUNCATE ON transactions
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER accounts_no_delete BEFORE DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER accounts_no_truncate BEFORE TRUNCATE ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
-- The balance cache changes only through the posting trigger below (trigger depth 2).
CREATE FUNCTION ledger_balance_by_postings_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION '% changes only by posting', TG_TABLE_NAME
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER account_balances_by_postings_only BEFORE UPDATE ON account_balances
    FOR EACH ROW EXECUTE FUNCTION ledger_balance_by_postings_only();
CREATE TRIGGER account_balances_no_delete BEFORE DELETE ON account_balances
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER account_balances_no_truncate BEFORE TRUNCATE ON account_balances
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- The only change a transaction row may ever see: its void link, set once, to a
-- reversal of this very transaction, and never on a reversal.
CREATE FUNCTION ledger_transaction_void_link_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.id, NEW.household_id, NEW.number, NEW.author_telegram_id, NEW.kind, NEW.booked_on,
        NEW.note, NEW.tags, NEW.voids_transaction_id, NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.household_id, OLD.number, OLD.author_telegram_id, OLD.kind, OLD.booked_on,
        OLD.note, OLD.tags, OLD.voids_transaction_id, OLD.created_at) THEN
        RAISE EXCEPTION 'transaction % is immutable: only its void link may be set', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.voided_by_transaction_id IS NOT NULL THEN
        RAISE EXCEPTION 'transaction % is already voided', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.voided_by_transaction_id IS NULL THEN
        RETURN NEW;  -- a no-op update of an unvoided transaction changes nothing
    END IF;
    IF OLD.kind = 'reversal' THEN
        RAISE EXCEPTION 'transaction % is a reversal and cannot be voided', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER transactions_void_link_only BEFORE UPDATE ON transactions
    FOR EACH ROW EXECUTE FUNCTION ledger_transaction_void_link_only();

-- True when the reversal's legs are the original's, leg for leg, with sides swapped.
CREATE FUNCTION ledger_mirrors(reversal_id uuid, original_id uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT NOT EXISTS (
        (SELECT account_id, direction::text, amount_minor, currency FROM postings
          WHERE transaction_id = reversal_id
         EXCEPT ALL
         SELECT account_id, CASE direction WHEN 'debit' THEN 'credit' ELSE 'debit' END,
                amount_minor, currency
           FROM postings WHERE transaction_id = original_id)
        UNION ALL
        (SELECT account_id, CASE direction WHEN 'debit' THEN 'credit' ELSE 'debit' END,
                amount_minor, currency
           FROM postings WHERE transaction_id = original_id
         EXCEPT ALL
         SELECT account_id, direction::text, amount_minor, currency FROM postings
          WHERE transaction_id = reversal_id)
    )
$$;

-- At COMMIT: the transaction has at least two legs, one currency, debits = credits, and
-- its void links agree in both directions. Deferred, so the rows may arrive in any order
-- within one unit of work.
CREATE FUNCTION ledger_check_transaction() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    transaction_uuid uuid;
    leg_count        bigint;
    currency_count   bigint;
    imbalance        numeric;
    tx               transactions%ROWTYPE;
    other            transactions%ROWTYPE;
BEGIN
    transaction_uuid := NEW.id;

    SELECT * INTO tx FROM transactions WHERE id = transaction_uuid;

    SELECT count(*), count(DISTINCT currency),
           COALESCE(sum(CASE direction WHEN 'debit' THEN amount_minor ELSE -amount_minor END), 0)
      INTO leg_count, currency_count, imbalance
      FROM postings WHERE transaction_id = transaction_uuid;

    IF leg_count < 2 THEN
        RAISE EXCEPTION 'transaction % has % posting(s); at least two are needed',
            transaction_uuid, leg_count USING ERRCODE = 'check_violation';
    END IF;
    IF currency_count <> 1 THEN
        RAISE EXCEPTION 'transaction % mixes currencies', transaction_uuid
            USING ERRCODE = 'check_violation';
    END IF;
    IF imbalance <> 0 THEN
        RAISE EXCEPTION 'transaction % is unbalanced by %', transaction_uuid, imbalance
            USING ERRCODE = 'check_violation';
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

-- One check per transaction is enough: postings can only be written in the database
-- transaction that inserted (or void-linked) their transaction row, and that row's
-- deferred check runs at COMMIT, after every leg is in.
CREATE CONSTRAINT TRIGGER transactions_well_formed AFTER INSERT OR UPDATE ON transactions
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_transaction();

-- A posting joins its transaction in the database transaction that created it, never
-- later, and belongs to an account of the transaction's household. It then moves the
-- account's cached balance.
CREATE FUNCTION ledger_apply_posting() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tx           transactions%ROWTYPE;
    account_kind account_type;
    signed       bigint := CASE NEW.direction WHEN 'debit' THEN NEW.amount_minor
                                              ELSE -NEW.amount_minor END;
BEGIN
    SELECT * INTO tx FROM transactions
     WHERE id = NEW.transaction_id AND xmin = pg_current_xact_id()::xid;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'postings of transaction % can only be written with it',
            NEW.transaction_id USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    SELECT type INTO account_kind FROM accounts
     WHERE id = NEW.account_id AND household_id = tx.household_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'posting to account % of another household', NEW.account_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    UPDATE account_balances SET balance_minor = balance_minor + signed
     WHERE account_id = NEW.account_id;
    IF account_kind IN ('income', 'expense') AND tx.kind <> 'reversal' THEN
        INSERT INTO category_day_totals AS d
            (household_id, booked_on, account_id, author_telegram_id, currency,
             debit_minus_credit_minor)
        VALUES (tx.household_id, tx.booked_on, NEW.account_id, tx.author_telegram_id,
                NEW.currency, signed)
        ON CONFLICT (household_id, booked_on, account_id, author_telegram_id, currency)
        DO UPDATE SET debit_minus_credit_minor =
            d.debit_minus_credit_minor + EXCLUDED.debit_minus_credit_minor;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER postings_apply AFTER INSERT ON postings
    FOR EACH ROW EXECUTE FUNCTION ledger_apply_posting();

-- A voided transaction leaves the category totals (its reversal never entered them).
CREATE FUNCTION ledger_roll_out_voided() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO category_day_totals AS d
        (household_id, booked_on, account_id, author_telegram_id, currency,
         debit_minus_credit_minor)
    SELECT NEW.household_id, NEW.booked_on, p.account_id, NEW.author_telegram_id, p.currency,
           -sum(CASE p.direction WHEN 'debit' THEN p.amount_minor ELSE -p.amount_minor END)
      FROM postings p JOIN accounts a ON a.id = p.account_id
     WHERE p.transaction_id = NEW.id AND a.type IN ('income', 'expense')
     GROUP BY p.account_id, p.currency
    ON CONFLICT (household_id, booked_on, account_id, author_telegram_id, currency)
    DO UPDATE SET debit_minus_credit_minor =
        d.debit_minus_credit_minor + EXCLUDED.debit_minus_credit_minor;
    RETURN NULL;
END $$;
CREATE TRIGGER transactions_roll_out_voided AFTER UPDATE OF voided_by_transaction_id
    ON transactions FOR EACH ROW
    WHEN (OLD.voided_by_transaction_id IS NULL AND NEW.voided_by_transaction_id IS NOT NULL)
    EXECUTE FUNCTION ledger_roll_out_voided();

-- Like the balance cache, the totals change only through the triggers above.
CREATE TRIGGER category_day_totals_by_postings_only
    BEFORE INSERT OR UPDATE ON category_day_totals
    FOR EACH ROW EXECUTE FUNCTION ledger_balance_by_postings_only();
CREATE TRIGGER category_day_totals_no_delete BEFORE DELETE ON category_day_totals
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER category_day_totals_no_truncate BEFORE TRUNCATE ON category_day_totals
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
