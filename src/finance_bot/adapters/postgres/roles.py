"""The database roles, and the administrator's step that makes them (docs/adr/0009).

    finance_bot_owner   owns every object of the schema; migrations and restores run as it
    finance_bot_app     the running bot: owns nothing, holds only the grants in grants.sql
    finance_bot_dump    backups: reads everything, writes its own row in backup_runs
    finance_bot_reader  Grafana's reporting views (migration 0003), through a login member

None is a superuser, none may create roles or databases, none bypasses row-level
security. Roles belong to the whole server: every step here is idempotent and takes a
concurrent creation by another database's setup as success.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg

log = logging.getLogger(__name__)

OWNER, APP, DUMP, READER = (
    "finance_bot_owner",
    "finance_bot_app",
    "finance_bot_dump",
    "finance_bot_reader",
)
LOGIN_ROLES = (OWNER, APP, DUMP)
SCHEMAS = ("public", "reporting")
# Each attribute as pg_roles names it, and the value every finance-bot role must have.
_ATTRIBUTES = {
    "rolsuper": ("SUPERUSER", False),
    "rolcreaterole": ("CREATEROLE", False),
    "rolcreatedb": ("CREATEDB", False),
    "rolreplication": ("REPLICATION", False),
    "rolbypassrls": ("BYPASSRLS", False),
    "rolinherit": ("INHERIT", True),
}
_SETUP_LOCK_KEY = 0x726F6C6573  # "roles"
_ALTER_ATTEMPTS = 5
_SCRAM_ITERATIONS = 4096  # PostgreSQL's own default (scram_iterations)
_VERIFIER = re.compile(r"^SCRAM-SHA-256\$\d+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$")


class RoleSetupError(RuntimeError):
    """The roles cannot be set up with this connection; the message says what to do."""


def login_url(url: str, role: str) -> str:
    """The same server and database, logged in as `role` with no password: for a server
    that trusts its local connections (the embedded one, the test server)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{role}@{host}"))


def url_user(url: str) -> str | None:
    user = urlsplit(url).username
    return unquote(user) if user else None


def url_password(url: str) -> str | None:
    password = urlsplit(url).password
    return unquote(password) if password else None


def scram_verifier(password: str, *, salt: bytes | None = None, iterations: int = 0) -> str:
    """What PostgreSQL stores for a SCRAM-SHA-256 password. Sending this instead of the
    password keeps the password itself out of the server's statement log (psql's
    \\password does the same)."""
    salt = salt if salt is not None else os.urandom(16)
    iterations = iterations or _SCRAM_ITERATIONS
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


async def is_superuser(connection: asyncpg.Connection) -> bool:
    value: bool = await connection.fetchval(
        "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
    )
    return value


async def setup_roles(
    admin: asyncpg.Connection, *, passwords: Mapping[str, str] | None = None
) -> None:
    """Make the roles, give the owner the database's schema objects, and let the roles
    reach the database. `admin` is a superuser's connection to the finance-bot database.
    `passwords` maps login roles to the passwords they log in with (compose); without one a
    role logs in only where the server trusts the connection."""
    if not await is_superuser(admin):
        raise RoleSetupError(
            "setting up the database roles needs a superuser connection (DATABASE_ADMIN_URL)"
        )
    for role in (*LOGIN_ROLES, READER):
        await _ensure_role(admin, role, login=role != READER)
    for role, password in (passwords or {}).items():
        if role not in LOGIN_ROLES:
            raise RoleSetupError(f"{role} is not a finance-bot login role")
        verifier = scram_verifier(password)
        assert _VERIFIER.match(verifier)  # nothing in it needs quoting
        await admin.execute(f"ALTER ROLE {role} PASSWORD '{verifier}'")
    database = await admin.fetchval("SELECT quote_ident(current_database())")
    async with admin.transaction():
        # Two processes setting up one database at once (a bot and `migrate`) would update
        # the same catalog rows: they take turns.
        await admin.execute("SELECT pg_advisory_xact_lock($1)", _SETUP_LOCK_KEY)
        # The owner may make schemas (migration 0003 does); the others only connect.
        await admin.execute(f"GRANT CONNECT, CREATE ON DATABASE {database} TO {OWNER}")
        await admin.execute(f"GRANT CONNECT ON DATABASE {database} TO {APP}, {DUMP}, {READER}")
        moved = await _hand_over(admin)
    if moved:
        log.info(f"{moved} database objects handed to the role {OWNER}")


async def _ensure_role(admin: asyncpg.Connection, role: str, *, login: bool) -> None:
    row = await admin.fetchrow("SELECT * FROM pg_roles WHERE rolname = $1", role)
    if row is None:
        try:
            await admin.execute(f"CREATE ROLE {role} {'LOGIN' if login else 'NOLOGIN'}")
        except (asyncpg.DuplicateObjectError, asyncpg.UniqueViolationError):
            pass  # another database's setup made it first
        else:
            log.info(f"database role {role} created")
        row = await admin.fetchrow("SELECT * FROM pg_roles WHERE rolname = $1", role)
        assert row is not None
    wanted = {**_ATTRIBUTES, "rolcanlogin": ("LOGIN", login)}
    # Altered only when different: roles are shared by every database on the server, and
    # two setups altering the same role at once collide ("tuple concurrently updated").
    # Setups of other databases take no lock of ours (advisory locks are per database), so
    # a collision is read again and retried: the other setup may have done it already.
    for attempt in range(_ALTER_ATTEMPTS):
        changes = [
            keyword if value else f"NO{keyword}"
            for column, (keyword, value) in wanted.items()
            if row[column] != value
        ]
        if not changes:
            return
        try:
            await admin.execute(f"ALTER ROLE {role} {' '.join(changes)}")
        except asyncpg.InternalServerError as error:
            if "concurrently" not in str(error) or attempt == _ALTER_ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.05 * (attempt + 1))
            row = await admin.fetchrow("SELECT * FROM pg_roles WHERE rolname = $1", role)
            assert row is not None
        else:
            log.warning(f"database role {role}: attributes corrected ({' '.join(changes)})")
            return


# Every object in the finance-bot schemas not yet owned by the owner role, with the
# statement that hands it over. Sequences of identity columns move with their table.
_FOREIGN_OBJECTS = """
    WITH ours AS (
        SELECT oid, nspname FROM pg_namespace WHERE nspname = ANY($2::text[])
    ), owner AS (
        SELECT oid FROM pg_roles WHERE rolname = $1::text
    )
    SELECT format('ALTER SCHEMA %I OWNER TO %I', n.nspname, $1::text) FROM pg_namespace n
      JOIN ours USING (oid) WHERE n.nspowner <> (SELECT oid FROM owner)
    UNION ALL
    SELECT format('ALTER %s %I.%I OWNER TO %I',
                  CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                                 WHEN 'm' THEN 'MATERIALIZED VIEW'
                                 WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
                  ours.nspname, c.relname, $1::text)
      FROM pg_class c JOIN ours ON ours.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND c.relowner <> (SELECT oid FROM owner)
       AND NOT EXISTS (SELECT FROM pg_depend d
                        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                          AND d.deptype IN ('a', 'i'))
    UNION ALL
    SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, $1::text)
      FROM pg_proc p JOIN ours ON ours.oid = p.pronamespace
     WHERE p.proowner <> (SELECT oid FROM owner)
    UNION ALL
    SELECT format('ALTER TYPE %I.%I OWNER TO %I', ours.nspname, t.typname, $1::text)
      FROM pg_type t JOIN ours ON ours.oid = t.typnamespace
     WHERE t.typtype IN ('e', 'd', 'r') AND t.typowner <> (SELECT oid FROM owner)
"""


async def _hand_over(admin: asyncpg.Connection) -> int:
    """Give the owner role every object of the schemas that another role (the superuser,
    before finance-bot had roles) owns. Ownership changes; no row is touched."""
    statements = await admin.fetch(_FOREIGN_OBJECTS, OWNER, list(SCHEMAS))
    for (statement,) in statements:
        await admin.execute(statement)
    return len(statements)


async def role_attributes(connection: asyncpg.Connection, role: str) -> dict[str, bool]:
    row = await connection.fetchrow("SELECT * FROM pg_roles WHERE rolname = $1", role)
    if row is None:
        return {}
    return {column: bool(row[column]) for column in (*_ATTRIBUTES, "rolcanlogin")}


@dataclass(frozen=True)
class Logins:
    """The connection URLs finance-bot uses, one per job. Secrets: never logged."""

    runtime: str = field(repr=False)  # the bot, `check`
    owner: str = field(repr=False)  # migrations, restores
    backup: str = field(repr=False)  # pg_dump and its backup_runs row
    set_up_here: bool = False  # the roles were set up with a superuser's URL given to us


async def least_privilege_logins(runtime: str, owner: str, backup: str) -> Logins:
    """The logins to use for the configured URLs. A URL that logs in as a superuser (the
    embedded server's, a test server's, an installation from before the roles) is first
    used to set the roles up, then replaced by the finance-bot role for its job on the
    same server, reached without a password: so the least-privilege roles are what runs,
    whatever is configured."""
    wanted = {"runtime": (runtime, APP), "owner": (owner, OWNER), "backup": (backup, DUMP)}
    superuser: dict[str, bool] = {}
    for url, _ in wanted.values():
        if url not in superuser:
            superuser[url] = await _connects_as_superuser(url)
    admin = next((url for url, is_super in superuser.items() if is_super), None)
    if admin is None:
        return Logins(runtime, owner, backup)
    connection = await asyncpg.connect(admin)
    try:
        await setup_roles(connection)
    finally:
        await connection.close()
    chosen = {
        job: login_url(url, role) if superuser[url] else url for job, (url, role) in wanted.items()
    }
    await _reachable(chosen["runtime"], APP)
    return Logins(**chosen, set_up_here=True)


async def _connects_as_superuser(url: str) -> bool:
    connection = await asyncpg.connect(url)
    try:
        return await is_superuser(connection)
    finally:
        await connection.close()


async def _reachable(url: str, role: str) -> None:
    try:
        connection = await asyncpg.connect(url)
    except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError) as error:
        raise RoleSetupError(
            f"finance-bot was given a superuser's URL and set up its roles, but this server "
            f"does not let {role} log in without a password: give each job its own login "
            "(DATABASE_URL, DATABASE_OWNER_URL, DATABASE_BACKUP_URL; docs/runbook.md)"
        ) from error
    await connection.close()


async def login_for(url: str, role: str) -> str:
    """`url` itself, unless it logs in as a superuser: then the roles are set up with it
    and the URL of `role` on the same server is returned instead."""
    connection = await asyncpg.connect(url)
    try:
        if not await is_superuser(connection):
            return url
        await setup_roles(connection)
    finally:
        await connection.close()
    return login_url(url, role)
