"""The `finance-bot` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import asyncpg

from finance_bot.adapters.logs import configure_logging
from finance_bot.adapters.postgres.check import check_ledger
from finance_bot.adapters.postgres.migrations import migrate
from finance_bot.bootstrap import database, run_async, run_bot
from finance_bot.config import Settings
from finance_bot.sandbox import run_sandbox


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="finance-bot", description="A household's double-entry books, kept by chatting."
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="migrate, then serve the chat by long-polling (the default)")
    commands.add_parser("sandbox", help="chat with the bot in this terminal, offline, no token")
    commands.add_parser("migrate", help="bring the database schema up to date")
    commands.add_parser("check", help="re-verify every ledger invariant; exit 1 on a violation")
    return parser


async def _migrate(settings: Settings) -> int:
    async with database(settings) as db:
        connection = await asyncpg.connect(db.url)
        try:
            applied = await migrate(connection)
        finally:
            await connection.close()
    print(f"applied migrations: {applied}" if applied else "schema is up to date")
    return 0


async def _check(settings: Settings) -> int:
    async with database(settings) as db:
        connection = await asyncpg.connect(db.url)
        try:
            violations = await check_ledger(connection)
        finally:
            await connection.close()
    if not violations:
        print("ledger ok: every invariant holds")
        return 0
    for violation in violations:
        print(violation, file=sys.stderr)
    print(f"ledger check failed: {len(violations)} violation(s)", file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_level)
    if arguments.command == "run":
        run_async(run_bot(settings))
        return 0
    if arguments.command == "sandbox":
        run_async(run_sandbox(settings))
        return 0
    if arguments.command == "migrate":
        return run_async(_migrate(settings))
    if arguments.command == "check":
        return run_async(_check(settings))
    _parser().print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
