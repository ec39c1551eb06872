-- A person who left a household may join another (docs/product.md §14, docs/adr/0025).
--
-- Until now a person had one row in `members`, keyed by their Telegram id, so someone who
-- left could only come back to the household they left. From here on `members` holds a
-- person's memberships over time: one row per household they ever belonged to, at most one
-- of them active (left_at IS NULL). The rows of the households they left stay: what they
-- recorded there keeps its author (the foreign keys of transactions, rates, rules,
-- invitations and accounts reach members by (telegram_id, household_id), which stays
-- unique). Coming back to a household they left makes that row active again.

-- What hung on the Telegram id alone hangs on the membership now: a digest is the
-- household's (its report, its day), and so is the log that sends it once. Every existing
-- row belongs to the one household its person has a row in.
ALTER TABLE digest_settings DROP CONSTRAINT digest_settings_member_fk;
ALTER TABLE digests_sent DROP CONSTRAINT digests_sent_member_fk;
ALTER TABLE digest_settings ADD COLUMN household_id bigint;
ALTER TABLE digests_sent ADD COLUMN household_id bigint;
UPDATE digest_settings d SET household_id = m.household_id
  FROM members m WHERE m.telegram_id = d.telegram_id;
UPDATE digests_sent d SET household_id = m.household_id
  FROM members m WHERE m.telegram_id = d.telegram_id;

ALTER TABLE members DROP CONSTRAINT members_pk;
-- One active membership a person: the database refuses a second, whoever writes it.
CREATE UNIQUE INDEX members_one_active_uq ON members (telegram_id) WHERE left_at IS NULL;

ALTER TABLE digest_settings
    ALTER COLUMN household_id SET NOT NULL,
    ADD CONSTRAINT digest_settings_member_fk FOREIGN KEY (telegram_id, household_id)
        REFERENCES members (telegram_id, household_id);
-- A person's digests of one household and of another are two digests, each sent once.
ALTER TABLE digests_sent
    ALTER COLUMN household_id SET NOT NULL,
    DROP CONSTRAINT digests_sent_pk,
    ADD CONSTRAINT digests_sent_pk PRIMARY KEY (household_id, telegram_id, kind, period_start),
    ADD CONSTRAINT digests_sent_member_fk FOREIGN KEY (telegram_id, household_id)
        REFERENCES members (telegram_id, household_id);
-- A share is a member's in one household (/split, which a member's leaving clears).
ALTER TABLE member_shares
    DROP CONSTRAINT member_shares_pk,
    ADD CONSTRAINT member_shares_pk PRIMARY KEY (household_id, telegram_id);

-- The digests' policies compared the person's membership, any of them: a digest set in
-- one household would have shown in every household the person had ever been in. They
-- compare the digest's own household now, like every other household table.
DROP POLICY household_only ON digest_settings;
DROP POLICY household_only ON digests_sent;
CREATE POLICY household_only ON digest_settings USING (household_id = current_household());
CREATE POLICY household_only ON digests_sent USING (household_id = current_household());

-- An account's owner in the dashboards: the owner's row in the account's own household
-- (with many memberships a person has a row, and maybe a name, in each).
CREATE OR REPLACE VIEW reporting.accounts AS
SELECT a.household_id,
       a.id AS account_id,
       a.name AS account,
       a.name || ' (' || COALESCE(NULLIF(m.display_name, ''), CASE
           WHEN a.owner_telegram_id IS NULL THEN 'shared' ELSE 'member' END) || ')' AS label,
       a.type::text AS account_type,
       a.currency,
       a.archived_at IS NOT NULL AS archived
  FROM accounts a
  LEFT JOIN members m ON m.telegram_id = a.owner_telegram_id AND m.household_id = a.household_id
 WHERE a.type IN ('asset', 'liability');

-- The ways across households that looked a person up by Telegram id alone, each kept
-- SECURITY DEFINER with its search_path pinned, as migrations 0012 and 0013 made them.
-- member_household (the active membership, now unique by the index above) and
-- redeem_invite (which reads no membership) stay as they are.

-- The household a person left most recently, for someone in none now: a whitelisted person
-- who once left goes back there (SIGNUP=whitelist). Invitations need no such lookup: the
-- joining, bound to the invitation's household, finds the person's old row there itself.
CREATE OR REPLACE FUNCTION former_household(person bigint) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT household_id FROM members
     WHERE telegram_id = person AND left_at IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM members a WHERE a.telegram_id = person AND a.left_at IS NULL)
     ORDER BY left_at DESC, household_id DESC
     LIMIT 1
$$;

-- The whitelist's household (SIGNUP=invite|open): the one the first of them joined, of the
-- memberships they hold now; a household one of them left long ago is not the whitelist's.
CREATE OR REPLACE FUNCTION household_of_any(people bigint[]) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT household_id FROM members
     WHERE telegram_id = ANY(people) AND left_at IS NULL
     ORDER BY created_at, telegram_id LIMIT 1
$$;

-- The scheduler's digests: the households the settings belong to.
CREATE OR REPLACE FUNCTION households_with_digests() RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$ SELECT DISTINCT household_id FROM digest_settings ORDER BY 1 $$;

-- `finance-bot households`: members now (who left, or moved on to another household, is
-- counted where they are, not everywhere they have been); counts and times, no names.
CREATE OR REPLACE FUNCTION household_summaries()
RETURNS TABLE (id bigint, members bigint, entries bigint, last_activity timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT h.id,
           (SELECT count(*) FROM members m WHERE m.household_id = h.id AND m.left_at IS NULL),
           (SELECT count(*) FROM transactions t
             WHERE t.household_id = h.id AND t.kind <> 'reversal'),
           GREATEST(h.created_at,
                    (SELECT max(created_at) FROM members m WHERE m.household_id = h.id),
                    (SELECT max(created_at) FROM transactions t WHERE t.household_id = h.id))
      FROM households h
     ORDER BY h.id
$$;
