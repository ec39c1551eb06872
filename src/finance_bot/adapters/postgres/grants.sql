-- Who may do what (docs/adr/0009). Applied by the migration runner, as the owner role,
-- after every run, in the same transaction as the REVOKEs that start it: so each role holds
-- exactly what is written here, on tables of every migration, old and new, and a grant
-- made by hand does not outlive the next start. Idempotent.
--
-- A new table is readable by the dump role at once (SELECT ON ALL TABLES below); the bot
-- gets nothing on it until it is named here (tests/integration/test_roles.py fails until
-- every table has a decision).

REVOKE ALL ON ALL TABLES IN SCHEMA public, reporting
    FROM PUBLIC, finance_bot_app, finance_bot_dump, finance_bot_reader;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public, reporting
    FROM PUBLIC, finance_bot_app, finance_bot_dump, finance_bot_reader;
-- Functions are executable by everyone unless revoked; the ledger's are the bot's alone.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public, reporting
    FROM PUBLIC, finance_bot_app, finance_bot_dump, finance_bot_reader;
REVOKE ALL ON SCHEMA public, reporting
    FROM PUBLIC, finance_bot_app, finance_bot_dump, finance_bot_reader;

-- The bot. Reads the ledger; appends to it; changes only the columns it must.
-- (budget_alerts: an INSERT ... ON CONFLICT reads the row it conflicts with.)
GRANT USAGE ON SCHEMA public TO finance_bot_app;
GRANT SELECT ON
    households, members, accounts, category_aliases, account_balances, transactions,
    postings, idempotency_keys, category_day_totals, budgets, budget_alerts, backup_runs,
    currencies, conversions, exchange_rates, category_day_foreign_totals,
    personal_categories, member_shares, recurring_rules, recurring_occurrences, invites,
    schema_migrations  -- to refuse to run on a schema nobody has migrated
TO finance_bot_app;
GRANT INSERT ON
    households, members, accounts, category_aliases, transactions, postings,
    idempotency_keys, budgets, budget_alerts, conversions, exchange_rates,
    personal_categories, member_shares, recurring_rules, recurring_occurrences, invites
TO finance_bot_app;
GRANT UPDATE (last_transaction_number) ON households TO finance_bot_app;
-- /settings (docs/adr/0022): the currency only while nothing is recorded in it.
GRANT UPDATE (timezone, language, currency) ON households TO finance_bot_app;
GRANT UPDATE (language, display_name, telegram_language, default_account_id, left_at)
    ON members TO finance_bot_app;
GRANT UPDATE (name, name_key, archived_at, currency) ON accounts TO finance_bot_app;
-- An invitation is made, then used once through redeem_invite (migration 0013), which
-- alone marks it; never deleted (docs/adr/0022).
-- The void link, set once (the trigger transactions_void_link_only refuses the rest).
GRANT UPDATE (voided_by_transaction_id) ON transactions TO finance_bot_app;
GRANT UPDATE (result) ON idempotency_keys TO finance_bot_app;
GRANT UPDATE (amount_minor, currency, updated_at) ON budgets TO finance_bot_app;
-- A rule is stopped, never deleted; an occurrence only ever learns that it was announced.
GRANT UPDATE (stopped_at) ON recurring_rules TO finance_bot_app;
GRANT UPDATE (notified_at) ON recurring_occurrences TO finance_bot_app;
-- /shared unmarks a category; /split replaces the household's shares (docs/adr/0015).
GRANT DELETE ON category_aliases, budgets, personal_categories, member_shares
    TO finance_bot_app;
-- Digests (docs/adr/0017): a person's setting is replaced or deleted; a claim is marked
-- sent or refused, or given back (deleted) when Telegram said it took nothing.
GRANT SELECT, INSERT, DELETE ON digest_settings, digests_sent TO finance_bot_app;
GRANT UPDATE (kind, send_at, since) ON digest_settings TO finance_bot_app;
GRANT UPDATE (state, finished_at) ON digests_sent TO finance_bot_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO finance_bot_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO finance_bot_app;
-- But no trigger function. A trigger fires its function whoever wrote the row, and EXECUTE
-- is checked only when a trigger is made: held by the bot's role, it let that role put the
-- ledger's SECURITY DEFINER trigger functions on a temporary table of its own and fire them
-- as the owner with rows of its choosing (docs/adr/0030). The ledger's own triggers fire
-- as before.
DO $$
DECLARE
    trigger_function regprocedure;
BEGIN
    FOR trigger_function IN
        SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'public' AND p.prorettype = 'trigger'::regtype
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM finance_bot_app', trigger_function);
    END LOOP;
END $$;

-- Backups: pg_dump reads every table, view and sequence; the job records its run.
GRANT USAGE ON SCHEMA public, reporting TO finance_bot_dump;
GRANT SELECT ON ALL TABLES IN SCHEMA public, reporting TO finance_bot_dump;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA public, reporting TO finance_bot_dump;
GRANT INSERT ON backup_runs TO finance_bot_dump;

-- Grafana: the reporting views, nothing else (migration 0003 made the same grants; they
-- are repeated here so that a restore, which carries no privileges, gets them back).
GRANT USAGE ON SCHEMA reporting TO finance_bot_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO finance_bot_reader;
