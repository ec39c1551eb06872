"""Households, members, accounts, categories and aliases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import asyncpg

from finance_bot.adapters.postgres.lent_connection import durable
from finance_bot.adapters.postgres.rates import RATE_ON_DAY_ORDER
from finance_bot.adapters.postgres.words_cache import HouseholdWords, WordsCache
from finance_bot.application.defaults import OTHER_CATEGORY_CODES
from finance_bot.domain.accounts import Account, AccountType, normalize_name
from finance_bot.domain.money import Money
from finance_bot.ports.records import Budget, HouseholdSettings, Member, Rate, Words, WriteContext

# Any fixed number will do; it only has to be the same in every finance-bot process.
_HOUSEHOLD_CREATION_LOCK = 0x686F757365  # "house"

_MEMBER_COLUMNS = (
    "m.telegram_id, m.household_id, m.language, m.default_account_id, m.display_name,"
    " m.telegram_language, m.left_at IS NULL AS active"
)
# An account as one record of an array (`ARRAY(SELECT ROW(...) FROM accounts a ...)`),
# read back by _account_of.
_ACCOUNT_FIELDS = (
    "a.id, a.household_id, a.type::text, a.name, a.currency, a.owner_telegram_id, a.code,"
    " a.archived_at IS NOT NULL"
)
_HOUSEHOLD_COLUMNS = "h.id, h.currency, h.timezone, h.language"
# The household's budgets as one array column of a row read by member `m`; see _budgets.
_BUDGETS = (
    "ARRAY(SELECT ROW(b.category_id, b.amount_minor, b.currency)"
    " FROM budgets b WHERE b.household_id = m.household_id)"
)
# What a member's lines are read against, as columns of a row read by member `m` joined to
# their household `h` (the words read, and the membership read of an update that brings a
# line); see words_of. The arrays come only when the words the reader holds — its household
# and version, parameters $2 and $3 (NULL: none) — are not the database's own (ADR-0028).
_HELD = "(m.household_id = $2 AND h.words_version = $3)"
WORDS_COLUMNS = f"""
    h.words_version,
    CASE WHEN {_HELD} THEN NULL ELSE
    ARRAY(SELECT ROW({_ACCOUNT_FIELDS})
            FROM accounts a
           WHERE a.household_id = m.household_id AND a.archived_at IS NULL
           ORDER BY a.id) END AS accounts,
    CASE WHEN {_HELD} THEN NULL ELSE
    ARRAY(SELECT ROW(c.alias_key, c.account_id)
            FROM category_aliases c
           WHERE c.household_id = m.household_id
           ORDER BY c.alias_key, c.account_id) END AS aliases,
    CASE WHEN {_HELD} THEN NULL ELSE {_BUDGETS} END AS budgets
"""
_ACCOUNT_COLUMNS = (
    "id, household_id, type, name, currency, owner_telegram_id, code,"
    " archived_at IS NOT NULL AS archived"
)


async def bind_new_household(connection: Any) -> int:
    """A new household's id, drawn and bound (transaction-local) before its row is written:
    the policy lets a household row in only when it is the bound one (docs/adr/0021)."""
    household_id: int | None = await connection.fetchval(
        "SELECT set_config('finance_bot.household',"
        " nextval(pg_get_serial_sequence('households', 'id'))::text, true)::bigint"
        " WHERE current_household() IS NULL"
    )
    if household_id is None:
        raise RuntimeError("a unit of work bound to a household cannot found another")
    return household_id


class PostgresDirectory:
    def __init__(self, connection: asyncpg.Connection, words: WordsCache | None = None) -> None:
        self._connection = connection
        self._words = words

    async def lock_households(self) -> None:
        await self._connection.execute("SELECT pg_advisory_xact_lock($1)", _HOUSEHOLD_CREATION_LOCK)

    async def first_household(self) -> int | None:
        # Across households: a SECURITY DEFINER function that returns the id alone.
        household_id: int | None = await self._connection.fetchval("SELECT first_household()")
        return household_id

    async def create_household(self, currency: str) -> int:
        household_id = await bind_new_household(self._connection)
        await self._connection.execute(
            "INSERT INTO households (id, currency) OVERRIDING SYSTEM VALUE VALUES ($1, $2)",
            household_id,
            currency,
        )
        return household_id

    async def household_currency(self, household_id: int) -> str:
        currency: str = await self._connection.fetchval(
            "SELECT currency FROM households WHERE id = $1", household_id
        )
        return currency

    async def household_ids(self) -> list[int]:
        return [row[0] for row in await self._connection.fetch("SELECT household_ids()")]

    async def household_currencies(self) -> dict[int, str]:
        rows = await self._connection.fetch("SELECT id, currency FROM households")
        return {row["id"]: row["currency"] for row in rows}

    async def conversion_accounts(
        self, household_id: int, currencies: Sequence[str]
    ) -> dict[str, int]:
        wanted = sorted(set(currencies))
        # A concurrent first conversion may insert the same account: ON CONFLICT waits for
        # it and skips, and the statement's snapshot may not see its row yet, so a second
        # read (a new snapshot) finds what the first one missed.
        found: dict[str, int] = {}
        for statement in (_MAKE_CONVERSION_ACCOUNTS, _CONVERSION_ACCOUNTS):
            rows = await self._connection.fetch(statement, household_id, wanted)
            found.update({row["currency"]: row["id"] for row in rows})
            if len(found) == len(wanted):
                break
        return found

    async def member(self, telegram_id: int) -> Member | None:
        # One who left is no member: nothing is read or written for them (docs/adr/0022).
        row = await self._connection.fetchrow(
            f"SELECT {_MEMBER_COLUMNS} FROM members m"
            " WHERE m.telegram_id = $1 AND m.left_at IS NULL",
            telegram_id,
        )
        return _member(row) if row else None

    async def members(self, household_id: int) -> list[Member]:
        rows = await self._connection.fetch(
            f"SELECT {_MEMBER_COLUMNS} FROM members m"
            " WHERE m.household_id = $1 ORDER BY m.created_at, m.telegram_id",
            household_id,
        )
        return [_member(row) for row in rows]

    async def words(self, telegram_id: int) -> Words | None:
        held = self._words.held_for(telegram_id) if self._words is not None else None
        row = await self._connection.fetchrow(
            f"""
            SELECT {_MEMBER_COLUMNS}, {WORDS_COLUMNS}
              FROM members m
              JOIN households h ON h.id = m.household_id
             WHERE m.telegram_id = $1 AND m.left_at IS NULL
            """,
            telegram_id,
            *held_arguments(held),
        )
        return words_of(row, _member(row), self._words, held) if row is not None else None

    async def household_settings(self, household_id: int) -> HouseholdSettings:
        row = await self._connection.fetchrow(
            f"SELECT {_HOUSEHOLD_COLUMNS} FROM households h WHERE h.id = $1", household_id
        )
        return _household(row)

    async def set_household_timezone(self, household_id: int, timezone: str) -> None:
        await self._connection.execute(
            "UPDATE households SET timezone = $2 WHERE id = $1", household_id, timezone
        )
        await durable(self._connection)

    async def set_household_language(self, household_id: int, language: str) -> None:
        await self._connection.execute(
            "UPDATE households SET language = $2 WHERE id = $1", household_id, language
        )
        await durable(self._connection)

    async def change_base_currency(self, household_id: int, currency: str) -> bool:
        # Only while nothing is recorded in the old one: no entry, no rate, no budget. The
        # household row is locked first, so an entry numbered meanwhile waits or is seen.
        old = await self._connection.fetchval(
            "SELECT currency FROM households WHERE id = $1 FOR UPDATE", household_id
        )
        recorded = await self._connection.fetchval(
            """
            SELECT EXISTS (SELECT 1 FROM transactions WHERE household_id = $1)
                OR EXISTS (SELECT 1 FROM exchange_rates WHERE household_id = $1)
                OR EXISTS (SELECT 1 FROM budgets WHERE household_id = $1)
            """,
            household_id,
        )
        if recorded:
            return False
        # Every account in the old base takes the new one, but for the old base's own
        # conversion account (made with an account in another currency): moved, it would
        # keep its code, and each later entry in the old currency would post to it in a
        # currency it no longer holds, refused by the database for good.
        await self._connection.execute(
            "UPDATE accounts SET currency = $3 WHERE household_id = $1 AND currency = $2"
            " AND code IS DISTINCT FROM 'conversion:' || $2",
            household_id,
            old,
            currency,
        )
        await self._connection.execute(
            "UPDATE households SET currency = $2 WHERE id = $1", household_id, currency
        )
        return True

    async def add_invite(
        self, code_hash: bytes, household_id: int, inviter_telegram_id: int, expires_at: datetime
    ) -> None:
        await self._connection.execute(
            "INSERT INTO invites (code_hash, household_id, inviter_telegram_id, expires_at)"
            " VALUES ($1, $2, $3, $4)",
            code_hash,
            household_id,
            inviter_telegram_id,
            expires_at,
        )
        await durable(self._connection)

    async def leave(self, telegram_id: int, household_id: int) -> None:
        # Their entries, accounts and name stay in the household's books; what would act
        # or speak for them from now on goes: their repeating rules stop, their digest
        # ends, the household's shares go back to equal (/split was between them).
        await self._connection.execute(
            "UPDATE members SET left_at = now()"
            " WHERE telegram_id = $1 AND household_id = $2 AND left_at IS NULL",
            telegram_id,
            household_id,
        )
        await self._connection.execute(
            "UPDATE recurring_rules SET stopped_at = now()"
            " WHERE household_id = $2 AND author_telegram_id = $1 AND stopped_at IS NULL",
            telegram_id,
            household_id,
        )
        await self._connection.execute(
            "DELETE FROM digest_settings WHERE telegram_id = $1 AND household_id = $2",
            telegram_id,
            household_id,
        )
        await self._connection.execute(
            "DELETE FROM member_shares WHERE household_id = $1", household_id
        )

    async def write_context(
        self,
        telegram_id: int,
        account_ids: Sequence[int],
        *,
        currency: str | None = None,
        day: date | None = None,
    ) -> WriteContext | None:
        # A line in a foreign currency reads what it needs in this same round trip, so that
        # it too is stored in one statement when nothing is to be made (docs/adr/0014).
        row = await self._connection.fetchrow(
            f"""
            SELECT {_MEMBER_COLUMNS}, foreign_currency,
                   ARRAY(SELECT ROW({_ACCOUNT_FIELDS})
                           FROM accounts a
                          WHERE a.household_id = m.household_id
                            AND (a.id = ANY($2::bigint[]) OR a.id = m.default_account_id
                                 OR (a.owner_telegram_id IS NULL
                                     AND a.code = ANY($3::text[]))
                                 OR (a.currency = foreign_currency
                                     AND a.type IN ('asset', 'liability')
                                     AND a.archived_at IS NULL
                                     AND (a.owner_telegram_id IS NULL
                                          OR a.owner_telegram_id = m.telegram_id))
                                 OR (a.type = 'equity' AND foreign_currency IS NOT NULL
                                     AND a.code IN ('conversion:' || foreign_currency,
                                                    'conversion:' || h.currency))))
                       AS accounts,
                   {_BUDGETS} AS budgets,
                   (SELECT ROW(r.rate, r.valid_from, r.source::text)
                      FROM exchange_rates r
                     WHERE r.household_id = m.household_id AND r.currency = foreign_currency
                     ORDER BY {RATE_ON_DAY_ORDER.replace("$D", "$5::date")}
                     LIMIT 1) AS rate
              FROM members m
              JOIN households h ON h.id = m.household_id AND m.left_at IS NULL,
                   LATERAL (SELECT CASE WHEN $4::text <> h.currency THEN $4::text END
                                AS foreign_currency) f
             WHERE m.telegram_id = $1
            """,
            telegram_id,
            list(account_ids),
            list(OTHER_CATEGORY_CODES),
            currency,
            day,
        )
        if row is None:
            return None
        member = _member(row)
        foreign = row["foreign_currency"]
        rate = None
        if foreign is not None and row["rate"] is not None:
            value, valid_from, source = row["rate"]
            rate = Rate(foreign, value, valid_from, source)
        accounts = {}
        for fields in row["accounts"]:
            account = _account_of(fields)
            accounts[account.id] = account
        return WriteContext(
            member=member, accounts=accounts, budgets=_budgets(row), foreign=foreign, rate=rate
        )

    async def add_member(self, telegram_id: int, household_id: int, language: str | None) -> None:
        await self._connection.execute(
            "INSERT INTO members (telegram_id, household_id, language) VALUES ($1, $2, $3)",
            telegram_id,
            household_id,
            language,
        )
        await durable(self._connection)

    async def set_language(self, telegram_id: int, language: str) -> None:
        await self._connection.execute(
            "UPDATE members SET language = $2 WHERE telegram_id = $1 AND left_at IS NULL",
            telegram_id,
            language,
        )
        await durable(self._connection)

    async def set_profile(
        self, telegram_id: int, display_name: str | None, telegram_language: str | None
    ) -> None:
        await self._connection.execute(
            "UPDATE members SET display_name = $2, telegram_language = $3"
            " WHERE telegram_id = $1 AND left_at IS NULL",
            telegram_id,
            display_name,
            telegram_language,
        )
        await durable(self._connection)

    async def set_personal(self, category_id: int, personal: bool) -> None:
        if personal:
            await self._connection.execute(
                "INSERT INTO personal_categories (household_id, category_id)"
                " SELECT household_id, id FROM accounts WHERE id = $1"
                " ON CONFLICT (category_id) DO NOTHING",
                category_id,
            )
        else:
            await self._connection.execute(
                "DELETE FROM personal_categories WHERE category_id = $1", category_id
            )

    async def personal_categories(self, household_id: int) -> set[int]:
        rows = await self._connection.fetch(
            "SELECT category_id FROM personal_categories WHERE household_id = $1", household_id
        )
        return {row["category_id"] for row in rows}

    async def shares(self, household_id: int) -> dict[int, int]:
        rows = await self._connection.fetch(
            "SELECT telegram_id, share_pct FROM member_shares WHERE household_id = $1",
            household_id,
        )
        return {row["telegram_id"]: row["share_pct"] for row in rows}

    async def set_shares(self, household_id: int, shares: Mapping[int, int]) -> None:
        await self._connection.execute(
            "DELETE FROM member_shares WHERE household_id = $1", household_id
        )
        await self._connection.execute(
            "INSERT INTO member_shares (household_id, telegram_id, share_pct)"
            " SELECT $1, s.id, s.pct FROM unnest($2::bigint[], $3::smallint[]) AS s (id, pct)",
            household_id,
            list(shares),
            list(shares.values()),
        )

    async def set_default_account(self, telegram_id: int, account_id: int) -> None:
        await self._connection.execute(
            "UPDATE members SET default_account_id = $2 WHERE telegram_id = $1 AND left_at IS NULL",
            telegram_id,
            account_id,
        )
        await durable(self._connection)

    async def add_account(
        self,
        *,
        household_id: int,
        type: AccountType,
        name: str,
        currency: str,
        owner_telegram_id: int | None,
        code: str | None = None,
    ) -> Account:
        name_key = normalize_name(name)
        row = await self._connection.fetchrow(
            f"""
            INSERT INTO accounts (household_id, type, name, name_key, currency,
                                  owner_telegram_id, code)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            RETURNING {_ACCOUNT_COLUMNS}
            """,
            household_id,
            type.value,
            name,
            name_key,
            currency,
            owner_telegram_id,
            code,
        )
        return _account(row)

    async def account(self, account_id: int) -> Account | None:
        row = await self._connection.fetchrow(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id = $1", account_id
        )
        return _account(row) if row else None

    async def accounts(self, household_id: int, *, include_archived: bool = False) -> list[Account]:
        rows = await self._connection.fetch(
            f"""
            SELECT {_ACCOUNT_COLUMNS} FROM accounts
             WHERE household_id = $1 AND ($2 OR archived_at IS NULL)
             ORDER BY id
            """,
            household_id,
            include_archived,
        )
        return [_account(row) for row in rows]

    async def archive_account(self, account_id: int) -> None:
        await self._connection.execute(
            "UPDATE accounts SET archived_at = now() WHERE id = $1 AND archived_at IS NULL",
            account_id,
        )
        await durable(self._connection)

    async def rename_account(self, account_id: int, name: str) -> None:
        name_key = normalize_name(name)
        await self._connection.execute(
            "UPDATE accounts SET name = $2, name_key = $3 WHERE id = $1",
            account_id,
            name,
            name_key,
        )
        await durable(self._connection)

    async def aliases(self, household_id: int) -> dict[str, list[int]]:
        rows = await self._connection.fetch(
            "SELECT alias_key, account_id FROM category_aliases WHERE household_id = $1"
            " ORDER BY alias_key, account_id",
            household_id,
        )
        found: dict[str, list[int]] = {}
        for row in rows:
            found.setdefault(row["alias_key"], []).append(row["account_id"])
        return found

    async def add_alias(self, household_id: int, alias_key: str, category_id: int) -> None:
        await self._connection.execute(
            """
            DELETE FROM category_aliases ca
             USING accounts taken, accounts target
             WHERE ca.household_id = $1 AND ca.alias_key = $2 AND taken.id = ca.account_id
               AND target.id = $3 AND taken.type = target.type AND taken.id <> target.id
            """,
            household_id,
            alias_key,
            category_id,
        )
        await self._connection.execute(
            """
            INSERT INTO category_aliases (household_id, alias_key, account_id)
            VALUES ($1, $2, $3) ON CONFLICT DO NOTHING
            """,
            household_id,
            alias_key,
            category_id,
        )

    async def remove_alias(self, household_id: int, alias_key: str) -> int:
        status: str = await self._connection.execute(
            "DELETE FROM category_aliases WHERE household_id = $1 AND alias_key = $2",
            household_id,
            alias_key,
        )
        await durable(self._connection)
        return int(status.rsplit(maxsplit=1)[-1])


def _member(row: Any) -> Member:
    return Member(
        telegram_id=row["telegram_id"],
        household_id=row["household_id"],
        language=row["language"],
        default_account_id=row["default_account_id"],
        display_name=row["display_name"],
        telegram_language=row["telegram_language"],
        active=row["active"],
    )


def _household(row: Any) -> HouseholdSettings:
    return HouseholdSettings(
        id=row["id"], currency=row["currency"], timezone=row["timezone"], language=row["language"]
    )


def _account_of(fields: Any) -> Account:
    account_id, household_id, kind, name, currency, owner, code, archived = fields
    return Account(
        id=account_id,
        household_id=household_id,
        type=AccountType(kind),
        name=name,
        currency=currency,
        owner_telegram_id=owner,
        code=code,
        archived=archived,
    )


def _account(row: Any) -> Account:
    return Account(
        id=row["id"],
        household_id=row["household_id"],
        type=AccountType(row["type"]),
        name=row["name"],
        currency=row["currency"],
        owner_telegram_id=row["owner_telegram_id"],
        code=row["code"],
        archived=row["archived"],
    )


# Conversion accounts: shared equity accounts, one per currency, named by their code
# (migration 0007 checks the shape; the ledger's balance check finds them by it).
_MAKE_CONVERSION_ACCOUNTS = """
    WITH made AS (
        INSERT INTO accounts (household_id, type, name, name_key, code, currency)
        SELECT $1, 'equity', '⇄ ' || c, '⇄ ' || lower(c), 'conversion:' || c, c
          FROM unnest($2::text[]) AS c
        ON CONFLICT (household_id, type, COALESCE(owner_telegram_id, 0), code)
            WHERE code IS NOT NULL
        DO NOTHING
        RETURNING currency, id
    )
    SELECT currency, id FROM made
    UNION ALL
    SELECT currency, id FROM accounts
     WHERE household_id = $1 AND type = 'equity' AND code = ANY (
         SELECT 'conversion:' || c FROM unnest($2::text[]) AS c)
"""
_CONVERSION_ACCOUNTS = """
    SELECT currency, id FROM accounts
     WHERE household_id = $1 AND type = 'equity' AND code = ANY (
         SELECT 'conversion:' || c FROM unnest($2::text[]) AS c)
"""


def _budgets(row: asyncpg.Record) -> tuple[Budget, ...]:
    return tuple(
        Budget(category_id, Money(amount_minor, currency))
        for category_id, amount_minor, currency in row["budgets"]
    )


def held_arguments(held: HouseholdWords | None) -> tuple[int | None, int | None]:
    """Parameters $2 and $3 of a read of WORDS_COLUMNS."""
    return (None, None) if held is None else (held.household_id, held.version)


def words_of(
    row: asyncpg.Record,
    member: Member,
    cache: WordsCache | None,
    held: HouseholdWords | None,
) -> Words:
    """The words of a row that holds WORDS_COLUMNS, for `member`: those `held` when the
    database confirmed them (no arrays came), else the ones read, kept in `cache`."""
    if row["accounts"] is None:
        assert held is not None, "the database confirms only words that were passed to it"
        words, hit = held, True
    else:
        aliases: dict[str, list[int]] = {}
        for alias_key, account_id in row["aliases"]:
            aliases.setdefault(alias_key, []).append(account_id)
        words = HouseholdWords(
            household_id=member.household_id,
            version=row["words_version"],
            accounts=[_account_of(fields) for fields in row["accounts"]],
            aliases=aliases,
            budgets=_budgets(row),
        )
        hit = False
    if cache is not None:
        cache.used(member.telegram_id, words, hit=hit)
    return words.of(member)
