"""The real accounting tools over an export, and the bot's own figures to hold them to.

hledger comes from the system's packages, bean-check and bean-query from the dev
dependencies. Without them a test skips on a laptop and fails in CI (CI=true), so a
missing tool can never make the checks pass by not running."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from beancount import loader
from beancount.core import data

from finance_bot.adapters.export.accounts import AccountKey, full_name
from finance_bot.adapters.export.files import FORMATS, open_writers
from finance_bot.adapters.postgres.export import PostgresExport
from finance_bot.application.export import Exported, export_books
from finance_bot.application.reports import balances, period_report
from finance_bot.domain.accounts import Account
from finance_bot.domain.periods import Period, PeriodKind
from finance_bot.ports.unit_of_work import UnitOfWorkFactory

Figures = dict[str, Decimal]  # account name in the file -> amount


def tool(name: str) -> str:
    beside_python = Path(sys.executable).parent / name
    found = str(beside_python) if beside_python.exists() else shutil.which(name)
    if found is None:
        reason = f"{name} is not installed (hledger: apt-get install hledger; beancount: dev deps)"
        if os.environ.get("CI"):  # as tests/deploy/tools.py: CI has every tool
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def run(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stderr}\n{done.stdout}"
    return done.stdout


@dataclass(frozen=True)
class Files:
    csv: Path
    journal: Path
    beancount: Path
    exported: Exported


async def export_files(
    pool: Any, household_id: int, folder: Path, period: Period | None = None
) -> Files:
    paths = {name: folder / f"books{suffix}" for name, suffix in FORMATS}
    with open_writers(paths) as writers:
        exported = await export_books(PostgresExport(pool), household_id, period, writers)
    return Files(paths["csv"], paths["ledger"], paths["beancount"], exported)


def check_files(files: Files) -> None:
    """The files as they are, by the tools' own checks."""
    hledger = tool("hledger")
    run(hledger, "-f", str(files.journal), "check", "accounts", "commodities")
    run(hledger, "-f", str(files.journal), "check", "--strict")
    run(tool("bean-check"), str(files.beancount))


def _hledger_amounts(amounts: list[dict[str, Any]]) -> dict[str, Decimal]:
    found: dict[str, Decimal] = {}
    for amount in amounts:
        quantity = amount["aquantity"]
        value = Decimal(quantity["decimalMantissa"]).scaleb(-quantity["decimalPlaces"])
        if value:
            found[amount["acommodity"]] = found.get(amount["acommodity"], Decimal(0)) + value
    return found


def hledger_balances(
    journal: Path, *query: str, cost: bool = False
) -> dict[str, dict[str, Decimal]]:
    """`hledger balance` per account and commodity, read from its JSON output."""
    arguments = [tool("hledger"), "-f", str(journal), "balance", "--flat", "-O", "json"]
    rows, _total = json.loads(run(*arguments, *(["--cost"] if cost else []), *query))
    return {row[0]: amounts for row in rows if (amounts := _hledger_amounts(row[3]))}


def bean_query(beancount: Path, query: str) -> list[list[str]]:
    out = run(tool("bean-query"), "-f", "csv", str(beancount), query)
    return list(csv.reader(io.StringIO(out)))[1:]


def hledger_month(journal: Path, month: date, base: str) -> tuple[Figures, Figures]:
    """Expenses and income per category in `month`, at cost in the base currency; income
    as the bot shows it (positive)."""
    end = Period.containing(PeriodKind.MONTH, month).end
    found = hledger_balances(
        journal, "-b", month.isoformat(), "-e", end.isoformat(), "^Expenses:", "^Income:", cost=True
    )
    spending: Figures = {}
    income: Figures = {}
    for account, amounts in found.items():
        assert set(amounts) == {base}, (account, amounts)
        if account.startswith("Expenses:"):
            spending[account] = amounts[base]
        else:
            income[account] = -amounts[base]
    return spending, income


def beancount_months(beancount: Path, base: str) -> dict[date, tuple[Figures, Figures]]:
    """Expenses and income per category and month from one bean-query, income positive."""
    rows = bean_query(
        beancount,
        "SELECT year, month, account, currency, sum(number) AS total"
        " WHERE account ~ '^(Expenses|Income):' GROUP BY year, month, account, currency",
    )
    months: dict[date, tuple[Figures, Figures]] = defaultdict(lambda: ({}, {}))
    for year, month, account, currency, number in rows:
        assert currency == base, (account, currency, number)
        if Decimal(number) == 0:
            continue
        spending, income = months[date(int(year), int(month), 1)]
        if account.startswith("Expenses:"):
            spending[account] = Decimal(number)
        else:
            income[account] = -Decimal(number)
    return months


def beancount_month(beancount: Path, month: date, base: str) -> tuple[Figures, Figures]:
    return beancount_months(beancount, base).get(month, ({}, {}))


def _name(account: Account, *, beancount: bool) -> str:
    key = AccountKey(account.type.value, account.owner_telegram_id, account.name, account.code)
    return full_name(key, beancount=beancount)


async def bot_month(
    telegram_id: int, month: date, base: str, factory: UnitOfWorkFactory, *, beancount: bool
) -> tuple[Figures, Figures]:
    """/month's spending and income per category, named as the file names them."""
    report = await period_report(
        telegram_id,
        PeriodKind.MONTH,
        month,
        only_me=False,
        today=month,
        currency=base,
        uow_factory=factory,
    )
    accounts = report.accounts

    def named(lines: Any) -> Figures:
        figures: Figures = defaultdict(Decimal)
        for line in lines:
            figures[_name(accounts[line.key], beancount=beancount)] += line.amount.to_decimal()
        return {name: value for name, value in figures.items() if value}

    return named(report.totals.by_category), named(report.totals.income_by_category)


async def bot_balances(
    members: list[int], base: str, factory: UnitOfWorkFactory, *, beancount: bool
) -> dict[str, dict[str, Decimal]]:
    """/balance of every member together, each account once, as debits less credits."""
    seen: dict[int, Any] = {}
    for member in members:
        view = await balances(member, currency=base, uow_factory=factory)
        for line in view.accounts:
            seen[line.account.id] = line
    found: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for line in seen.values():
        account = line.account
        value = account.type.normal_sign * line.balance.to_decimal()
        if value:
            name = _name(account, beancount=beancount)
            found[name][account.currency] = found[name].get(account.currency, Decimal(0)) + value
    return dict(found)


def beancount_balances(beancount: Path) -> dict[str, dict[str, Decimal]]:
    rows = bean_query(
        beancount,
        "SELECT account, currency, sum(number) AS total"
        " WHERE account ~ '^(Assets|Liabilities):' GROUP BY account, currency",
    )
    found: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for account, currency, total in rows:
        if Decimal(total):
            found[account][currency] = Decimal(total)
    return dict(found)


def hledger_transactions(journal: Path) -> int:
    return len(json.loads(run(tool("hledger"), "-f", str(journal), "print", "-O", "json")))


def beancount_transactions(beancount: Path) -> int:
    entries, errors, _options = loader.load_file(str(beancount))
    assert not errors, errors
    return sum(isinstance(entry, data.Transaction) for entry in entries)
