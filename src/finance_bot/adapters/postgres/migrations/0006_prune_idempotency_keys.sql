-- Forgetting idempotency keys that no update can come back for (docs/adr/0012).
--
-- The bot's role may not DELETE from idempotency_keys (docs/adr/0009): a key removed while
-- Telegram may still redeliver its update would let that update be booked twice. Pruning
-- goes through this function instead. It runs with its owner's rights, and whatever it is
-- asked, it keeps every key younger than a week — Telegram redelivers for a day at most.
CREATE FUNCTION prune_idempotency_keys(keep interval) RETURNS bigint
    LANGUAGE sql
    SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
    WITH gone AS (
        DELETE FROM idempotency_keys
         WHERE created_at < now() - GREATEST(keep, interval '7 days')
        RETURNING 1
    )
    SELECT count(*) FROM gone
$$;
