-- Each good `finance-bot backup` (docs/adr/0006): the running bot reads the newest row for
-- its "last good backup" metric. Append-only, one row a night; nothing else depends on it.
CREATE TABLE backup_runs (
    id          bigint GENERATED ALWAYS AS IDENTITY,
    finished_at timestamptz NOT NULL,
    file_name   text NOT NULL,
    size_bytes  bigint NOT NULL,
    uploaded    boolean NOT NULL,  -- a copy went to S3-compatible storage
    CONSTRAINT backup_runs_pk PRIMARY KEY (id),
    CONSTRAINT backup_runs_size_not_negative CHECK (size_bytes >= 0)
);
CREATE INDEX backup_runs_finished_at_ix ON backup_runs (finished_at);
