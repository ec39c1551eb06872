"""The words a line is read against, kept by the bot between lines under the version the
database gives them (migration 0016, docs/adr/0028): every write of accounts, aliases or
budgets gives its household a version never given before, the database sends the words
only when the version held is not its own, and what a reader gets is always what a read
without the cache would give."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from finance_bot.adapters.postgres.migrator import available_migrations, migrate
from finance_bot.adapters.postgres.roles import APP, login_url
from finance_bot.adapters.postgres.words_cache import WordsCache
from finance_bot.application.budgets import set_budget
from finance_bot.application.household import vocabulary_of, words
from finance_bot.domain.money import Money
from finance_bot.ports.records import Words
from tests.integration.test_household_currency import _household
from tests.support.databases import migrate_up_to_before
from tests.support.household import Household, as_the_bot, ledger_world

pytestmark = pytest.mark.postgres

[WORDS_MIGRATION] = [m.version for m in available_migrations() if m.name.endswith("words_version")]


async def version(url: str, household_id: int) -> int:
    connection = await asyncpg.connect(url)
    try:
        found: int = await connection.fetchval(
            "SELECT words_version FROM households WHERE id = $1", household_id
        )
        return found
    finally:
        await connection.close()


async def uncached(url: str, telegram_id: int) -> Words:
    """The words as a process that holds none reads them."""
    async with as_the_bot(url) as fresh:
        return await words(telegram_id, uow_factory=fresh)


def names(found: Words) -> set[str]:
    return {account.name for account in found.accounts}


async def test_every_write_of_the_words_gives_a_new_version_to_its_household_alone(
    fresh_database_url: str,
) -> None:
    url = fresh_database_url
    async with ledger_world(url) as world:
        home, other = await world.household(), await world.household()
        cafe = home.accounts["cafe"].id
        seen = [await version(url, home.id)]
        other_before = await version(url, other.id)
        writes = [
            (
                "INSERT INTO category_aliases (household_id, alias_key, account_id)"
                " VALUES ($1, 'кофеёк', $2)"
            ),
            "UPDATE accounts SET name = 'Кафешки' WHERE household_id = $1 AND id = $2",
            (
                "DELETE FROM category_aliases WHERE household_id = $1 AND account_id = $2"
                " AND alias_key = 'кофеёк'"
            ),
            (
                "INSERT INTO budgets (household_id, category_id, amount_minor, currency)"
                " VALUES ($1, $2, 100000, 'UAH')"
            ),
            "UPDATE budgets SET amount_minor = 200000 WHERE household_id = $1 AND category_id = $2",
            "DELETE FROM budgets WHERE household_id = $1 AND category_id = $2",
        ]
        async with world.pool.acquire() as connection:
            for statement in writes:
                await connection.execute(statement, home.id, cafe)
                seen.append(await version(url, home.id))
        assert seen == sorted(set(seen)), seen  # each write a version of its own, growing
        assert await version(url, other.id) == other_before


async def test_the_words_held_are_confirmed_and_a_change_is_read(fresh_database_url: str) -> None:
    async with ledger_world(fresh_database_url) as world:
        home = await world.household()
        async with as_the_bot(fresh_database_url) as bot:
            first = await words(home.alice, uow_factory=bot)
            assert (bot.words.hits, bot.words.misses) == (0, 1)
            again = await words(home.alice, uow_factory=bot)  # confirmed, not sent
            assert (bot.words.hits, bot.words.misses) == (1, 1)
            assert again.accounts is first.accounts
            assert again == await uncached(fresh_database_url, home.alice)
            # Bob's household is known only once he has been read (a miss), then his too.
            assert await words(home.bob, uow_factory=bot) == await uncached(
                fresh_database_url, home.bob
            )
            assert (await words(home.bob, uow_factory=bot)).member.telegram_id == home.bob
            assert (bot.words.hits, bot.words.misses) == (2, 2)

            async with world.pool.acquire() as owner:  # a change made elsewhere
                await owner.execute(
                    "UPDATE accounts SET name = 'Кофейни', name_key = 'кофейни' WHERE id = $1",
                    home.accounts["cafe"].id,
                )
            renamed = await words(home.alice, uow_factory=bot)
            assert bot.words.misses == 3
            assert "Кофейни" in names(renamed)
            assert renamed == await uncached(fresh_database_url, home.alice)

            # A change by the bot itself.
            limit = Money(50_000, "UAH")
            await set_budget(home.alice, home.accounts["cafe"].id, limit, uow_factory=bot)
            budgeted = await words(home.bob, uow_factory=bot)
            assert bot.words.misses == 4
            assert [budget.limit for budget in budgeted.budgets] == [limit]
            assert budgeted == await uncached(fresh_database_url, home.bob)
            assert await words(home.alice, uow_factory=bot) == await uncached(
                fresh_database_url, home.alice
            )
            assert bot.words.hits == 3


async def test_a_version_rolled_back_is_never_given_again(fresh_database_url: str) -> None:
    """A transaction that changed the words and read them, then rolled back, left words in
    the cache under a version no committed change will ever carry."""
    async with ledger_world(fresh_database_url) as world:
        home = await world.household()
        cafe = home.accounts["cafe"].id
        async with as_the_bot(fresh_database_url) as bot:
            async with bot(person=home.alice) as uow:  # never committed
                await uow.directory.add_alias(home.id, "вкусняшки", cafe)
                inside = await uow.directory.words(home.alice)
                assert inside is not None
                assert "вкусняшки" in inside.aliases
            async with world.pool.acquire() as connection:
                await connection.execute(
                    "INSERT INTO category_aliases (household_id, alias_key, account_id)"
                    " VALUES ($1, 'булочки', $2)",
                    home.id,
                    cafe,
                )
            after = await words(home.alice, uow_factory=bot)
            assert "булочки" in after.aliases
            assert "вкусняшки" not in after.aliases
            assert after == await uncached(fresh_database_url, home.alice)


async def test_words_held_for_another_household_are_never_given(
    fresh_database_url: str,
) -> None:
    """Someone who moved: the cache still says their old household; the database, seeing
    another, sends their new household's words."""
    async with ledger_world(fresh_database_url) as world:
        home, other = await world.household(), await world.household()
        async with as_the_bot(fresh_database_url) as bot:
            theirs = await words(other.alice, uow_factory=bot)
            held = bot.words.held_for(other.alice)
            assert held is not None
            bot.words.used(home.alice, held, hit=False)  # as if they had moved

            mine = await words(home.alice, uow_factory=bot)

            assert {account.household_id for account in mine.accounts} == {home.id}
            assert mine == await uncached(fresh_database_url, home.alice)
            assert mine.accounts is not theirs.accounts


async def test_households_read_in_turn_each_get_their_own(fresh_database_url: str) -> None:
    async with ledger_world(fresh_database_url) as world:
        homes: list[Household] = [await world.household() for _ in range(3)]
        async with as_the_bot(fresh_database_url) as bot:
            bot.words = WordsCache(households=2)  # fewer than the households: they evict
            for _ in range(3):
                for home in homes:
                    for person in (home.alice, home.alice, home.bob, home.bob):
                        found = await words(person, uow_factory=bot)
                        assert {a.household_id for a in found.accounts} == {home.id}
                        assert found.member.telegram_id == person
            assert bot.words.hits > 0
            assert bot.words.misses > len(homes)


async def write_unbalanced(connection: asyncpg.Connection, home: Household) -> None:
    """An expense of 1.00 whose other leg is 0.99, as the bot's role."""
    async with connection.transaction():
        await connection.execute(
            "SELECT set_config('finance_bot.household', $1, true)", str(home.id)
        )
        await connection.execute(
            """
            WITH n AS (
                UPDATE households SET last_transaction_number =
                       last_transaction_number + 1
                 WHERE id = $1 RETURNING last_transaction_number AS number
            ), t AS (
                INSERT INTO transactions
                    (id, household_id, number, author_telegram_id, kind,
                     booked_on, note, tags)
                SELECT gen_random_uuid(), $1, number, $2, 'expense',
                       current_date, '', '{}' FROM n
                RETURNING id
            )
            INSERT INTO postings
                (transaction_id, account_id, direction, amount_minor, currency)
            SELECT t.id, leg.account_id, leg.direction::posting_direction,
                   leg.amount, 'UAH'
              FROM t, (VALUES ($3::bigint, 'debit', 100::bigint),
                              ($4::bigint, 'credit', 99::bigint))
                      AS leg(account_id, direction, amount)
            """,
            home.id,
            home.alice,
            home.accounts["cafe"].id,
            home.accounts["card"].id,
        )


async def test_the_commit_check_still_refuses_an_unbalanced_entry_of_the_bot(
    fresh_database_url: str,
) -> None:
    """It runs as the owner now (migration 0016); the bot's own writes are held to it."""
    async with ledger_world(fresh_database_url) as world:
        home = await world.household()
        connection = await asyncpg.connect(login_url(fresh_database_url, APP))
        try:
            with pytest.raises(asyncpg.CheckViolationError, match="unbalanced"):
                await write_unbalanced(connection, home)
        finally:
            await connection.close()
        async with world.pool.acquire() as owner:
            assert await owner.fetchval("SELECT count(*) FROM transactions") == 0


async def test_a_vocabulary_is_worked_out_once_per_person_and_version(
    fresh_database_url: str,
) -> None:
    async with ledger_world(fresh_database_url) as world:
        home = await world.household()
        async with as_the_bot(fresh_database_url) as bot:
            first = vocabulary_of(await words(home.alice, uow_factory=bot))
            assert vocabulary_of(await words(home.alice, uow_factory=bot)) is first
            bobs = vocabulary_of(await words(home.bob, uow_factory=bot))
            assert vocabulary_of(await words(home.bob, uow_factory=bot)) is bobs
            assert bobs.account_names != first.account_names  # each sees their own card

            async with world.pool.acquire() as owner:
                await owner.execute(
                    "INSERT INTO category_aliases (household_id, alias_key, account_id)"
                    " VALUES ($1, 'пончики', $2)",
                    home.id,
                    home.accounts["cafe"].id,
                )
            changed = vocabulary_of(await words(home.alice, uow_factory=bot))
            assert changed.expense_aliases["пончики"] == home.accounts["cafe"].id
            assert changed == vocabulary_of(await uncached(fresh_database_url, home.alice))


async def test_a_database_of_the_previous_release_gets_versions_that_work(
    empty_database_url: str,
) -> None:
    """Migration 0016 on a database 0015 filled: households start at version 0, the bot reads
    and keeps their words, and the first change after the upgrade is seen."""
    url = empty_database_url
    connection = await asyncpg.connect(url)
    try:
        await migrate_up_to_before(connection, WORDS_MIGRATION)
        household_id = await _household(connection, [901, 902], "UAH", currency_column=True)
        await migrate(connection)
        assert await version(url, household_id) == 0
        async with as_the_bot(url) as bot:
            before = await words(901, uow_factory=bot)
            assert {account.household_id for account in before.accounts} == {household_id}
            assert await words(901, uow_factory=bot) == before
            assert bot.words.hits == 1
            cafe = next(a for a in before.accounts if a.code == "cafe")
            await connection.execute(
                "INSERT INTO category_aliases (household_id, alias_key, account_id)"
                " VALUES ($1, 'эспрессо', $2)",
                household_id,
                cafe.id,
            )
            after = await words(902, uow_factory=bot)
            assert after.aliases["эспрессо"] == [cafe.id]
            assert after == await uncached(url, 902)
    finally:
        await connection.close()


async def test_lines_read_while_the_words_change_never_see_words_no_commit_made(
    fresh_database_url: str,
) -> None:
    """One connection moves an alias back and forth, committing each move; the bot reads the
    words again and again meanwhile. Every read gives the words of a committed state, and a
    read that starts after a move committed sees that move or a later one, never an older."""
    async with ledger_world(fresh_database_url) as world:
        home = await world.household()
        targets = [home.accounts["cafe"].id, home.accounts["taxi"].id]
        moves = 40
        # The last move committed, and the last one that may have: a read's words are those
        # of a move between the two, as they stood when it began and when it ended.
        committed = {"move": -1}
        committing = {"move": -1}
        exact = [0]  # reads during which no move could commit: their words are known
        read_in_quiet = asyncio.Event()

        async def move_alias_back_and_forth() -> None:
            async with world.pool.acquire() as owner:
                for move in range(moves):
                    committing["move"] = move
                    async with owner.transaction():
                        await owner.execute(
                            "DELETE FROM category_aliases WHERE household_id = $1"
                            " AND alias_key = 'туда-сюда'",
                            home.id,
                        )
                        await owner.execute(
                            "INSERT INTO category_aliases (household_id, alias_key, account_id)"
                            " VALUES ($1, 'туда-сюда', $2)",
                            home.id,
                            targets[move % 2],
                        )
                    committed["move"] = move
                    # Every other move waits for a read to begin and end after it; the others
                    # are made while reads are under way.
                    read_in_quiet.clear()
                    if move % 2 == 0:
                        await asyncio.wait_for(read_in_quiet.wait(), timeout=30)
                    await asyncio.sleep(0)

        async with as_the_bot(fresh_database_url) as bot:

            async def read_again_and_again() -> None:
                while committed["move"] < moves - 1:
                    at_least = committed["move"]
                    found = await words(home.alice, uow_factory=bot)
                    at_most = committing["move"]
                    aliased = found.aliases.get("туда-сюда")
                    if at_least < 0:
                        continue
                    assert aliased is not None
                    assert len(aliased) == 1
                    if at_most == at_least:  # no move could have committed meanwhile
                        assert aliased == [targets[at_least % 2]]
                        exact[0] += 1
                        read_in_quiet.set()

            await asyncio.gather(
                move_alias_back_and_forth(), *(read_again_and_again() for _ in range(4))
            )
            final = await words(home.alice, uow_factory=bot)
            assert final.aliases["туда-сюда"] == [targets[(moves - 1) % 2]]
            assert final == await uncached(fresh_database_url, home.alice)
            assert exact[0] >= moves // 2
            assert bot.words.hits > 0
