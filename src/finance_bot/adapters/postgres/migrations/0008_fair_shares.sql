-- Fair shares between partners (docs/product.md §12, docs/adr/0015). Two tables of their
-- own rather than columns: the rows of existing tables stay exactly as they were.

-- Expense categories marked personal (`/personal`): nobody's common spending, whoever
-- pays. Only an expense category can be one: the foreign key takes the account's type.
ALTER TABLE accounts ADD CONSTRAINT accounts_id_household_type_uq UNIQUE (id, household_id, type);

CREATE TABLE personal_categories (
    household_id  bigint NOT NULL,
    category_id   bigint NOT NULL,
    category_type account_type NOT NULL DEFAULT 'expense',
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT personal_categories_pk PRIMARY KEY (category_id),
    CONSTRAINT personal_categories_category_fk FOREIGN KEY (category_id, household_id, category_type)
        REFERENCES accounts (id, household_id, type),
    CONSTRAINT personal_categories_are_expenses CHECK (category_type = 'expense')
);

-- Each member's share of the common spending in percent (`/split`). No rows: equal shares.
-- The shares count only while every member has one and they sum to 100 (the application
-- decides), so a member who joins later makes them equal again.
CREATE TABLE member_shares (
    household_id bigint NOT NULL,
    telegram_id  bigint NOT NULL,
    share_pct    smallint NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT member_shares_pk PRIMARY KEY (telegram_id),
    CONSTRAINT member_shares_member_fk FOREIGN KEY (telegram_id, household_id)
        REFERENCES members (telegram_id, household_id),
    CONSTRAINT member_shares_percent CHECK (share_pct BETWEEN 0 AND 100)
);
