-- Every unit of work bound by a person — the first round trip of each chat update — calls
-- member_household in its BEGIN. As an SQL function that is SECURITY DEFINER it is never
-- inlined, and PostgreSQL plans its query anew at every call; in PL/pgSQL the plan is kept
-- for the session (docs/adr/0027). The same query, the same answer, the same rights.
CREATE OR REPLACE FUNCTION member_household(person bigint) RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    RETURN (SELECT household_id FROM members WHERE telegram_id = person AND left_at IS NULL);
END
$$;
