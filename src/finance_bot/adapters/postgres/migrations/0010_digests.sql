-- Digests (docs/product.md §10, docs/adr/0017): who wants which, and a log of every digest
-- claimed for sending, whose key makes each one go out at most once.

-- One setting per person; `/digest off` deletes it. `since`: digests due before it are
-- not theirs (a new setting does not send the one that fell due a minute before).
CREATE TABLE digest_settings (
    telegram_id bigint NOT NULL,
    kind        text NOT NULL,
    send_at     time NOT NULL,  -- the household's local time
    since       timestamptz NOT NULL,
    CONSTRAINT digest_settings_pk PRIMARY KEY (telegram_id),
    CONSTRAINT digest_settings_member_fk FOREIGN KEY (telegram_id) REFERENCES members (telegram_id),
    CONSTRAINT digest_settings_kind CHECK (kind IN ('daily', 'weekly', 'monthly')),
    CONSTRAINT digest_settings_minute CHECK (date_trunc('minute', send_at) = send_at)
);

-- A row is claimed ('sending') in a transaction of its own before the message goes out;
-- the key refuses a second claim by another scheduler or a later start. 'sent' once
-- Telegram took it, 'refused' when it would not (the person blocked the bot). A claim
-- left 'sending' (a crash, a reply that never came) is never sent again.
CREATE TABLE digests_sent (
    telegram_id  bigint NOT NULL,
    kind         text NOT NULL,
    period_start date NOT NULL,
    state        text NOT NULL DEFAULT 'sending',
    claimed_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    CONSTRAINT digests_sent_pk PRIMARY KEY (telegram_id, kind, period_start),
    CONSTRAINT digests_sent_member_fk FOREIGN KEY (telegram_id) REFERENCES members (telegram_id),
    CONSTRAINT digests_sent_kind CHECK (kind IN ('daily', 'weekly', 'monthly')),
    CONSTRAINT digests_sent_state CHECK (state IN ('sending', 'sent', 'refused'))
);
