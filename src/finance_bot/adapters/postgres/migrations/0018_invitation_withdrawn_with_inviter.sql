-- An invitation speaks for the member who made it (docs/product.md §14): once they have
-- left the household it joins nobody. Who leaves keeps nothing, so not a link back in for
-- themselves; and a link made by the last member to leave would have let whoever holds it
-- into books nobody is in any more. Refused as 'withdrawn', after 'used' and 'expired', and
-- nothing is written, like every refusal. The rest is redeem_invite as migration 0013 made it.
CREATE OR REPLACE FUNCTION redeem_invite(code_sha256 bytea, person bigint, moment timestamptz)
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
    ELSIF NOT EXISTS (SELECT 1 FROM members m
                       WHERE m.telegram_id = invitation.inviter_telegram_id
                         AND m.household_id = invitation.household_id
                         AND m.left_at IS NULL) THEN
        RETURN QUERY SELECT NULL::bigint, 'withdrawn'::text;
    ELSE
        UPDATE invites i SET used_at = moment, used_by_telegram_id = person
         WHERE i.code_hash = code_sha256;
        RETURN QUERY SELECT invitation.household_id, NULL::text;
    END IF;
END $$;
