-- Bills that repeat (docs/product.md §9, docs/adr/0016). A rule says what to record and
-- when; an occurrence row says that one due date of it was dealt with, once.

-- The rule: its schedule, the line as typed (for /recurring) and the entry it makes, as
-- the parser understood it when the rule was made (accounts and categories by id, so a
-- rename changes nothing). Stopping it (`/every off N`) is the only change it takes.
CREATE TABLE recurring_rules (
    id                 bigint GENERATED ALWAYS AS IDENTITY,
    household_id       bigint NOT NULL,
    author_telegram_id bigint NOT NULL,
    every              text NOT NULL,
    day                smallint NOT NULL DEFAULT 0,
    month              smallint NOT NULL DEFAULT 0,
    line               text NOT NULL,
    entry              jsonb NOT NULL,
    starts_on          date NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    stopped_at         timestamptz,
    CONSTRAINT recurring_rules_pk PRIMARY KEY (id),
    CONSTRAINT recurring_rules_author_fk FOREIGN KEY (author_telegram_id, household_id)
        REFERENCES members (telegram_id, household_id),
    CONSTRAINT recurring_rules_schedule CHECK (
        (every = 'day' AND day = 0 AND month = 0)
        OR (every = 'week' AND day BETWEEN 0 AND 6 AND month = 0)
        OR (every = 'month' AND day BETWEEN 1 AND 31 AND month = 0)
        OR (every = 'year' AND day BETWEEN 1 AND 31 AND month BETWEEN 1 AND 12)
    ),
    CONSTRAINT recurring_rules_line_not_blank CHECK (length(line) > 0)
);
CREATE INDEX recurring_rules_live_ix ON recurring_rules (household_id) WHERE stopped_at IS NULL;

-- One row per rule and due date, written in the same database transaction as the entry it
-- made: the primary key is what makes a second entry for the same due date impossible,
-- whoever tries and however often. An occurrence that could not be recorded keeps why
-- (`skipped`) and no entry. `notified_at` is the outbox: set once the author was told;
-- `alerts` holds the budget alerts the entry set off, sent with its confirmation.
CREATE TABLE recurring_occurrences (
    rule_id        bigint NOT NULL,
    due_on         date NOT NULL,
    transaction_id uuid,
    skipped        text,
    alerts         jsonb NOT NULL DEFAULT '[]',
    notified_at    timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT recurring_occurrences_pk PRIMARY KEY (rule_id, due_on),
    CONSTRAINT recurring_occurrences_rule_fk FOREIGN KEY (rule_id) REFERENCES recurring_rules (id),
    CONSTRAINT recurring_occurrences_transaction_fk
        FOREIGN KEY (transaction_id) REFERENCES transactions (id),
    CONSTRAINT recurring_occurrences_transaction_uq UNIQUE (transaction_id),
    CONSTRAINT recurring_occurrences_entry_or_reason
        CHECK ((transaction_id IS NULL) <> (skipped IS NULL))
);
CREATE INDEX recurring_occurrences_unsent_ix ON recurring_occurrences (rule_id, due_on)
    WHERE notified_at IS NULL;
