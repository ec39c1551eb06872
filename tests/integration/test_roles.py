"""The database's guarantees hold against finance-bot's own credentials (docs/adr/0009):
raw SQL as the runtime role, the dump role and a Grafana login meets the grants, not the
good manners of the code."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta

import asyncpg
import pytest

from finance_bot.adapters.postgres.check import check_ledger
from finance_bot.adapters.postgres.roles import (
    APP,
    DUMP,
    LOGIN_ROLES,
    OWNER,
    READER,
    role_attributes,
    scram_verifier,
    setup_roles,
)
from tests.support.databases import DatabaseServer
from tests.support.foreign import money, spend_foreign
from tests.support.household import expense_command, ledger_world, uah

pytestmark = pytest.mark.postgres

# Tables the bot never touches: nothing in grants.sql names them for finance_bot_app.
NOT_FOR_THE_BOT: set[str] = set()
Refused = asyncpg.InsufficientPrivilegeError


def as_role(url: str, role: str) -> str:
    from finance_bot.adapters.postgres.roles import login_url

    return login_url(url, role)


@pytest.fixture
async def populated(fresh_database_url: str) -> str:
    async with ledger_world(as_role(fresh_database_url, APP)) as world:
        (alice, _) = await world.new_household()
        cafe = (await world.accounts(alice))["cafe"].id
        await world.record(expense_command(uah(100), cafe, on=date(2026, 11, 1)), alice)
        voided = await world.record(expense_command(uah(7), cafe, on=date(2026, 11, 2)), alice)
        await world.void(voided.number, alice)
    return fresh_database_url


@pytest.fixture
async def app(populated: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(as_role(populated, APP))
    try:
        assert await connection.fetchval("SELECT current_user") == APP
        # Bound to the one household for the session (the bot's units of work bind
        # theirs per transaction, docs/adr/0021; here every statement is its own):
        # unbound, the role would see no row to try its hand at.
        await connection.execute(
            "SELECT set_config('finance_bot.household', first_household()::text, false)"
        )
        yield connection
    finally:
        await connection.close()


# The statements an attacker with the bot's credentials would try first: each must be
# refused for lack of privilege, not by a trigger the attacker could switch off.
RUNTIME_REFUSED = [
    "ALTER TABLE postings DISABLE TRIGGER postings_append_only",
    "ALTER TABLE transactions DISABLE TRIGGER USER",
    "SET session_replication_role = replica",
    "ALTER ROLE finance_bot_app SET session_replication_role = replica",
    "ALTER TABLE postings ADD COLUMN x int",
    "DROP TABLE postings",
    "TRUNCATE postings",
    "DELETE FROM postings",
    "UPDATE postings SET amount_minor = 1",
    "DELETE FROM transactions",
    "UPDATE transactions SET note = 'changed'",
    "UPDATE transactions SET booked_on = booked_on - 1",
    "UPDATE account_balances SET balance_minor = 0",
    "DELETE FROM account_balances",
    "INSERT INTO category_day_totals SELECT * FROM category_day_totals LIMIT 1",
    "DELETE FROM idempotency_keys",
    "UPDATE households SET created_at = now()",
    "DELETE FROM schema_migrations",
    "INSERT INTO schema_migrations VALUES (99, 'planted', 'x')",
    "CREATE TABLE public.planted (x int)",
    "CREATE FUNCTION public.planted() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "CREATE SCHEMA planted",
    "CREATE VIEW public.planted AS SELECT 1",
    "GRANT finance_bot_owner TO finance_bot_app",
    "GRANT pg_execute_server_program TO finance_bot_app",
    "ALTER ROLE finance_bot_app SUPERUSER",
    "ALTER ROLE finance_bot_app BYPASSRLS",
    "ALTER ROLE finance_bot_app CREATEROLE",
    "ALTER ROLE finance_bot_owner PASSWORD 'x'",
    "ALTER ROLE finance_bot_reader SET default_transaction_read_only = off",
    "SET ROLE finance_bot_owner",
    "CREATE ROLE planted",
    "COPY postings TO PROGRAM 'true'",
    "COPY postings TO '/tmp/finance-bot-planted'",
    "COPY postings FROM '/etc/hostname'",
    "SELECT pg_read_file('/etc/hostname')",
    "SELECT pg_ls_dir('.')",
    "ALTER DATABASE postgres SET session_replication_role = replica",
    "REFRESH MATERIALIZED VIEW reporting.currencies",
    # Sequences it may draw from, never set; the words' version only triggers write.
    "SELECT setval('households_id_seq', 1)",
    "SELECT setval('words_versions', 1)",
    "UPDATE households SET words_version = 0",
    "SELECT lo_import('/etc/hostname')",
    # The functions' rights and search paths (migration 0020) are the owner's to change.
    "ALTER FUNCTION ledger_count_foreign_part(uuid, integer) SECURITY DEFINER",
    "ALTER FUNCTION ledger_account_currency_fits() RESET search_path",
]


@pytest.mark.parametrize("statement", RUNTIME_REFUSED)
async def test_the_runtime_role_is_refused(
    app: asyncpg.Connection, populated: str, statement: str
) -> None:
    before = await _ledger(populated)
    with pytest.raises((Refused, asyncpg.WrongObjectTypeError)):
        await app.execute(statement)
    assert await _ledger(populated) == before


async def test_the_runtime_role_may_set_the_void_link_only_as_the_trigger_allows(
    app: asyncpg.Connection, populated: str
) -> None:
    """It holds UPDATE of the one void column; the trigger and the deferred check refuse a
    link to anything but the transaction's own reversal."""
    rows = await app.fetch(
        "SELECT id FROM transactions WHERE voided_by_transaction_id IS NULL"
        " AND kind <> 'reversal' ORDER BY number"
    )
    other = await app.fetchval("SELECT id FROM transactions WHERE kind = 'reversal'")
    with pytest.raises(asyncpg.IntegrityConstraintViolationError):
        async with app.transaction():
            await app.execute(
                "UPDATE transactions SET voided_by_transaction_id = $2 WHERE id = $1",
                rows[0]["id"],
                other,
            )
    assert await check_ledger(app) == []


async def test_the_runtime_role_cannot_wind_the_entry_numbers_back(
    app: asyncpg.Connection, populated: str
) -> None:
    """It holds UPDATE of the counter to number entries. Wound back below the last entry's
    number, every later entry of the household collided with an existing one and was
    refused, for good: the household could record nothing more."""
    household = await app.fetchval("SELECT first_household()")
    before = await app.fetchval(
        "SELECT last_transaction_number FROM households WHERE id = $1", household
    )
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="only goes forward"):
        await app.execute(
            "UPDATE households SET last_transaction_number = 0 WHERE id = $1", household
        )
    assert (
        await app.fetchval(
            "SELECT last_transaction_number FROM households WHERE id = $1", household
        )
        == before
    )
    assert await check_ledger(app) == []


async def test_a_grant_the_runtime_role_gives_itself_changes_nothing(
    app: asyncpg.Connection,
) -> None:
    # It holds some privileges on postings but no grant option: PostgreSQL only warns.
    await app.execute("GRANT DELETE, UPDATE, TRUNCATE ON postings TO finance_bot_app")
    for privilege in ("DELETE", "UPDATE", "TRUNCATE"):
        held = await app.fetchval("SELECT has_table_privilege('postings', $1)", privilege)
        assert held is False


async def test_the_balance_cache_cannot_be_forged_through_a_trigger_of_its_own(
    app: asyncpg.Connection, populated: str
) -> None:
    """The guard on account_balances lets trigger depth 2 through; a temporary table's
    trigger is depth 1, so without UPDATE on the cache the bot's role still cannot."""
    await app.execute(
        """
        CREATE TEMP TABLE lever (x int);
        CREATE FUNCTION pg_temp.pull() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE public.account_balances SET balance_minor = balance_minor + 1;
            RETURN NEW;
        END $$;
        CREATE TRIGGER pull AFTER INSERT ON lever FOR EACH ROW EXECUTE FUNCTION pg_temp.pull();
        """
    )
    with pytest.raises(Refused):
        await app.execute("INSERT INTO lever VALUES (1)")
    assert await check_ledger(app) == []


async def test_the_foreign_totals_cannot_be_forged_through_the_function_that_keeps_them(
    fresh_database_url: str,
) -> None:
    """The conversion triggers count a foreign amount through ledger_count_foreign_part,
    which the bot's role may execute like every function of the schema. Run with the
    owner's rights, called from a temporary table's trigger (depth 2 passes the guard on
    the totals), it added any multiple of an entry's amount to the cache."""
    url = as_role(fresh_database_url, APP)
    async with ledger_world(url) as world:
        home = await world.household()
        await spend_foreign(home, money("20", "EUR"), "45.65", "cafe")
    app = await asyncpg.connect(url)
    try:
        await app.execute(
            "SELECT set_config('finance_bot.household', $1::text, false)", str(home.id)
        )
        before = await app.fetch("SELECT * FROM category_day_foreign_totals ORDER BY 1, 2, 3")
        entry = await app.fetchval("SELECT transaction_id FROM conversions")
        await app.execute(
            """
            CREATE TEMP TABLE lever (entry uuid);
            CREATE FUNCTION pg_temp.pull() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM public.ledger_count_foreign_part(NEW.entry, 1000);
                RETURN NEW;
            END $$;
            CREATE TRIGGER pull AFTER INSERT ON lever
                FOR EACH ROW EXECUTE FUNCTION pg_temp.pull();
            """
        )
        with pytest.raises(Refused):
            await app.execute("INSERT INTO lever VALUES ($1)", entry)
        with pytest.raises(Refused):
            await app.execute("SELECT ledger_count_foreign_part($1, 1000)", entry)
        assert await app.fetch("SELECT * FROM category_day_foreign_totals ORDER BY 1, 2, 3") == (
            before
        )
        assert await check_ledger(app) == []
    finally:
        await app.close()


async def test_the_ledgers_own_trigger_functions_cannot_be_put_on_a_table_of_the_bots(
    app: asyncpg.Connection, populated: str
) -> None:
    """A trigger fires its function whoever wrote the row; EXECUTE is checked only when the
    trigger is made. With it, the bot's role could put the ledger's SECURITY DEFINER trigger
    functions on a temporary table of its own and fire them as the owner with rows of its
    choosing: here, taking an entry out of the category totals as its void would."""
    before = await _ledger(populated)
    totals = "SELECT * FROM category_day_totals ORDER BY 1, 2, 3, 4, 5"
    kept = await app.fetch(totals)
    entry = await app.fetchrow(
        "SELECT id, household_id, booked_on, author_telegram_id FROM transactions"
        " WHERE kind = 'expense' AND voided_by_transaction_id IS NULL"
    )
    await app.execute(
        "CREATE TEMP TABLE lever (id uuid, household_id bigint, booked_on date,"
        " author_telegram_id bigint)"
    )
    with pytest.raises(Refused):
        await app.execute(
            "CREATE TRIGGER pull AFTER INSERT ON lever"
            " FOR EACH ROW EXECUTE FUNCTION public.ledger_roll_out_voided()"
        )
    await app.execute("INSERT INTO lever VALUES ($1, $2, $3, $4)", *entry)
    assert await app.fetch(totals) == kept
    assert await _ledger(populated) == before
    assert await check_ledger(app) == []
    # And none of them, present or to come: the role may execute no trigger function.
    executable = await app.fetch(
        "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = 'public' AND p.prorettype = 'trigger'::regtype"
        "   AND has_function_privilege(p.oid, 'EXECUTE')"
    )
    assert [row["proname"] for row in executable] == []


# A temporary table is found before the schema's own by an unqualified name, so one of the
# bot's own could stand in for the table a guard reads. Each attack: the stand-in, then the
# statement its guard let through.
SHADOWED = {
    "a category in a foreign currency": (
        "CREATE TEMP TABLE households AS SELECT id, 'USD'::char(3) AS currency"
        " FROM public.households",
        "INSERT INTO accounts (household_id, type, code, name, name_key, currency)"
        " VALUES (current_household(), 'expense', 'planted', 'planted', 'planted', 'USD')",
    ),
    "a conversion written after its entry": (
        "CREATE TEMP TABLE transactions AS SELECT id, household_id FROM public.transactions",
        "INSERT INTO conversions (transaction_id, from_currency, from_amount_minor,"
        " to_currency, to_amount_minor, rate)"
        " SELECT id, 'EUR', 100000000, 'UAH', 1, 0.00000001 FROM pg_temp.transactions"
        " ORDER BY id LIMIT 1",
    ),
}


@pytest.mark.parametrize("attack", SHADOWED.values(), ids=SHADOWED.keys())
async def test_a_temporary_table_cannot_stand_in_for_the_one_a_guard_reads(
    app: asyncpg.Connection, populated: str, attack: tuple[str, str]
) -> None:
    before = await _ledger(populated)
    stand_in, statement = attack
    # One query string, so one transaction: the stand-in's rows carry this transaction's
    # id (xmin), which is what the conversion's guard looks for in its entry.
    with pytest.raises(asyncpg.IntegrityConstraintViolationError):
        await app.execute(f"{stand_in}; {statement}")
    assert await _ledger(populated) == before
    assert await check_ledger(app) == []


# Functions that read no table, so need no fixed search path: the policies' binding (a SQL
# function left inlinable) and guards that look only at the row they are given.
READ_NO_TABLE = {
    "current_household",
    "ledger_balance_by_postings_only",
    "ledger_number_only_forward",
    "ledger_refuse_change",
    "ledger_transaction_void_link_only",
}


async def test_every_function_that_reads_a_table_fixes_its_search_path(
    fresh_database_url: str,
) -> None:
    """Run by the bot's role, a function finds tables by its search path, where the role's
    temporary tables come first unless the path says otherwise."""
    connection = await asyncpg.connect(fresh_database_url)
    try:
        rows = await connection.fetch(
            """
            SELECT p.proname, p.proconfig FROM pg_proc p
              JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'public'
            """
        )
    finally:
        await connection.close()
    unpinned = {
        row["proname"]
        for row in rows
        if "search_path=public, pg_temp" not in (row["proconfig"] or [])
    }
    assert unpinned == READ_NO_TABLE


# The functions the bot calls that run with the owner's rights: each answers with ids or
# counts, or does one narrow thing it checks itself (docs/adr/0021, 0022, 0012). Any other
# function running as the owner is a trigger's, which no one can call directly.
DEFINER_ENTRY_POINTS = {
    "first_household",
    "former_household",
    "household_ids",
    "household_of_any",
    "household_summaries",
    "household_zones",
    "households_with_digests",
    "households_with_live_rules",
    "households_with_unsent_notices",
    "member_household",
    "prune_idempotency_keys",
    "redeem_invite",
}


async def test_the_bot_calls_no_function_with_the_owners_rights_but_its_entry_points(
    fresh_database_url: str,
) -> None:
    """A helper of the triggers that runs as the owner writes what the bot's role may not:
    it must not be callable by that role (it needs no rights of its own, being called from
    a trigger function that already runs as the owner)."""
    connection = await asyncpg.connect(fresh_database_url)
    try:
        callable_as_owner = await connection.fetch(
            """
            SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'public' AND p.prosecdef
               AND p.prorettype <> 'trigger'::regtype
               AND has_function_privilege($1, p.oid, 'EXECUTE')
            """,
            APP,
        )
    finally:
        await connection.close()
    assert {row["proname"] for row in callable_as_owner} == DEFINER_ENTRY_POINTS


async def test_every_table_has_a_decision_for_the_bot(fresh_database_url: str) -> None:
    """A migration that adds a table must say in grants.sql what the bot may do with it."""
    connection = await asyncpg.connect(fresh_database_url)
    try:
        tables = await connection.fetch(
            """
            SELECT c.relname,
                   bool_or(has_table_privilege($1, c.oid, p)) AS any_privilege
              FROM pg_class c
              JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
             CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) AS p
             WHERE c.relkind IN ('r', 'p')
             GROUP BY c.relname
            """,
            APP,
        )
    finally:
        await connection.close()
    undecided = {r["relname"] for r in tables if not r["any_privilege"]} - NOT_FOR_THE_BOT
    assert undecided == set()
    assert {r["relname"] for r in tables} >= {"postings", "schema_migrations"}


async def test_the_roles_have_no_power_beyond_their_grants(fresh_database_url: str) -> None:
    connection = await asyncpg.connect(fresh_database_url)
    try:
        for role in (*LOGIN_ROLES, READER):
            attributes = await role_attributes(connection, role)
            assert attributes["rolcanlogin"] is (role != READER)
            powers = {k: v for k, v in attributes.items() if k not in ("rolcanlogin", "rolinherit")}
            assert not any(powers.values()), (role, powers)
        foreign = await connection.fetch(
            """
            SELECT 'class ' || c.relname AS what, pg_get_userbyid(c.relowner) AS owner
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname IN ('public', 'reporting') AND c.relkind IN ('r','v','m','S','p')
            UNION ALL
            SELECT 'function ' || p.proname, pg_get_userbyid(p.proowner)
              FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname IN ('public', 'reporting')
            UNION ALL
            SELECT 'type ' || t.typname, pg_get_userbyid(t.typowner)
              FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
             WHERE n.nspname IN ('public', 'reporting')
            UNION ALL
            SELECT 'schema ' || nspname, pg_get_userbyid(nspowner) FROM pg_namespace
             WHERE nspname IN ('public', 'reporting')
            """
        )
        assert foreign  # the query sees the schema at all
        assert {(r["what"], r["owner"]) for r in foreign if r["owner"] != OWNER} == set()
    finally:
        await connection.close()


# --- the dump role ---------------------------------------------------------------------------


async def test_the_dump_role_reads_everything_and_writes_only_its_backup_row(
    populated: str,
) -> None:
    connection = await asyncpg.connect(as_role(populated, DUMP))
    try:
        tables = await connection.fetch(
            "SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables"
            " WHERE schemaname = 'public'"
            " UNION ALL SELECT format('%I.%I', schemaname, viewname) FROM pg_views"
            " WHERE schemaname = 'reporting'"
        )
        for (name,) in tables:
            await connection.fetch(f"SELECT * FROM {name} LIMIT 1")
            for privilege in ("INSERT", "UPDATE", "DELETE", "TRUNCATE"):
                held = await connection.fetchval(
                    "SELECT has_table_privilege($1, $2)", name, privilege
                )
                assert held is (name == "public.backup_runs" and privilege == "INSERT"), (
                    name,
                    privilege,
                )
        await connection.execute(
            "INSERT INTO backup_runs (finished_at, file_name, size_bytes, uploaded)"
            " VALUES (now(), 'x.dump', 1, false)"
        )
        for statement in (
            "DELETE FROM backup_runs",
            "UPDATE backup_runs SET size_bytes = 2",
            "INSERT INTO households DEFAULT VALUES",
            "CREATE TABLE public.planted (x int)",
            "SET session_replication_role = replica",
            "COPY backup_runs TO PROGRAM 'true'",
            "SELECT pg_read_file('/etc/hostname')",
        ):
            with pytest.raises(Refused):
                await connection.execute(statement)
    finally:
        await connection.close()


# --- Grafana's reader ------------------------------------------------------------------------


@pytest.fixture
async def grafana_login(fresh_database_url: str) -> AsyncIterator[str]:
    """A login role made the way deploy/postgres/initdb/10-grafana-reader.sh makes Grafana's."""
    role = f"fb_test_grafana_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(fresh_database_url)
    try:
        await connection.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 10")
        await connection.execute(f"GRANT {READER} TO {role}")
        await connection.execute(f"ALTER ROLE {role} SET default_transaction_read_only = on")
        await connection.execute(f"ALTER ROLE {role} SET statement_timeout = '30s'")
        yield role
    finally:
        await connection.execute(f"DROP ROLE IF EXISTS {role}")
        await connection.close()


# What Grafana sends when it connects (PGOPTIONS in compose.yml): a client's options outrank
# every ALTER ROLE ... SET, including the role's own.
GRAFANA_OPTIONS = {"statement_timeout": "30s", "default_transaction_read_only": "on"}


async def test_the_reader_cannot_alter_itself_out_of_its_limits(
    fresh_database_url: str, grafana_login: str
) -> None:
    url = as_role(fresh_database_url, grafana_login)
    connection = await asyncpg.connect(url)
    try:
        # Read-only is only a default, and PostgreSQL lets any role change its own defaults:
        # what matters is what follows.
        await connection.execute("SET default_transaction_read_only = off")
        await connection.execute(f"ALTER ROLE {grafana_login} SET statement_timeout = 0")
        await connection.execute(
            f"ALTER ROLE {grafana_login} SET default_transaction_read_only = off"
        )
        for statement in (
            f"ALTER ROLE {grafana_login} CONNECTION LIMIT -1",
            f"ALTER ROLE {grafana_login} BYPASSRLS",
            f"GRANT {APP} TO {grafana_login}",
            f"GRANT {OWNER} TO {grafana_login}",
        ):
            with pytest.raises(Refused):
                await connection.execute(statement)
    finally:
        await connection.close()

    as_grafana = await asyncpg.connect(url, server_settings=GRAFANA_OPTIONS)
    try:
        assert await as_grafana.fetchval("SHOW statement_timeout") == "30s"
        assert await as_grafana.fetchval("SHOW default_transaction_read_only") == "on"
    finally:
        await as_grafana.close()

    # And with no options at all, read-write by default: the grants still allow reading the
    # reporting views and nothing else.
    bare = await asyncpg.connect(url)
    try:
        assert await bare.fetchval("SHOW default_transaction_read_only") == "off"
        await bare.fetch("SELECT * FROM reporting.current_balances")
        for statement in (
            "SELECT * FROM public.postings",
            "INSERT INTO public.households DEFAULT VALUES",
            "UPDATE reporting.households SET created_at = now()",
            "DELETE FROM reporting.households",
            "CREATE TABLE public.planted (x int)",
            "CREATE TABLE reporting.planted (x int)",
            "CREATE VIEW reporting.planted AS SELECT 1",
            "COPY (SELECT 1) TO PROGRAM 'true'",
        ):
            with pytest.raises((Refused, asyncpg.ObjectNotInPrerequisiteStateError)):
                await bare.execute(statement)
    finally:
        await bare.close()


# --- setting the roles up ---------------------------------------------------------------------


async def test_setup_is_idempotent_and_tolerates_many_databases_at_once(
    database_server: DatabaseServer,
) -> None:
    names = [f"finance_bot_roles_{uuid.uuid4().hex[:10]}" for _ in range(4)]
    for name in names:
        await database_server.create_database(name)
    try:

        async def set_up(name: str) -> None:
            connection = await asyncpg.connect(database_server.url_for(name))
            try:
                await setup_roles(connection)
                await setup_roles(connection)
            finally:
                await connection.close()

        await asyncio.gather(*(set_up(name) for name in names))
        connection = await asyncpg.connect(database_server.url_for(names[0]))
        try:
            owner = await connection.fetchval(
                "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public'"
            )
            assert owner == OWNER
        finally:
            await connection.close()
    finally:
        for name in names:
            await database_server.drop_database(name)


async def test_setup_needs_a_superuser(fresh_database_url: str) -> None:
    from finance_bot.adapters.postgres.roles import RoleSetupError

    connection = await asyncpg.connect(as_role(fresh_database_url, OWNER))
    try:
        with pytest.raises(RoleSetupError, match="superuser"):
            await setup_roles(connection)
    finally:
        await connection.close()


async def test_the_password_is_sent_as_the_verifier_postgresql_itself_would_store(
    database_server: DatabaseServer,
) -> None:
    """The verifier finance-bot computes is byte for byte what the server computes from
    the same password, salt and iteration count: so the server never sees the password."""
    role = f"fb_test_scram_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(database_server.url)
    try:
        await connection.execute("SET password_encryption = 'scram-sha-256'")
        await connection.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'pencil and paper'")
        stored: str = await connection.fetchval(
            "SELECT rolpassword FROM pg_authid WHERE rolname = $1", role
        )
    finally:
        await connection.execute(f"DROP ROLE IF EXISTS {role}")
        await connection.close()
    iterations, salt = stored.split("$")[1].split(":")
    mine = scram_verifier(
        "pencil and paper", salt=base64.b64decode(salt), iterations=int(iterations)
    )
    assert mine == stored
    assert scram_verifier("pencil and paper") != stored  # a fresh salt each time


async def _ledger(url: str) -> tuple[object, ...]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT (SELECT array_agg(p::text ORDER BY p.id) FROM postings p),"
            " (SELECT array_agg(t::text ORDER BY t.number) FROM transactions t),"
            " (SELECT array_agg(b::text ORDER BY b.account_id) FROM account_balances b),"
            " (SELECT setting FROM pg_settings WHERE name = 'session_replication_role')"
        )
        return tuple(rows[0])
    finally:
        await connection.close()


async def test_the_bot_with_its_own_login_only_checks_the_schema(
    fresh_database_url: str, empty_database_url: str
) -> None:
    """Compose gives the bot the runtime role's login alone: it runs on a migrated schema,
    and refuses one that nobody has migrated instead of failing on a missing table later."""
    from finance_bot.bootstrap import application
    from finance_bot.config import Settings

    settings = Settings(_env_file=None, database_url=as_role(fresh_database_url, APP))  # type: ignore[call-arg]
    async with application(settings) as app:
        assert await app.pool.fetchval("SELECT current_user") == APP

    connection = await asyncpg.connect(empty_database_url)
    try:
        await setup_roles(connection)  # the administrator's step, and no `migrate` after it
    finally:
        await connection.close()
    settings = Settings(_env_file=None, database_url=as_role(empty_database_url, APP))  # type: ignore[call-arg]
    with pytest.raises(SystemExit, match="run `finance-bot migrate`"):
        async with application(settings):
            pass


async def _cli(*arguments: str, environment: dict[str, str]) -> tuple[int, str, str]:
    import os
    import sys

    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "DATA_DIR"))}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "finance_bot",
        *arguments,
        env={**clean, **environment},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_setup_roles_then_migrate_as_the_owner_from_the_command_line(
    empty_database_url: str,
) -> None:
    """The administrator's step without compose: setup-roles with a superuser's URL, then
    every job with its own login."""
    logins = {
        "DATABASE_URL": as_role(empty_database_url, APP),
        "DATABASE_OWNER_URL": as_role(empty_database_url, OWNER),
        "DATABASE_BACKUP_URL": as_role(empty_database_url, DUMP),
    }
    code, out, err = await _cli("setup-roles", environment=logins)
    assert code == 2
    assert "DATABASE_ADMIN_URL" in err

    code, out, err = await _cli("migrate", environment=logins)
    assert code == 1  # the owner may not create in a database nobody has set up
    assert "migrate failed: permission denied" in err
    assert "setup-roles" in err

    with_admin = {**logins, "DATABASE_ADMIN_URL": empty_database_url}
    code, out, err = await _cli("setup-roles", environment=with_admin)
    assert code == 0, err
    assert "roles ready" in out
    assert "passwords set" not in out  # the URLs carry none

    code, out, err = await _cli("migrate", environment=logins)
    assert code == 0, err
    assert "applied migrations" in out
    code, out, err = await _cli("check", environment=logins)
    assert (code, out.strip()) == (0, "ledger ok: every invariant holds"), err


async def test_many_starts_on_one_database_at_once(fresh_database_url: str) -> None:
    """A bot and the migrate step starting together with a superuser's URL take turns."""
    from finance_bot.adapters.postgres.roles import least_privilege_logins

    url = fresh_database_url
    found = await asyncio.gather(*(least_privilege_logins(url, url, url) for _ in range(6)))
    assert {login.runtime for login in found} == {as_role(url, APP)}


async def test_the_runtime_role_prunes_only_keys_no_redelivery_can_need(
    app: asyncpg.Connection, populated: str
) -> None:
    from finance_bot.adapters.postgres.idempotency_keys import prune_idempotency_keys

    admin = await asyncpg.connect(populated)
    try:
        keys = ["tg:1:m:1:1", "tg:1:m:1:2", "tg:1:m:1:3"]
        await admin.executemany(
            "INSERT INTO idempotency_keys (key) VALUES ($1)", [(k,) for k in keys]
        )
        await admin.execute(
            "UPDATE idempotency_keys SET created_at = now() - interval '8 days' WHERE key = $1",
            keys[0],
        )
        # Asked to keep nothing, it still keeps every key younger than a week.
        assert await prune_idempotency_keys(app, timedelta(0)) == 1
        left = {row["key"] for row in await admin.fetch("SELECT key FROM idempotency_keys")}
        assert set(keys) & left == set(keys[1:])
        with pytest.raises(Refused):
            await app.execute("DELETE FROM idempotency_keys WHERE key = $1", keys[1])
    finally:
        await admin.close()


async def test_a_role_altered_at_once_by_another_setup_is_read_again_and_retried() -> None:
    """Setups of other databases on the server alter the same roles without a lock of
    ours: the collision PostgreSQL reports is retried after reading the role again."""
    from finance_bot.adapters.postgres import roles

    class Admin:
        def __init__(self) -> None:
            self.altered: list[str] = []
            self.reads = 0

        async def fetchrow(self, query: str, role: str) -> dict[str, bool]:
            self.reads += 1
            return {column: not value for column, (_, value) in roles._ATTRIBUTES.items()} | {
                "rolcanlogin": True
            }

        async def execute(self, statement: str) -> None:
            self.altered.append(statement)
            if len(self.altered) == 1:
                raise asyncpg.InternalServerError("tuple concurrently updated")

    admin = Admin()
    await roles._ensure_role(admin, APP, login=True)  # type: ignore[arg-type]
    assert len(admin.altered) == 2
    assert admin.reads == 2
