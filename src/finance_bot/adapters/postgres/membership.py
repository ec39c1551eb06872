"""Who belongs where: the operations that cross households (docs/adr/0022).

Everything else the bot does reads and writes one household it already knows. These few
start from a Telegram id or an invitation code alone, before any household is known —
finding a person's household, redeeming a code, founding a household — so they are kept
here, by name, apart from the rest: the one place that may look across households.
Under row-level security (docs/adr/0021) each crossing is a SECURITY DEFINER function of
migrations 0013 and 0014 that returns ids (or time zones) alone; what is read or written in a
household — a membership, a rejoining — is done in a unit of work bound to it.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from finance_bot.adapters.postgres.directory import (
    WORDS_COLUMNS,
    bind_new_household,
    held_arguments,
    words_of,
)
from finance_bot.adapters.postgres.lent_connection import durable
from finance_bot.adapters.postgres.words_cache import WordsCache
from finance_bot.ports.records import HouseholdSettings, InviteRefusal, Member, Membership

# Any fixed number will do; the same in every finance-bot process ("join").
_JOINING_LOCK = 0x6A6F696E


class PostgresMembership:
    def __init__(self, connection: asyncpg.Connection, words: WordsCache | None = None) -> None:
        self._connection = connection
        self._words = words

    async def membership(self, telegram_id: int, *, with_words: bool = False) -> Membership | None:
        """The household a person belongs to now, with its settings; one round trip, which
        `with_words` makes bring the words their line is read against too."""
        words = f", {WORDS_COLUMNS}" if with_words else ""
        held = self._words.held_for(telegram_id) if with_words and self._words else None
        row = await self._connection.fetchrow(
            f"""
            SELECT m.telegram_id, m.household_id, m.language AS member_language,
                   m.default_account_id, m.display_name, m.telegram_language,
                   h.currency, h.timezone, h.language AS household_language{words}
              FROM members m
              JOIN households h ON h.id = m.household_id
             WHERE m.telegram_id = $1 AND m.left_at IS NULL
            """,
            telegram_id,
            *(held_arguments(held) if with_words else ()),
        )
        if row is None:
            return None
        member = Member(
            telegram_id=row["telegram_id"],
            household_id=row["household_id"],
            language=row["member_language"],
            default_account_id=row["default_account_id"],
            display_name=row["display_name"],
            telegram_language=row["telegram_language"],
        )
        household = HouseholdSettings(
            id=row["household_id"],
            currency=row["currency"],
            timezone=row["timezone"],
            language=row["household_language"],
        )
        if not with_words:
            return Membership(member, household)
        return Membership(member, household, words_of(row, member, self._words, held))

    async def household_of(self, telegram_id: int) -> int | None:
        household_id: int | None = await self._connection.fetchval(
            "SELECT member_household($1)", telegram_id
        )
        return household_id

    async def household_of_any(self, telegram_ids: frozenset[int]) -> int | None:
        """The household the first of these people joined (the whitelist's own)."""
        household_id: int | None = await self._connection.fetchval(
            "SELECT household_of_any($1::bigint[])", sorted(telegram_ids)
        )
        return household_id

    async def household_zones(self) -> dict[int, str]:
        """Scheduled work: each household's own time zone, where it has one."""
        rows = await self._connection.fetch("SELECT id, timezone FROM household_zones()")
        return {row["id"]: row["timezone"] for row in rows}

    async def former_household(self, telegram_id: int) -> int | None:
        """For someone in no household now: the one they left last, if any (their rows
        stay in every household they left, as authors)."""
        household_id: int | None = await self._connection.fetchval(
            "SELECT former_household($1)", telegram_id
        )
        return household_id

    async def lock_person(self, telegram_id: int) -> None:
        """One joining a person at a time, until the transaction ends. Without it two at
        once (a double tap, two replicas) both find the person in no household, and the
        second fails on the index that allows one active membership (migration 0014)
        instead of being answered. Ids that share a key only wait for each other."""
        await self._connection.execute(
            "SELECT pg_advisory_xact_lock($1, ($2::bigint % 2147483647)::integer)",
            _JOINING_LOCK,
            telegram_id,
        )

    async def redeem_invite(
        self, code_hash: bytes, telegram_id: int, now: datetime
    ) -> int | InviteRefusal:
        """Use an invitation once: its household's id, or why not. The function locks the
        row, so two people with one code cannot both get in; it is marked used in the
        caller's transaction, undone with it."""
        row = await self._connection.fetchrow(
            "SELECT household_id, refusal FROM redeem_invite($1, $2, $3)",
            code_hash,
            telegram_id,
            now,
        )
        assert row is not None
        if row["refusal"] is not None:
            return InviteRefusal(row["refusal"])
        household_id: int = row["household_id"]
        return household_id

    async def found_household(self, currency: str, timezone: str) -> int:
        """A new household's row; its language is left to its members until /settings.
        The policy lets a household row in only when it is the bound one: the id is drawn
        first and bound (transaction-local), then the row written with it."""
        household_id = await bind_new_household(self._connection)
        await self._connection.execute(
            "INSERT INTO households (id, currency, timezone) OVERRIDING SYSTEM VALUE"
            " VALUES ($1, $2, $3)",
            household_id,
            currency,
            timezone,
        )
        return household_id

    async def rejoin(self, telegram_id: int, household_id: int) -> bool:
        """A person who left this household comes back to it (a new invitation): their
        row there, with their accounts and name, is active again. False when they have
        no row in it (they join it as anyone new does)."""
        status: str = await self._connection.execute(
            "UPDATE members SET left_at = NULL"
            " WHERE telegram_id = $1 AND household_id = $2 AND left_at IS NOT NULL",
            telegram_id,
            household_id,
        )
        await durable(self._connection)
        return status != "UPDATE 0"
