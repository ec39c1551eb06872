#!/usr/bin/env bash
# The finance-bot roles (docs/adr/0009), made by the superuser, who does nothing else:
#
#   finance_bot_owner  owns the schema; the `migrate` service logs in as it
#   finance_bot_app    the bot: only the grants the migration runner gives it
#   finance_bot_dump   the nightly backup: reads everything, records its run
#
# The same as `finance-bot setup-roles` does without compose. The postgres image runs this
# once, when it initialises an empty data volume; `make deploy` runs it again every time
# (an existing volume gets the roles, new passwords, and the schema handed from the
# superuser to finance_bot_owner):
#
#     docker compose exec postgres /docker-entrypoint-initdb.d/05-finance-bot-roles.sh
#
# Reads POSTGRES_USER, POSTGRES_DB and FINANCE_BOT_{OWNER,APP,DUMP}_PASSWORD from the
# environment. psql reads the passwords itself (\getenv): they are on no command line.
# No `set -e` here: the image may source this file instead of running it, and its own
# shell options must stay as they are; a failure is returned, and the image's `set -e`
# stops the initialisation on it.

finance_bot_roles_main() {
    local name
    for name in FINANCE_BOT_OWNER_PASSWORD FINANCE_BOT_APP_PASSWORD FINANCE_BOT_DUMP_PASSWORD; do
        if [[ -z "${!name:-}" ]]; then
            echo "05-finance-bot-roles: ${name} is empty; the roles are not made" >&2
            return 1
        fi
    done
    psql --no-psqlrc --set ON_ERROR_STOP=1 \
        --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
        <<'SQL' || return 1
\getenv owner_password FINANCE_BOT_OWNER_PASSWORD
\getenv app_password FINANCE_BOT_APP_PASSWORD
\getenv dump_password FINANCE_BOT_DUMP_PASSWORD

SELECT format('CREATE ROLE %I', name)
  FROM unnest(ARRAY['finance_bot_owner', 'finance_bot_app', 'finance_bot_dump',
                    'finance_bot_reader']) AS name
 WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = name)
\gexec
ALTER ROLE finance_bot_owner WITH LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE
    NOREPLICATION NOBYPASSRLS PASSWORD :'owner_password';
ALTER ROLE finance_bot_app WITH LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE
    NOREPLICATION NOBYPASSRLS PASSWORD :'app_password';
ALTER ROLE finance_bot_dump WITH LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE
    NOREPLICATION NOBYPASSRLS PASSWORD :'dump_password';
ALTER ROLE finance_bot_reader WITH NOLOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE
    NOREPLICATION NOBYPASSRLS;

-- The owner may make schemas (migration 0003 does); the others only connect.
SELECT format('GRANT CONNECT, CREATE ON DATABASE %I TO finance_bot_owner', current_database())
\gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO finance_bot_app, finance_bot_dump, '
              'finance_bot_reader', current_database())
\gexec

-- Every object of the finance-bot schemas that another role owns (the superuser, before
-- the roles) goes to the owner; no row is touched. Identity sequences move with their
-- table. The same query as adapters/postgres/roles.py.
WITH ours AS (
    SELECT oid, nspname FROM pg_namespace WHERE nspname IN ('public', 'reporting')
), owner AS (
    SELECT oid FROM pg_roles WHERE rolname = 'finance_bot_owner'
)
SELECT format('ALTER SCHEMA %I OWNER TO finance_bot_owner', n.nspname) FROM pg_namespace n
  JOIN ours USING (oid) WHERE n.nspowner <> (SELECT oid FROM owner)
UNION ALL
SELECT format('ALTER %s %I.%I OWNER TO finance_bot_owner',
              CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                             WHEN 'm' THEN 'MATERIALIZED VIEW'
                             WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
              ours.nspname, c.relname)
  FROM pg_class c JOIN ours ON ours.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND c.relowner <> (SELECT oid FROM owner)
   AND NOT EXISTS (SELECT FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                      AND d.deptype IN ('a', 'i'))
UNION ALL
SELECT format('ALTER ROUTINE %s OWNER TO finance_bot_owner', p.oid::regprocedure)
  FROM pg_proc p JOIN ours ON ours.oid = p.pronamespace
 WHERE p.proowner <> (SELECT oid FROM owner)
UNION ALL
SELECT format('ALTER TYPE %I.%I OWNER TO finance_bot_owner', ours.nspname, t.typname)
  FROM pg_type t JOIN ours ON ours.oid = t.typnamespace
 WHERE t.typtype IN ('e', 'd', 'r') AND t.typowner <> (SELECT oid FROM owner)
\gexec
SQL
    echo "05-finance-bot-roles: finance_bot_owner, finance_bot_app and finance_bot_dump can log in"
}

finance_bot_roles_main
