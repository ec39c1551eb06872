-- Least privilege (docs/adr/0009). The bot's role may not write the balance cache or the
-- category totals; the triggers that keep them do it with their owner's rights. Their
-- search path is pinned, so that nothing a caller puts first (a temporary table of the
-- same name) is what they write.
ALTER FUNCTION ledger_open_balance() SECURITY DEFINER SET search_path = public, pg_temp;
ALTER FUNCTION ledger_apply_posting() SECURITY DEFINER SET search_path = public, pg_temp;
ALTER FUNCTION ledger_roll_out_voided() SECURITY DEFINER SET search_path = public, pg_temp;
