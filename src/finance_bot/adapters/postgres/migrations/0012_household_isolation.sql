-- Each household's rows apart, enforced by PostgreSQL (SPEC §14, docs/adr/0021).
--
-- A unit of work binds one household for its database transaction:
--     SELECT set_config('finance_bot.household', '42', true)
-- and every table holding a household's data shows and takes only that household's rows.
-- Unbound, nothing is visible and nothing can be written. The bot's role
-- (finance_bot_app) is held to that. The owner (migrations, restores, the SECURITY DEFINER
-- functions below) and the dump role (backups, read-only) must see every household's rows:
-- each has its own policy saying so on every table, rather than the BYPASSRLS attribute,
-- which belongs to the whole server and which an older finance-bot's role setup on the
-- same server would take away again.

DO $$
BEGIN
    IF (SELECT count(*) FROM pg_roles
         WHERE rolname IN ('finance_bot_owner', 'finance_bot_dump')) < 2 THEN
        RAISE EXCEPTION 'migration 0012 names the roles finance_bot_owner and finance_bot_dump: '
            'run `finance-bot setup-roles` first (docs/runbook.md)';
    END IF;
END $$;

-- The household bound to the current transaction, NULL when none is. Inlined into the
-- policies; the setting is custom, so anyone may set it: the binding guards against a bug
-- in the application, not against a process that runs code of an attacker's choosing.
CREATE FUNCTION current_household() RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT NULLIF(current_setting('finance_bot.household', true), '')::bigint $$;

-- A conversion carries its household: it is written in the same statement as its
-- transaction, which a policy looking the transaction up would not yet see; and every key
-- should hold the household id (a distributed database keeps a household's rows together).
-- The trigger that already finds the transaction fills it in.
ALTER TABLE conversions ADD COLUMN household_id bigint;
ALTER TABLE conversions DISABLE TRIGGER conversions_append_only;
UPDATE conversions c SET household_id = t.household_id FROM transactions t
 WHERE t.id = c.transaction_id;
ALTER TABLE conversions ENABLE TRIGGER conversions_append_only;
ALTER TABLE conversions ALTER COLUMN household_id SET NOT NULL;
ALTER TABLE transactions ADD CONSTRAINT transactions_id_household_uq UNIQUE (id, household_id);
ALTER TABLE conversions ADD CONSTRAINT conversions_transaction_household_fk
    FOREIGN KEY (transaction_id, household_id) REFERENCES transactions (id, household_id);

CREATE OR REPLACE FUNCTION ledger_conversion_with_transaction() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    owner_household bigint;
BEGIN
    SELECT household_id INTO owner_household FROM transactions
     WHERE id = NEW.transaction_id AND xmin = pg_current_xact_id()::xid;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the conversion of transaction % can only be written with it',
            NEW.transaction_id USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.household_id IS DISTINCT FROM owner_household AND NEW.household_id IS NOT NULL THEN
        RAISE EXCEPTION 'the conversion of transaction % belongs to its household',
            NEW.transaction_id USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    NEW.household_id := owner_household;
    RETURN NEW;
END $$;

-- The policies. One per table, for every command: a row is seen, changed and written only
-- in its own household. Tables with a household_id compare it; the others reach it through
-- the row they hang on (a posting or a balance through its account, which is written
-- before them; an occurrence through its rule; a digest row through its member).
DO $$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY[
        'members', 'accounts', 'category_aliases', 'transactions', 'category_day_totals',
        'budgets', 'budget_alerts', 'exchange_rates', 'category_day_foreign_totals',
        'personal_categories', 'member_shares', 'recurring_rules', 'conversions'
    ] LOOP
        EXECUTE format(
            'CREATE POLICY household_only ON %I USING (household_id = current_household())',
            name);
    END LOOP;
END $$;
CREATE POLICY household_only ON households USING (id = current_household());
CREATE POLICY household_only ON postings USING (EXISTS (
    SELECT 1 FROM accounts a
     WHERE a.id = postings.account_id AND a.household_id = current_household()));
CREATE POLICY household_only ON account_balances USING (EXISTS (
    SELECT 1 FROM accounts a
     WHERE a.id = account_balances.account_id AND a.household_id = current_household()));
CREATE POLICY household_only ON recurring_occurrences USING (EXISTS (
    SELECT 1 FROM recurring_rules r
     WHERE r.id = recurring_occurrences.rule_id AND r.household_id = current_household()));
CREATE POLICY household_only ON digest_settings USING (EXISTS (
    SELECT 1 FROM members m
     WHERE m.telegram_id = digest_settings.telegram_id
       AND m.household_id = current_household()));
CREATE POLICY household_only ON digests_sent USING (EXISTS (
    SELECT 1 FROM members m
     WHERE m.telegram_id = digests_sent.telegram_id AND m.household_id = current_household()));

DO $$
DECLARE
    name text;
BEGIN
    FOR name IN SELECT tablename FROM pg_policies
                 WHERE schemaname = 'public' AND policyname = 'household_only' LOOP
        EXECUTE format('CREATE POLICY owner_all ON %I TO finance_bot_owner'
                       ' USING (true) WITH CHECK (true)', name);
        EXECUTE format('CREATE POLICY dump_reads ON %I FOR SELECT TO finance_bot_dump'
                       ' USING (true)', name);
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', name);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', name);
    END LOOP;
END $$;

-- The ways across households, each as narrow as its caller's need: SECURITY DEFINER (the
-- owner's policy shows it every row), returning ids or counts, never a name, an amount or
-- a note.

-- Which household a person belongs to: what binds a person's unit of work.
CREATE FUNCTION member_household(person bigint) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$ SELECT household_id FROM members WHERE telegram_id = person $$;

-- The first household, which whitelisted people join (SIGNUP=whitelist).
CREATE FUNCTION first_household() RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$ SELECT min(id) FROM households $$;

-- Every household: the official rates feed stores each household's rates, the ledger
-- check checks each household.
CREATE FUNCTION household_ids() RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$ SELECT id FROM households ORDER BY id $$;

-- The scheduler's work, found without reading anyone's rules, notices or settings.
CREATE FUNCTION households_with_live_rules() RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$ SELECT DISTINCT household_id FROM recurring_rules WHERE stopped_at IS NULL ORDER BY 1 $$;

CREATE FUNCTION households_with_unsent_notices() RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT DISTINCT r.household_id
      FROM recurring_occurrences o JOIN recurring_rules r ON r.id = o.rule_id
     WHERE o.notified_at IS NULL
     ORDER BY 1
$$;

CREATE FUNCTION households_with_digests() RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT DISTINCT m.household_id
      FROM digest_settings d JOIN members m ON m.telegram_id = d.telegram_id
     ORDER BY 1
$$;

-- `finance-bot households`: counts and times, no amounts, no names (SPEC §14).
CREATE FUNCTION household_summaries()
RETURNS TABLE (id bigint, members bigint, entries bigint, last_activity timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT h.id,
           (SELECT count(*) FROM members m WHERE m.household_id = h.id),
           (SELECT count(*) FROM transactions t
             WHERE t.household_id = h.id AND t.kind <> 'reversal'),
           GREATEST(h.created_at,
                    (SELECT max(created_at) FROM members m WHERE m.household_id = h.id),
                    (SELECT max(created_at) FROM transactions t WHERE t.household_id = h.id))
      FROM households h
     ORDER BY h.id
$$;
