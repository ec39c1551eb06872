"""/export through the running bot (docs/product.md §13): three documents in one album,
which hledger and beancount read as the bot's own /month; friendly answers otherwise."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from finance_bot.application.export import Exported
from finance_bot.sandbox.fake_api import FakeTelegram
from finance_bot.sandbox.people import Person
from tests.e2e.support import RunningBot, ledger_rows, transaction_count
from tests.support.export_tools import (
    Files,
    beancount_month,
    bot_month,
    check_files,
    hledger_month,
)
from tests.support.household import ledger_world

pytestmark = pytest.mark.postgres


async def test_export_sends_three_files_the_tools_read(
    bot: RunningBot, fake: FakeTelegram, alice: Person, bob: Person, tmp_path: Path
) -> None:
    empty = await alice.say("/export")
    assert empty.text == "Выгружать нечего: за этот период записей нет."
    for wrong in ("/export 2026-13", "/export вчера", "/export 1999", "/export 2026 11"):
        assert (await alice.say(wrong)).text.startswith("Вот так: /export")
    assert (await bob.say("/export 2026-1x")).text.startswith("Like this: /export")
    assert await transaction_count(bot.database_url) == 0

    await alice.say("/addaccount доллары USD")
    await alice.say("/rate USD 41.50")
    await alice.say('250 кафе ужин "у Ёжика"; #отпуск')
    await alice.say("20$ кафе")
    await alice.say("+1000$ зарплата")
    await alice.say("10 такси")
    await alice.say("/undo")
    await bob.say("100 groceries")

    reply = await alice.say("/export")
    documents = [message["document"] for message in reply.messages]
    assert [document["file_name"] for document in documents] == [
        "finance-bot-all.csv",
        "finance-bot-all.journal",
        "finance-bot-all.beancount",
    ]
    assert len({message["media_group_id"] for message in reply.messages}) == 1
    assert await transaction_count(bot.database_url) == 6  # the undo is one too
    assert reply.messages[-1]["caption"].startswith("Ваши книги: записей — 6.")
    paths = []
    for document in documents:
        path = tmp_path / document["file_name"]
        path.write_bytes(fake.uploads[document["file_id"]].data)
        paths.append(path)
    postings = await ledger_rows(bot.database_url, "SELECT count(*) AS n FROM postings")
    files = Files(*paths, exported=Exported(6, int(postings[0]["n"])))
    check_files(files)
    csv_rows = paths[0].read_bytes().decode("utf-8").split("\r\n")
    assert csv_rows[0].startswith("transaction_id,number,date,kind,")
    assert len([row for row in csv_rows[1:] if row]) == files.exported.postings

    month = datetime.now(UTC).date().replace(day=1)  # every line above is booked today
    async with ledger_world(bot.database_url) as world:
        for beancount in (False, True):
            bot_figures = await bot_month(
                alice.telegram_id, month, "UAH", world.uow_factory, beancount=beancount
            )
            assert bot_figures[0]  # there is spending to compare
            read = (
                beancount_month(files.beancount, month, "UAH")
                if beancount
                else hledger_month(files.journal, month, "UAH")
            )
            assert read == bot_figures

    nothing_then = await bob.say("/export 2001")
    assert nothing_then.text == "Nothing to export: no entries in that period."
    this_month = await bob.say(f"/export {month:%Y-%m}")
    names = [message["document"]["file_name"] for message in this_month.messages]
    assert names[0] == f"finance-bot-{month:%Y-%m}.csv"
