-- Many households on one service (docs/product.md §14, docs/adr/0022): each household's own
-- settings, people who leave, one-time invitations, and repeating rules numbered per
-- household. Existing rows keep their meaning: a household with no time zone or language
-- of its own follows BOT_TIMEZONE and BOT_LANGUAGE exactly as before.

-- NULL: the deployment's BOT_TIMEZONE / BOT_LANGUAGE (every household made before this
-- migration). A household founded from now on is given them at founding; /settings sets them.
ALTER TABLE households
    ADD COLUMN timezone text,
    ADD COLUMN language text,
    ADD CONSTRAINT households_timezone_not_blank CHECK (length(timezone) BETWEEN 1 AND 64),
    ADD CONSTRAINT households_language_known CHECK (language IN ('ru', 'en'));

-- A member who left (/leave) keeps their row: what they recorded stays in the books with
-- their name as its author (the foreign keys of transactions, rates and rules reach it).
-- They are no longer a member: nothing is read or written for them.
ALTER TABLE members ADD COLUMN left_at timestamptz;
CREATE INDEX members_active_ix ON members (household_id) WHERE left_at IS NULL;

-- The base currency may change while nothing has been recorded in it (/settings): an
-- account with no posting may take the new currency; one with postings never changes.
CREATE OR REPLACE FUNCTION ledger_account_immutable_fields() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.type IS DISTINCT FROM OLD.type
       OR NEW.household_id IS DISTINCT FROM OLD.household_id
       OR NEW.owner_telegram_id IS DISTINCT FROM OLD.owner_telegram_id
       OR (NEW.currency IS DISTINCT FROM OLD.currency
           AND EXISTS (SELECT 1 FROM postings p WHERE p.account_id = OLD.id)) THEN
        RAISE EXCEPTION 'account % type, currency, household and owner cannot change', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;

-- One-time invitations (`/invite`). Only the SHA-256 of the code is kept: whoever reads
-- this table (a backup, say) cannot join a household with what they find. Used once:
-- `used_at` is set in the same transaction that makes the person a member.
CREATE TABLE invites (
    code_hash           bytea NOT NULL,
    household_id        bigint NOT NULL,
    inviter_telegram_id bigint NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz NOT NULL,
    used_at             timestamptz,
    used_by_telegram_id bigint,
    CONSTRAINT invites_pk PRIMARY KEY (code_hash),
    CONSTRAINT invites_household_fk FOREIGN KEY (household_id) REFERENCES households (id),
    CONSTRAINT invites_inviter_fk FOREIGN KEY (inviter_telegram_id, household_id)
        REFERENCES members (telegram_id, household_id),
    CONSTRAINT invites_hash_length CHECK (octet_length(code_hash) = 32),
    CONSTRAINT invites_used_together CHECK ((used_at IS NULL) = (used_by_telegram_id IS NULL)),
    CONSTRAINT invites_expiry_after_creation CHECK (expires_at > created_at)
);
CREATE INDEX invites_household_ix ON invites (household_id);

-- A rule's number is its household's own (`/recurring`, `/every off N`): the global id
-- told one household how many rules the others had. Backfilled in id order per household.
ALTER TABLE recurring_rules ADD COLUMN number integer;
UPDATE recurring_rules r
   SET number = n.number
  FROM (SELECT id, row_number() OVER (PARTITION BY household_id ORDER BY id) AS number
          FROM recurring_rules) n
 WHERE n.id = r.id;
ALTER TABLE recurring_rules
    ALTER COLUMN number SET NOT NULL,
    ADD CONSTRAINT recurring_rules_number_positive CHECK (number > 0),
    ADD CONSTRAINT recurring_rules_number_uq UNIQUE (household_id, number);

-- Households apart (migration 0012, docs/adr/0021): an invitation is its household's row,
-- seen and written only by a unit of work bound to it, like every household table.
CREATE POLICY household_only ON invites USING (household_id = current_household());
CREATE POLICY owner_all ON invites TO finance_bot_owner USING (true) WITH CHECK (true);
CREATE POLICY dump_reads ON invites FOR SELECT TO finance_bot_dump USING (true);
ALTER TABLE invites ENABLE ROW LEVEL SECURITY;
ALTER TABLE invites FORCE ROW LEVEL SECURITY;

-- The ways across households that signing up needs, each SECURITY DEFINER (the owner's
-- policy shows it every row), its search_path pinned, returning ids, a time zone or a
-- refusal, never a name, an amount or a note. What is then read or written in the
-- household found is done in a unit of work bound to it.

-- A person's household binds their unit of work: a member who left is no member, so the
-- unit of work of someone who left is bound to nothing.
CREATE OR REPLACE FUNCTION member_household(person bigint) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$ SELECT household_id FROM members WHERE telegram_id = person AND left_at IS NULL $$;

-- The household a person left: they may come back to it, and join or found no other.
CREATE FUNCTION former_household(person bigint) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$ SELECT household_id FROM members WHERE telegram_id = person AND left_at IS NOT NULL $$;

-- The whitelist's household (SIGNUP=invite|open): the one the first of them joined.
CREATE FUNCTION household_of_any(people bigint[]) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT household_id FROM members WHERE telegram_id = ANY(people)
     ORDER BY created_at, telegram_id LIMIT 1
$$;

-- Scheduled work: each household's own day, for those with a time zone of their own.
CREATE FUNCTION household_zones() RETURNS TABLE (id bigint, timezone text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$ SELECT id, timezone FROM households WHERE timezone IS NOT NULL ORDER BY id $$;

-- `/start <code>`: use an invitation once, found by the SHA-256 of its code. Unused and
-- unexpired: marked used by `person` at `moment`, and its household's id returned; else the
-- refusal ('unknown', 'used', 'expired') and nothing written. The row is locked, so two
-- people with one code cannot both get in; the mark is undone with the caller's
-- transaction, which then joins the person in a unit of work bound to the household.
CREATE FUNCTION redeem_invite(code_sha256 bytea, person bigint, moment timestamptz)
RETURNS TABLE (household_id bigint, refusal text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    invitation invites%ROWTYPE;
BEGIN
    SELECT * INTO invitation FROM invites i WHERE i.code_hash = code_sha256 FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT NULL::bigint, 'unknown'::text;
    ELSIF invitation.used_at IS NOT NULL THEN
        RETURN QUERY SELECT NULL::bigint, 'used'::text;
    ELSIF invitation.expires_at <= moment THEN
        RETURN QUERY SELECT NULL::bigint, 'expired'::text;
    ELSE
        UPDATE invites i SET used_at = moment, used_by_telegram_id = person
         WHERE i.code_hash = code_sha256;
        RETURN QUERY SELECT invitation.household_id, NULL::text;
    END IF;
END $$;
