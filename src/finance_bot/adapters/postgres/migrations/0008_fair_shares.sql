-- Fair shares between partners (docs/product.md §12, docs/adr/0015).
--
-- A category marked personal is nobody's common spending: whoever pays for it pays for
-- themselves. Only expense categories can be personal (income is not shared here).
ALTER TABLE accounts
    ADD COLUMN personal boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT accounts_personal_is_an_expense CHECK (NOT personal OR type = 'expense');

-- A member's share of the common spending, in percent. NULL for everyone: equal shares.
-- The shares count only while every member of the household has one and they sum to 100
-- (the application decides; a member who joins later makes them equal again).
ALTER TABLE members
    ADD COLUMN share_pct smallint,
    ADD CONSTRAINT members_share_pct_range CHECK (share_pct BETWEEN 0 AND 100);
