"""The operator's view of the households on one database (`finance-bot households`): how
many, how big, how lively — never an amount, a name or a word anyone wrote (SPEC §14)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg


@dataclass(frozen=True, slots=True)
class HouseholdSummary:
    id: int
    members: int
    entries: int  # transactions recorded, undos not counted
    last_activity: datetime  # the latest of its founding, a member joining, an entry


# A SECURITY DEFINER function (migration 0012): the bot's role sees no household unbound,
# and this gives it counts and times across all of them, nothing else (docs/adr/0021).
_SUMMARIES = "SELECT id, members, entries, last_activity FROM household_summaries()"


async def household_summaries(connection: asyncpg.Connection) -> list[HouseholdSummary]:
    return [
        HouseholdSummary(
            id=row["id"],
            members=row["members"],
            entries=row["entries"],
            last_activity=row["last_activity"],
        )
        for row in await connection.fetch(_SUMMARIES)
    ]


def summary_table(summaries: list[HouseholdSummary]) -> str:
    """One line per household, in UTC, for a terminal and for `grep`/`awk`."""
    lines = [f"{'household':>9}  {'members':>7}  {'entries':>9}  last activity (UTC)"]
    for summary in summaries:
        when = summary.last_activity.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
        lines.append(f"{summary.id:>9}  {summary.members:>7}  {summary.entries:>9}  {when}")
    return "\n".join(lines) + "\n"
