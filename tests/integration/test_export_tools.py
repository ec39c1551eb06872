"""The export, held to the real tools: hledger and beancount read the files unedited, and
what they say of every month and every account is what the bot says (docs/product.md §13).

The household spends, earns, moves and exchanges money in three currencies over four
months, voids and re-files, and names its categories and accounts awkwardly."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from finance_bot.adapters.export.csv_writer import HEADER
from finance_bot.application.directory import add_account, add_category
from finance_bot.application.export import export_period
from finance_bot.domain.accounts import AccountType
from finance_bot.domain.commands import RecordExpense, RecordIncome, RecordTransfer
from tests.support.export_tools import (
    Files,
    beancount_balances,
    beancount_month,
    beancount_transactions,
    bot_balances,
    bot_month,
    check_files,
    export_files,
    hledger_balances,
    hledger_month,
    hledger_transactions,
)
from tests.support.foreign import foreign_month, money
from tests.support.household import Household, PostgresWorld, uah

pytestmark = pytest.mark.postgres

MONTHS = [date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)]
AWKWARD_CATEGORIES = ['кафе "Ёлка": бар', "pizza 🍕 & co", "кафе бар", "кафе-бар", "ужин; вечер"]
AWKWARD_NOTE = 'say "hi"; ok, then\nnext line 🍕 \\ back | pipe'


async def awkward_books(world: PostgresWorld) -> Household:
    home = await world.household()
    await foreign_month(home)  # Oct and Nov: foreign spending, a foreign income, a void
    alice, bob = home.alice, home.bob
    categories = {}
    for name in AWKWARD_CATEGORIES:
        made = await add_category(
            alice, name, [], kind=AccountType.EXPENSE, currency="UAH", uow_factory=home.factory
        )
        categories[name] = made.id
    side_job = await add_category(
        alice,
        "подработка: фриланс",
        [],
        kind=AccountType.INCOME,
        currency="UAH",
        uow_factory=home.factory,
    )
    wallet = await add_account(alice, "кошелёк «Ёж»", shared=False, uow_factory=home.factory)
    jar = await add_account(bob, "банка: на  отпуск", shared=True, uow_factory=home.factory)
    stash = await add_account(
        bob, "заначка $", shared=False, currency="USD", uow_factory=home.factory
    )
    cards = {person: (await world.accounts(person))["card"].id for person in (alice, bob)}

    async def spend(
        who: int,
        amount: str,
        category: int,
        on: date,
        *,
        account: int | None = None,
        note: str = "",
        tags: tuple[str, ...] = (),
    ) -> int:
        done = await world.record(
            RecordExpense(uah(amount), category, account, on, note, tags), who
        )
        return done.number

    await spend(
        alice,
        "99.99",
        categories['кафе "Ёлка": бар'],
        date(2026, 9, 3),
        note=AWKWARD_NOTE,
        tags=("отпуск", "trip-2026", "date"),
    )
    await spend(bob, "15", categories["pizza 🍕 & co"], date(2026, 9, 30), note="🍕🍕")
    await spend(alice, "40", categories["кафе бар"], date(2026, 12, 1), account=wallet.id)
    await spend(alice, "41", categories["кафе-бар"], date(2026, 12, 1))
    voided = await spend(alice, "500", categories["ужин; вечер"], date(2026, 12, 2))
    refiled = await spend(bob, "77.70", categories["кафе бар"], date(2026, 10, 15))
    await world.record(
        RecordIncome(uah("1234.56"), side_job.id, None, date(2026, 9, 1), note="backdated"), alice
    )
    await world.record(
        RecordTransfer(uah("300"), cards[alice], wallet.id, date(2026, 12, 2), note="to wallet"),
        alice,
    )
    await world.record(RecordTransfer(uah("250"), cards[bob], jar.id, date(2026, 11, 20)), bob)
    # an exchange with what arrived said, and dollars moved between dollar accounts
    dollars = (await world.accounts(alice))["доллары"].id
    await world.record(
        RecordTransfer(
            money("100", "USD"), dollars, cards[alice], date(2026, 11, 25), received=uah("4150")
        ),
        alice,
    )
    await world.record(
        RecordTransfer(money("50", "USD"), dollars, stash.id, date(2026, 12, 2)), bob
    )
    await world.void(voided, alice)
    # A reversal dated after its original, in the next month, as an older version or an
    # import may have written one: /month leaves both out of the original's month.
    late = home.expense(60, "cafe", on=date(2026, 10, 30))
    await home.add(late)
    reversal = late.reversal(
        reversal_id=home.ids.new_id(), author_telegram_id=alice, booked_on=date(2026, 11, 2)
    )
    async with home.factory() as uow:
        await uow.ledger.add(reversal)
        await uow.ledger.link_void(late.id, reversal.id)
        await uow.commit()
    await world.refile(refiled, categories["pizza 🍕 & co"], bob)
    return home


async def _assert_tools_agree(world: PostgresWorld, home: Household, files: Files) -> None:
    check_files(files)
    for month in MONTHS:
        for beancount in (False, True):
            bot = await bot_month(home.alice, month, "UAH", home.factory, beancount=beancount)
            tool = (
                beancount_month(files.beancount, month, "UAH")
                if beancount
                else hledger_month(files.journal, month, "UAH")
            )
            assert tool == bot, (month, beancount)
    members = [home.alice, home.bob]
    hledger = hledger_balances(files.journal, "^Assets:", "^Liabilities:")
    assert hledger == await bot_balances(members, "UAH", home.factory, beancount=False)
    beans = beancount_balances(files.beancount)
    assert beans == await bot_balances(members, "UAH", home.factory, beancount=True)
    async with world.pool.acquire() as connection:
        count = await connection.fetchval(
            "SELECT count(*) FROM transactions WHERE household_id = $1", home.id
        )
    assert files.exported.transactions == count
    assert hledger_transactions(files.journal) == count
    assert beancount_transactions(files.beancount) == count


async def test_the_tools_read_the_books_as_the_bot_does(
    world: PostgresWorld, tmp_path: Path
) -> None:
    home = await awkward_books(world)
    files = await export_files(world.pool, home.id, tmp_path)
    await _assert_tools_agree(world, home, files)

    journal = files.journal.read_text(encoding="utf-8")
    beans = files.beancount.read_text(encoding="utf-8")
    assert "@@ 830.00 UAH" in beans or "@@ 622.50 UAH" in beans  # a conversion at its price
    assert "Equity:Conversion" not in journal  # the bot's shapes all fold into prices
    assert "отпуск:, trip-2026:, tag-date:" in journal  # hledger would read "date:" as a date
    # the original names survive beside the accounts
    for name in ['кафе "Ёлка": бар', "pizza 🍕 & co", "кошелёк «Ёж»"]:
        assert f'name: "{name}"'.replace('"Ёлка"', '\\"Ёлка\\"') in beans
        assert f"; name: {name}" in journal
    assert '"say \\"hi\\"; ok, then\nnext line 🍕 \\\\ back | pipe"' in beans


async def test_a_months_export_holds_that_month_whole(world: PostgresWorld, tmp_path: Path) -> None:
    home = await awkward_books(world)
    december = export_period("2026-12")
    files = await export_files(world.pool, home.id, tmp_path, december)
    check_files(files)
    for beancount in (False, True):
        bot = await bot_month(home.alice, MONTHS[3], "UAH", home.factory, beancount=beancount)
        tool = (
            beancount_month(files.beancount, MONTHS[3], "UAH")
            if beancount
            else hledger_month(files.journal, MONTHS[3], "UAH")
        )
        assert tool == bot
    async with world.pool.acquire() as connection:
        count = await connection.fetchval(
            """SELECT count(*) FROM transactions t
                LEFT JOIN transactions o ON o.id = t.voids_transaction_id
               WHERE t.household_id = $1
                 AND COALESCE(o.booked_on, t.booked_on) >= '2026-12-01'""",
            home.id,
        )
    assert files.exported.transactions == count == hledger_transactions(files.journal)


async def test_the_csv_is_the_contract(world: PostgresWorld, tmp_path: Path) -> None:
    home = await awkward_books(world)
    files = await export_files(world.pool, home.id, tmp_path)
    raw = files.csv.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert raw.split(b"\r\n", 1)[0] == ",".join(HEADER).encode()
    with files.csv.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == files.exported.postings
    async with world.pool.acquire() as connection:
        postings = await connection.fetch(
            """SELECT t.id, t.number, p.amount_minor, p.direction::text, p.currency
                 FROM postings p JOIN transactions t ON t.id = p.transaction_id
                WHERE t.household_id = $1 ORDER BY t.number, p.id""",
            home.id,
        )
    assert [(row["transaction_id"], int(row["number"])) for row in rows] == [
        (str(p["id"]), p["number"]) for p in postings
    ]
    for row, posting in zip(rows, postings, strict=True):
        sign = 1 if posting["direction"] == "debit" else -1
        assert row["currency"] == posting["currency"]
        assert Decimal(row["amount"]).scaleb(2) == sign * posting["amount_minor"]
        assert row["base_currency"] == "UAH"
        if row["currency"] == "UAH":
            assert row["base_amount"] == row["amount"]
    awkward = [row for row in rows if row["note"] == AWKWARD_NOTE]
    assert awkward
    assert {row["tags"] for row in awkward} == {"отпуск trip-2026 date"}
    converted = [row for row in rows if row["conversion_from"] == "20.00 EUR"]
    assert converted
    assert {(row["conversion_to"], row["conversion_rate"]) for row in converted} == {
        ("913.00 UAH", "45.65")
    }
    dollar_legs = [row for row in rows if row["conversion_from"] == "15.00 USD"]
    assert {
        (row["amount"], row["base_amount"]) for row in dollar_legs if row["currency"] == "USD"
    } == {
        ("-15.00", "-622.50"),
        ("15.00", "622.50"),
    }
    reversals = [row for row in rows if row["kind"] == "reversal"]
    assert reversals
    assert all(row["voids"] for row in reversals)
    voided_ids = {row["voids"] for row in reversals}
    assert all(row["voided_by"] for row in rows if row["transaction_id"] in voided_ids)
