-- The foreign-currency totals change only through the ledger's triggers (migration 0007),
-- which count an entry through ledger_count_foreign_part. That helper ran with the owner's
-- rights, and the bot's role may execute every function of the schema (grants.sql): called
-- from a trigger on a temporary table of the bot's own, deep enough for the guard on the
-- totals to let it through, it added any multiple of any entry's amount to the cache.
--
-- Its callers, ledger_count_conversion and ledger_roll_out_voided_foreign, already run as
-- the owner, and a function they call runs as whoever they run as: the helper needs no
-- rights of its own. Called by the bot's role, it now has that role's rights, which do not
-- include writing the totals.
ALTER FUNCTION ledger_count_foreign_part(uuid, integer) SECURITY INVOKER;

-- The bot's role numbers entries by UPDATE of households.last_transaction_number, the one
-- privilege it needs for that. Wound back below the last entry's number, every later entry
-- of the household collided with one already numbered and was refused, for good. The
-- counter only ever goes forward: the bot adds one, `import` takes the greater.
CREATE FUNCTION ledger_number_only_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'household %: the entry number only goes forward', OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER households_number_only_forward
    BEFORE UPDATE OF last_transaction_number ON households
    FOR EACH ROW WHEN (NEW.last_transaction_number < OLD.last_transaction_number)
    EXECUTE FUNCTION ledger_number_only_forward();

-- A function without a search path of its own finds tables by its caller's, and by
-- default a session's temporary tables come first. The guards below run as the bot's role
-- when it writes: with a temporary `households` of its own it could make a category in
-- a foreign currency, with a temporary `transactions` attach a conversion to an entry long
-- after it was written. They now find only the schema's tables, as the owner's functions
-- already do. (Functions that read no table keep no path: current_household() stays an
-- SQL function the policies can inline.)
ALTER FUNCTION ledger_account_immutable_fields() SET search_path = public, pg_temp;
ALTER FUNCTION ledger_account_currency_fits() SET search_path = public, pg_temp;
ALTER FUNCTION ledger_conversion_with_transaction() SET search_path = public, pg_temp;
ALTER FUNCTION ledger_conversion_fits(conversions) SET search_path = public, pg_temp;
ALTER FUNCTION ledger_conversion_rate_fits(conversions) SET search_path = public, pg_temp;
ALTER FUNCTION ledger_mirrors(uuid, uuid) SET search_path = public, pg_temp;
ALTER FUNCTION ledger_same_conversion(uuid, uuid) SET search_path = public, pg_temp;
