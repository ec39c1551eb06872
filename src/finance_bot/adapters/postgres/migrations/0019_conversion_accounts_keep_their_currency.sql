-- A conversion account ('conversion:<CODE>') is in the currency its code names: the ledger
-- finds conversion legs by that code (migration 0007). Migration 0007 checked it when the
-- account was made, not when it changed, and /settings currency did change it: moving every
-- account in the old base to the new one, it moved the old base's conversion account too,
-- whose code stayed. From then on every conversion from an account in the old currency was
-- refused (its leg in that currency, on an account in another). The bot no longer moves it;
-- here the accounts it moved go back, and the database refuses such a change from now on.
--
-- Such an account holds no posting: a leg is in its account's currency (postings_account_fk)
-- and the ledger puts a leg only on the conversion account of the leg's own currency. The
-- NOT EXISTS keeps the repair from touching anything else all the same.
UPDATE accounts a SET currency = substr(a.code, 12)::char(3)
 WHERE a.code LIKE 'conversion:%'
   AND a.currency <> substr(a.code, 12)::char(3)
   AND NOT EXISTS (SELECT 1 FROM postings p WHERE p.account_id = a.id);

CREATE TRIGGER accounts_conversion_currency_fits
    BEFORE UPDATE OF type, code, currency, owner_telegram_id ON accounts
    FOR EACH ROW WHEN (NEW.code LIKE 'conversion:%')
    EXECUTE FUNCTION ledger_account_currency_fits();
