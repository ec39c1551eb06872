"""The `finance-bot` command line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import asyncpg
from aiogram.exceptions import TelegramBadRequest
from pydantic import ValidationError

from finance_bot.adapters.observability.logs import configure_logging
from finance_bot.adapters.postgres.check import Violation, check_all
from finance_bot.adapters.postgres.migrator import migrate
from finance_bot.adapters.telegram.polling import TokenRejected
from finance_bot.bootstrap import (
    admin_database,
    backup_options,
    database,
    delete_webhook,
    import_books_file,
    role_passwords,
    run_async,
    run_bot,
    set_webhook,
)
from finance_bot.config import Settings
from finance_bot.sandbox.terminal import run_sandbox, sandbox_log_file

log = logging.getLogger("finance_bot")
T = TypeVar("T")

EXIT_BAD_CONFIGURATION = 2  # README, "Exit codes"
EXIT_TOKEN_REJECTED = 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="finance-bot", description="A household's double-entry books, kept by chatting."
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="migrate, then serve the chat by long-polling (the default)")
    commands.add_parser("sandbox", help="chat with the bot in this terminal, offline, no token")
    commands.add_parser("migrate", help="bring the database schema up to date")
    commands.add_parser("check", help="re-verify every ledger invariant; exit 1 on a violation")
    commands.add_parser(
        "households", help="list the households: id, members, entries, last activity (no names)"
    )
    commands.add_parser("backup", help="dump the database into BACKUP_DIR; upload, prune")
    restore_command = commands.add_parser(
        "restore", help="load a backup into an empty database, then check the ledger"
    )
    restore_command.add_argument("file", help="a backup file, or s3://bucket/key")
    restore_command.add_argument(
        "--allow-unencrypted",
        action="store_true",
        help="restore a plain pg_dump archive although BACKUP_PASSPHRASE is set",
    )
    import_command = commands.add_parser(
        "import", help="load a CSV export into the books; again, it adds nothing"
    )
    import_command.add_argument("file", help="a CSV file written by `finance-bot export`")
    import_command.add_argument(
        "--new-household",
        action="store_true",
        help="load it as a household of its own although the database keeps one already",
    )
    commands.add_parser(
        "setup-roles",
        help="as a superuser (DATABASE_ADMIN_URL): make the database roles, hand the schema "
        "to the owner role, set the passwords the DATABASE_*_URL settings carry",
    )
    _export_arguments(
        commands.add_parser("export", help="write the books as CSV, ledger or beancount")
    )
    hook = commands.add_parser(
        "set-webhook", help="have Telegram push updates to URL (BOT_MODE=webhook, WEBHOOK_SECRET)"
    )
    hook.add_argument("url", help="the public https URL of POST /telegram/webhook")
    hook.add_argument(
        "--max-connections",
        type=int,
        default=40,
        choices=range(1, 101),
        metavar="1-100",
        help="requests Telegram keeps open at once (default 40)",
    )
    commands.add_parser("delete-webhook", help="stop the webhook: back to long polling")
    return parser


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("csv", "ledger", "beancount"), default="csv")
    parser.add_argument("--period", help="YYYY or YYYY-MM (default: everything)")
    parser.add_argument("--output", help="a file to write (default: standard output)")
    parser.add_argument("--household", type=int, help="which household, when there are several")


async def _export(settings: Settings, arguments: argparse.Namespace) -> int:
    from finance_bot.bootstrap import export_command

    return await export_command(
        settings, arguments.format, arguments.period, arguments.output, arguments.household
    )


async def _migrate(settings: Settings) -> int:
    async with database(settings) as db:
        connection = await asyncpg.connect(db.logins.owner)
        try:
            applied = await migrate(connection)
        except asyncpg.InsufficientPrivilegeError as error:
            print(
                f"migrate failed: {error}. Migrations run as finance_bot_owner "
                "(DATABASE_OWNER_URL), on a database set up by `finance-bot setup-roles`",
                file=sys.stderr,
            )
            return 1
        finally:
            await connection.close()
    print(f"applied migrations: {applied}" if applied else "schema is up to date")
    return 0


async def _as_runtime(settings: Settings, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """`work` on one connection as the bot's own role, the one a reading command needs."""
    async with database(settings) as db:
        connection = await asyncpg.connect(db.url)
        try:
            return await work(connection)
        finally:
            await connection.close()


async def _check(settings: Settings) -> int:
    violations = await _as_runtime(settings, check_all)
    return _report(violations, ok="ledger ok: every invariant holds", failed="ledger check failed")


async def _households(settings: Settings) -> int:
    from finance_bot.adapters.postgres.households import household_summaries, summary_table

    sys.stdout.write(summary_table(await _as_runtime(settings, household_summaries)))
    return 0


async def _backup(settings: Settings) -> int:
    from finance_bot.adapters.backup import BackupError, run_backup

    async with database(settings) as db:
        try:
            options = backup_options(settings, db.client_bin_dir)
            done = await run_backup(db.logins.backup, options)
        except BackupError as error:
            print(f"backup failed: {error}", file=sys.stderr)
            return 1
    print(f"backup written: {done.path} ({done.size_bytes} bytes)")
    if done.uploaded_to is not None:
        print(f"uploaded to {done.uploaded_to}")
    for pruned in done.pruned:
        print(f"pruned {pruned.name}")
    return 0


async def _restore(settings: Settings, source: str, *, allow_unencrypted: bool) -> int:
    from finance_bot.adapters.backup import BackupError, restore

    async with database(settings) as db:
        try:
            options = backup_options(settings, db.client_bin_dir)
            violations = await restore(
                db.logins.owner, source, options, allow_unencrypted=allow_unencrypted
            )
        except BackupError as error:
            print(f"restore failed: {error}", file=sys.stderr)
            return 1
    return _report(
        violations,
        ok="restored; ledger ok: every invariant holds",
        failed="restored, but the ledger check failed",
    )


async def _setup_roles(settings: Settings) -> int:
    from finance_bot.adapters.postgres.roles import RoleSetupError, setup_roles

    passwords = role_passwords(settings)
    admin = settings.database_admin_url
    if admin is None and settings.database_url is not None:
        print("setup-roles needs DATABASE_ADMIN_URL, a superuser's URL", file=sys.stderr)
        return 2
    async with admin_database(settings) as url:
        connection = await asyncpg.connect(url)
        try:
            await setup_roles(connection, passwords=passwords)
        except RoleSetupError as error:
            print(f"setup-roles failed: {error}", file=sys.stderr)
            return 1
        finally:
            await connection.close()
    print("roles ready: finance_bot_owner, finance_bot_app, finance_bot_dump, finance_bot_reader")
    if passwords:
        print("passwords set for: " + ", ".join(sorted(passwords)))
    print("next: `finance-bot migrate` (as the owner) applies the schema and the grants")
    return 0


def _import(settings: Settings, path: str, *, new_household: bool) -> int:
    from finance_bot.ports.books_import import BooksRefused

    try:
        with open(path, encoding="utf-8", newline="") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError) as error:
        print(f"import failed: cannot read {path}: {error}", file=sys.stderr)
        return 1
    try:
        imported, violations = run_async(
            import_books_file(settings, text, new_household=new_household)
        )
    except BooksRefused as refused:
        print(f"import refused, nothing written: {refused}", file=sys.stderr)
        return 1
    print(
        f"imported {imported.added} transaction(s), {imported.skipped} already there"
        + (f", household {imported.household_id}" if imported.household_id else "")
        + (" (new)" if imported.new_household else "")
    )
    return _report(violations, ok="ledger ok: every invariant holds", failed="ledger check failed")


def _report(violations: Sequence[Violation], *, ok: str, failed: str) -> int:
    """Print a ledger check's outcome; the exit code is 1 when anything is wrong."""
    if not violations:
        print(ok)
        return 0
    for violation in violations:
        print(violation, file=sys.stderr)
    print(f"{failed}: {len(violations)} violation(s)", file=sys.stderr)
    return 1


def _set_webhook(settings: Settings, url: str, *, max_connections: int) -> int:
    try:
        run_async(set_webhook(settings, url, max_connections=max_connections))
    except TelegramBadRequest as refused:
        # Telegram's own words about the URL or the limits: what the operator must fix. They
        # quote neither the token (not part of what it reads) nor the secret.
        print(f"set-webhook refused by Telegram: {refused.message}", file=sys.stderr)
        return 1
    print("webhook set; run the bot with BOT_MODE=webhook")
    return 0


def _run(settings: Settings) -> int:
    try:
        run_async(run_bot(settings))
    except TokenRejected as rejected:
        # One line that says what to fix; a traceback would say nothing more.
        log.error(
            "telegram rejected the bot token; check TELEGRAM_BOT_TOKEN",
            extra={"kind": rejected.cause, "status": rejected.status, "method": rejected.method},
        )
        return EXIT_TOKEN_REJECTED
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as error:  # one message per bad setting, no traceback
        print(f"configuration error: {error}", file=sys.stderr)
        return EXIT_BAD_CONFIGURATION
    if arguments.command == "sandbox":
        configure_logging(settings.log_level, file=sandbox_log_file(settings))
        run_async(run_sandbox(settings))
        return 0
    configure_logging(settings.log_level)
    try:
        return _command(arguments, settings)
    except Exception:
        # Not Python's own traceback: it prints the error's message, which may quote what
        # the log must not show — the token in a Bot API proxy's error page, a piece of a
        # database password a URL parser choked on. The log keeps its type and stack.
        log.exception("finance-bot stopped by an unexpected error")
        return 1


def _command(arguments: argparse.Namespace, settings: Settings) -> int:
    if arguments.command == "run":
        return _run(settings)
    if arguments.command == "migrate":
        return run_async(_migrate(settings))
    if arguments.command == "check":
        return run_async(_check(settings))
    if arguments.command == "households":
        return run_async(_households(settings))
    if arguments.command == "backup":
        return run_async(_backup(settings))
    if arguments.command == "restore":
        return run_async(
            _restore(settings, arguments.file, allow_unencrypted=arguments.allow_unencrypted)
        )
    if arguments.command == "export":
        return run_async(_export(settings, arguments))
    if arguments.command == "import":
        return _import(settings, arguments.file, new_household=arguments.new_household)
    if arguments.command == "setup-roles":
        return run_async(_setup_roles(settings))
    if arguments.command == "set-webhook":
        return _set_webhook(settings, arguments.url, max_connections=arguments.max_connections)
    if arguments.command == "delete-webhook":
        run_async(delete_webhook(settings))
        print("webhook deleted; run the bot with BOT_MODE=polling")
        return 0
    _parser().print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
