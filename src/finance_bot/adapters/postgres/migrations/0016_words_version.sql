-- Two costs of every chat line, cut without changing what any query answers
-- (docs/adr/0028).
--
-- 1. The COMMIT check of an entry reads that entry's postings. Run by the bot's role, it
--    went through the postings policy, which looks at every account of the household to
--    see which postings are visible: a fifth of a millisecond for two rows. It reads only
--    the entry being committed and the one it voids, and says nothing but why they are
--    refused, so it runs as the owner, as the posting trigger already does.
ALTER FUNCTION ledger_check_transaction() SECURITY DEFINER SET search_path = public, pg_temp;

-- 2. The words a line is read against (a household's live accounts, its aliases, its
--    budgets) change rarely and are read with every line. Each household carries the
--    version of its words: every statement that writes accounts, aliases or budgets gives
--    the households it touched a new version from a sequence, so a version is never given
--    twice — not even when the transaction that drew it is rolled back. A bot process that
--    still holds the words of the version the database shows reads nothing more.
CREATE SEQUENCE words_versions;
ALTER TABLE households ADD COLUMN words_version bigint NOT NULL DEFAULT 0;

CREATE FUNCTION words_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE households SET words_version = nextval('words_versions')
         WHERE id IN (SELECT household_id FROM inserted);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE households SET words_version = nextval('words_versions')
         WHERE id IN (SELECT household_id FROM deleted);
    ELSE
        UPDATE households SET words_version = nextval('words_versions')
         WHERE id IN (SELECT household_id FROM inserted
                      UNION SELECT household_id FROM deleted);
    END IF;
    RETURN NULL;
END $$;

-- On each table whose rows are words: one trigger per event, since a trigger has the
-- transition tables of its own event only.
DO $$
DECLARE
    words_table text;
BEGIN
    FOREACH words_table IN ARRAY ARRAY['accounts', 'category_aliases', 'budgets'] LOOP
        EXECUTE format(
            'CREATE TRIGGER %1$I AFTER INSERT ON %2$I REFERENCING NEW TABLE AS inserted'
            ' FOR EACH STATEMENT EXECUTE FUNCTION words_changed()',
            words_table || '_words_inserted', words_table);
        EXECUTE format(
            'CREATE TRIGGER %1$I AFTER UPDATE ON %2$I'
            ' REFERENCING NEW TABLE AS inserted OLD TABLE AS deleted'
            ' FOR EACH STATEMENT EXECUTE FUNCTION words_changed()',
            words_table || '_words_updated', words_table);
        EXECUTE format(
            'CREATE TRIGGER %1$I AFTER DELETE ON %2$I REFERENCING OLD TABLE AS deleted'
            ' FOR EACH STATEMENT EXECUTE FUNCTION words_changed()',
            words_table || '_words_deleted', words_table);
    END LOOP;
END $$;
