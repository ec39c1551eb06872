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
