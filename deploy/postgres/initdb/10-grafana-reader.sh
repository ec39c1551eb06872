#!/usr/bin/env bash
# Grafana's way into the database: a LOGIN role that is a member of finance_bot_reader, the
# NOLOGIN role that migration 0003 grants SELECT on the reporting views and nothing else
# (docs/adr/0007-observability.md).
#
# The postgres image runs this once, when it initialises an empty data volume. It is safe to
# run again at any time, and that is how an existing volume gets the role or a new password
# (docs/runbook.md, "Grafana's database password"):
#
#     docker compose exec postgres /docker-entrypoint-initdb.d/10-grafana-reader.sh
#
# Reads POSTGRES_USER, POSTGRES_DB, GRAFANA_DB_USER (default grafana_reader) and
# GRAFANA_DB_PASSWORD from the environment. psql reads the password from its environment
# itself (\getenv) and quotes it: it appears on no command line. No `set -e` here: the
# image may source this file instead of running it, and its own shell options must stay
# as they are; a failure is returned, and the image's `set -e` stops the initialisation.

grafana_reader_main() {
    local user="${GRAFANA_DB_USER:-grafana_reader}"
    if [[ -z "${GRAFANA_DB_PASSWORD:-}" ]]; then
        echo "10-grafana-reader: GRAFANA_DB_PASSWORD is empty; Grafana's role is not made" >&2
        return 1
    fi
    psql --no-psqlrc --set ON_ERROR_STOP=1 \
        --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
        --set reader="${user}" <<'SQL' || return 1
\getenv password GRAFANA_DB_PASSWORD
-- The group role may not exist yet (the migrations run later): make it as 0003 would.
SELECT 'CREATE ROLE finance_bot_reader NOLOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'finance_bot_reader')
\gexec
SELECT format('CREATE ROLE %I', :'reader')
 WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = :'reader')
\gexec
-- CONNECTION LIMIT is an attribute the role cannot change itself: a runaway Grafana holds
-- ten connections at most (its data source opens five).
ALTER ROLE :"reader" WITH LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
    NOBYPASSRLS CONNECTION LIMIT 10 PASSWORD :'password';
GRANT finance_bot_reader TO :"reader";
-- Read-only comes from the grants (the reporting views, nothing else); these defaults are
-- a second line that the role could change for itself, so Grafana also sends both as
-- connection options (PGOPTIONS in compose.yml), which outrank a role's own defaults.
ALTER ROLE :"reader" SET default_transaction_read_only = on;
ALTER ROLE :"reader" SET statement_timeout = '30s';
SQL
    echo "10-grafana-reader: role ${user} can log in and read the reporting views"
}

grafana_reader_main
