"""`finance-bot export` as a person runs it: a format, a period, a file or standard output,
and which household when there are several (docs/product.md §13)."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import date
from pathlib import Path

import pytest

from finance_bot.application.export import Exported
from tests.support.export_tools import Files, check_files, hledger_month
from tests.support.household import Household, ledger_world

pytestmark = pytest.mark.postgres


async def _cli(url: str, *arguments: str) -> tuple[int, bytes, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "finance_bot",
        "export",
        *arguments,
        env={**os.environ, "DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out, err.decode()


async def _books(url: str) -> Household:
    async with ledger_world(url) as world:
        home = await world.household()
        await home.spend(250, "cafe", on=date(2026, 3, 5), note="ужин; «Ёлка»")
        await home.spend(90, "taxi", on=date(2026, 4, 1))
        await home.void(2)
        return home


async def test_export_writes_each_format_to_a_file_or_stdout(
    fresh_database_url: str, tmp_path: Path
) -> None:
    await _books(fresh_database_url)
    paths = {name: tmp_path / f"books.{name}" for name in ("csv", "ledger", "beancount")}
    for name, path in paths.items():
        code, out, err = await _cli(fresh_database_url, "--format", name, "--output", str(path))
        assert (code, out) == (0, b""), err
        assert "exported 3 transaction(s)" in err
    code, out, err = await _cli(fresh_database_url, "--format", "ledger")
    assert code == 0, err
    assert out == paths["ledger"].read_bytes()
    assert "ужин, «Ёлка»" in out.decode("utf-8")
    check_files(Files(paths["csv"], paths["ledger"], paths["beancount"], Exported(3, 6)))
    spending, _income = hledger_month(paths["ledger"], date(2026, 3, 1), "UAH")
    assert list(spending.values()) == [250]
    assert paths["csv"].read_bytes().count(b"\r\n") == 1 + 6

    code, out, err = await _cli(fresh_database_url, "--format", "csv", "--period", "2026-04")
    assert code == 0, err
    assert out.count(b"\r\n") == 1 + 4  # the taxi and its reversal, both booked on April 1


async def test_export_asks_which_household_and_refuses_a_bad_period(
    fresh_database_url: str,
) -> None:
    first = await _books(fresh_database_url)
    second = await _books(fresh_database_url)
    code, out, err = await _cli(fresh_database_url)
    assert (code, out) == (2, b"")
    assert f"households: {first.id}, {second.id}" in err
    code, out, err = await _cli(fresh_database_url, "--household", str(second.id))
    assert code == 0, err
    assert out.count(b"\r\n") == 1 + 6
    code, out, err = await _cli(fresh_database_url, "--household", "999999")
    assert code == 2
    for period in ("2026-13", "26", "2026-1-1", "9999"):
        code, out, err = await _cli(fresh_database_url, "--household", "1", "--period", period)
        assert (code, out) == (2, b"")
        assert "use YYYY or YYYY-MM" in err
