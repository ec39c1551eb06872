-- The dashboards' household picker counts the people in a household now, as
-- `finance-bot households` does since migration 0014: someone who left keeps their row (their
-- entries keep their name) but is no longer one of its members.
CREATE OR REPLACE VIEW reporting.households AS
SELECT h.id AS household_id,
       'household ' || h.id AS household,
       (SELECT count(*) FROM members m
         WHERE m.household_id = h.id AND m.left_at IS NULL) AS members,
       h.created_at
  FROM households h;
