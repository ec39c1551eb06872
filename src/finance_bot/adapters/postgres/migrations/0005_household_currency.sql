-- A household's base currency is its own (docs/adr/0012). It was read from DEFAULT_CURRENCY
-- on every start, so a restart with another value broke every write; the environment now
-- only seeds a household when it is founded. An existing household's currency is the one
-- its accounts were made in: every account of a household shares it (the "other" category
-- exists from the founding on, so it is looked at first).

ALTER TABLE households ADD COLUMN currency char(3);

UPDATE households h
   SET currency = (
       SELECT a.currency FROM accounts a
        WHERE a.household_id = h.id
        ORDER BY (a.code = 'other' AND a.type = 'expense') DESC NULLS LAST, a.id
        LIMIT 1);

-- A household without a single account was never used (founding makes its categories in
-- the same transaction); it cannot be told a currency, so the migration stops and says so.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM households WHERE currency IS NULL) THEN
        RAISE EXCEPTION 'a household has no accounts, so its currency is unknown: set households.currency by hand';
    END IF;
END
$$;

ALTER TABLE households
    ALTER COLUMN currency SET NOT NULL,
    ADD CONSTRAINT households_currency_format CHECK (currency ~ '^[A-Z]{3}$');
