"""The postgres image's init scripts against a real PostgreSQL: the finance-bot roles made,
an old installation's schema handed to the owner role, and no password on psql's command
line (docs/adr/0009)."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from finance_bot.adapters.postgres.roles import APP, DUMP, OWNER, READER, login_url
from tests.deploy.tools import DEPLOY
from tests.integration.test_roles_upgrade import _migrate_as_the_previous_version_did, _owners
from tests.support.databases import DatabaseServer

pytestmark = pytest.mark.postgres
INITDB = DEPLOY / "postgres" / "initdb"
ROLES_SCRIPT = INITDB / "05-finance-bot-roles.sh"
GRAFANA_SCRIPT = INITDB / "10-grafana-reader.sh"
PASSWORDS = {
    "FINANCE_BOT_OWNER_PASSWORD": "owner0secret0a1b2c3",
    "FINANCE_BOT_APP_PASSWORD": "app0secret0d4e5f6",
    "FINANCE_BOT_DUMP_PASSWORD": "dump0secret0a7b8c9",
    "GRAFANA_DB_PASSWORD": "grafana0secret0d1e2",
}


def _psql(server: DatabaseServer) -> str:
    for candidate in (server.bin_dir / "psql" if server.bin_dir else None, shutil.which("psql")):
        if candidate is not None and os.access(candidate, os.X_OK):
            return str(candidate)
    pytest.skip("psql is not installed")


def _environment(url: str, psql_dir: str, **extra: str) -> dict[str, str]:
    """What the postgres image gives its init scripts, pointed at the test server."""
    parts = urlsplit(url)
    query = dict(item.split("=", 1) for item in parts.query.split("&") if "=" in item)
    environment = {
        "PATH": f"{psql_dir}:{os.environ['PATH']}",
        "POSTGRES_USER": parts.username or "postgres",
        "POSTGRES_DB": parts.path.lstrip("/"),
        "PGHOST": query.get("host") or parts.hostname or "",
        **PASSWORDS,
        **extra,
    }
    if parts.port:
        environment["PGPORT"] = str(parts.port)
    return environment


async def _run(script: Path, environment: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        "bash",
        str(script),
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_the_roles_script_upgrades_an_old_installation(
    empty_database_url: str, database_server: DatabaseServer
) -> None:
    await _migrate_as_the_previous_version_did(empty_database_url)
    assert await _owners(empty_database_url) != {OWNER}
    psql_dir = str(Path(_psql(database_server)).parent)

    for _ in range(2):  # `make deploy` runs it on every deploy
        code, out = await _run(ROLES_SCRIPT, _environment(empty_database_url, psql_dir))
        assert code == 0, out

    assert await _owners(empty_database_url) == {OWNER}
    connection = await asyncpg.connect(empty_database_url)
    try:
        rows = await connection.fetch(
            "SELECT rolname, rolcanlogin, rolsuper OR rolcreaterole OR rolcreatedb"
            " OR rolbypassrls OR rolreplication AS power, rolpassword LIKE 'SCRAM-SHA-256$%'"
            " AS scram FROM pg_authid WHERE rolname = ANY($1::text[]) ORDER BY 1",
            [OWNER, APP, DUMP, READER],
        )
    finally:
        await connection.close()
    assert [tuple(r) for r in rows] == [
        (APP, True, False, True),
        (DUMP, True, False, True),
        (OWNER, True, False, True),
        (READER, False, False, None),
    ]
    # The owner can now bring the schema up to date.
    from finance_bot.adapters.postgres.migrator import available_migrations, migrate

    newer = [m.version for m in available_migrations() if m.version > 3]
    connection = await asyncpg.connect(login_url(empty_database_url, OWNER))
    try:
        assert await migrate(connection) == newer
    finally:
        await connection.close()


async def test_the_roles_script_refuses_an_empty_password(
    empty_database_url: str, database_server: DatabaseServer
) -> None:
    psql_dir = str(Path(_psql(database_server)).parent)
    environment = _environment(empty_database_url, psql_dir, FINANCE_BOT_APP_PASSWORD="")
    code, out = await _run(ROLES_SCRIPT, environment)
    assert code == 1
    assert "FINANCE_BOT_APP_PASSWORD is empty" in out


@pytest.mark.parametrize("script", [ROLES_SCRIPT, GRAFANA_SCRIPT], ids=lambda p: p.name)
async def test_no_password_reaches_psqls_command_line(
    script: Path, tmp_path: Path, empty_database_url: str
) -> None:
    """A psql that records its arguments and its input: the passwords are in neither; the
    script tells psql to read them from its environment."""
    fake = tmp_path / "psql"
    fake.write_text(
        '#!/usr/bin/env bash\nprintf "%s\\n" "$@" > "$FAKE_ARGS"\ncat > "$FAKE_INPUT"\n',
        encoding="utf-8",
    )
    fake.chmod(0o755)
    args, stdin = tmp_path / "args", tmp_path / "stdin"
    environment = _environment(
        empty_database_url, str(tmp_path), FAKE_ARGS=str(args), FAKE_INPUT=str(stdin)
    )
    code, out = await _run(script, environment)
    assert code == 0, out
    seen = args.read_text(encoding="utf-8") + stdin.read_text(encoding="utf-8")
    for password in PASSWORDS.values():
        assert password not in seen
    assert "\\getenv" in stdin.read_text(encoding="utf-8")


async def test_the_grafana_script_makes_a_reader_with_a_connection_limit(
    fresh_database_url: str, database_server: DatabaseServer
) -> None:
    psql_dir = str(Path(_psql(database_server)).parent)
    role = f"fb_test_grafana_{uuid.uuid4().hex[:12]}"
    environment = _environment(fresh_database_url, psql_dir, GRAFANA_DB_USER=role)
    try:
        code, out = await _run(GRAFANA_SCRIPT, environment)
        assert code == 0, out
        connection = await asyncpg.connect(fresh_database_url)
        try:
            row = await connection.fetchrow(
                "SELECT rolconnlimit, pg_has_role(rolname, $2, 'MEMBER') AS member,"
                " (SELECT setconfig FROM pg_db_role_setting WHERE setrole = r.oid"
                "   AND setdatabase = 0) AS settings"
                " FROM pg_roles r WHERE rolname = $1",
                role,
                READER,
            )
        finally:
            await connection.close()
        assert row is not None
        assert (row["rolconnlimit"], row["member"]) == (10, True)
        assert sorted(row["settings"]) == [
            "default_transaction_read_only=on",
            "statement_timeout=30s",
        ]
    finally:
        connection = await asyncpg.connect(fresh_database_url)
        try:
            await connection.execute(f"DROP ROLE IF EXISTS {role}")
        finally:
            await connection.close()
