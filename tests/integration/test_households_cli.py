"""`finance-bot households` as an operator runs it: one line per household with its id,
members, entries and last activity — and never an amount, a name or a note (SPEC §14)."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import date

import asyncpg
import pytest

from tests.support.household import ledger_world

pytestmark = pytest.mark.postgres


async def _households(url: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "finance_bot",
        "households",
        env={**os.environ, "DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_each_household_is_listed_with_counts_and_nothing_private(
    fresh_database_url: str,
) -> None:
    async with ledger_world(fresh_database_url) as world:
        busy = await world.household()
        await busy.spend(4817, "cafe", on=date(2026, 3, 5), note="ужин у Ёлки")
        await busy.spend(3929, "taxi", on=date(2026, 3, 6))
        await busy.spend(5531, "cafe", on=date(2026, 3, 7))
        await busy.void(3)  # an undo is no entry of its own
        quiet = await world.household()
    connection = await asyncpg.connect(fresh_database_url)
    try:
        await connection.execute(
            "UPDATE members SET display_name = 'Алиса Ёлкина' WHERE telegram_id = $1", busy.alice
        )
    finally:
        await connection.close()

    code, out, err = await _households(fresh_database_url)

    assert code == 0, err
    header, *rows = out.splitlines()
    assert header.split() == ["household", "members", "entries", "last", "activity", "(UTC)"]
    listed = {int(row.split()[0]): row.split()[1:3] for row in rows}
    assert listed == {busy.id: ["2", "3"], quiet.id: ["2", "0"]}
    for row in rows:
        day, minute = row.split()[3:]
        assert len(day) == len("2026-12-02")
        assert len(minute) == len("17:30")
    for private in ("4817", "3929", "5531", "48,17", "Ёлк", "Алиса", "ужин", str(busy.alice)):
        assert private not in out
