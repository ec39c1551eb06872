"""What an adversarial pass found, each class through the running bot (issue 9)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from finance_bot.adapters.postgres.idempotency_keys import prune_idempotency_keys
from finance_bot.adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory, create_pool
from finance_bot.adapters.system import UuidV7Source
from finance_bot.application.household import vocabulary
from finance_bot.application.recording import record
from finance_bot.domain.commands import ParseError
from finance_bot.domain.parser import parse_line
from finance_bot.sandbox.fake_api import FakeTelegram
from finance_bot.sandbox.people import Person
from tests.e2e.support import (
    ALICE,
    RunningBot,
    ledger_rows,
    running_bot,
    settings_for,
    spending_of,
    transaction_count,
)

pytestmark = pytest.mark.postgres


def errors_counted(bot: RunningBot) -> float:
    registry = bot.app.metrics.registry
    return sum(
        registry.get_sample_value("finance_bot_updates_total", {"type": kind, "outcome": "error"})
        or 0.0
        for kind in ("message", "edited_message", "callback_query")
    )


async def aliases_of(bot: RunningBot, code: str) -> set[str]:
    rows = await ledger_rows(
        bot.database_url,
        "SELECT ca.alias_key FROM category_aliases ca JOIN accounts a ON a.id = ca.account_id"
        " WHERE a.code = $1",
        code,
    )
    return {row["alias_key"] for row in rows}


# 1. Words and categories


async def test_a_known_word_in_the_note_is_not_learned_by_the_category_button(
    bot: RunningBot, alice: Person
) -> None:
    filed = await alice.say("250 другое кафе")
    assert "прочее" in filed.text
    menu = await alice.press(filed, "Категория")
    moved = await alice.press(menu, "продукты")
    assert "Запомнил" not in moved.text
    assert "📝 кафе" in moved.texts[0]  # the note keeps its text
    assert "кафе" not in await aliases_of(bot, "products")
    assert " · кафе · " in (await alice.say("100 кафе")).text
    assert errors_counted(bot) == 0


async def test_no_command_silently_moves_a_word_off_another_category(
    bot: RunningBot, alice: Person
) -> None:
    refused = await alice.say("/alias продукты такси")
    assert "такси" in refused.text
    assert "занято" in refused.text
    assert " · такси · " in (await alice.say("100 такси")).text
    # Several words after the category are one alias, so "ланч" stays with обед.
    assert "обед" in (await alice.say("/alias кафе бизнес ланч")).text
    assert "добавлены" in (await alice.say("/alias кафе бизнес завтрак")).text
    assert " · обед · " in (await alice.say("100 ланч")).text
    assert " · кафе · " in (await alice.say("100 бизнес завтрак")).text
    assert "занято" in (await alice.say("/addcategory кофейня, кофе")).text
    assert " · кофе · " in (await alice.say("100 кофе")).text
    assert "занято" in (await alice.say("/addaccount такси")).text
    assert "занято" in (await alice.say("/addaccount кофе shared")).text
    assert "ланч" in await aliases_of(bot, "lunch")
    assert "такси" in await aliases_of(bot, "taxi")
    # /unalias works for every alias a person added, and never for a category's own name.
    assert "забыто" in (await alice.say("/unalias бизнес завтрак")).text
    assert "не подходит" in (await alice.say("/unalias кафе")).text
    assert " · кафе · " in (await alice.say("100 кафе")).text
    assert errors_counted(bot) == 0


async def test_name_clashes_between_kinds_are_refused_with_a_reason(
    bot: RunningBot, alice: Person
) -> None:
    for command in (
        "/addcategory зарплата",
        "/addincome кафе",
        "/addcategory карта",
        "/addincome такси",
        "/addcategory зп",
    ):
        reply = await alice.say(command)
        assert "занято" in reply.text, command
    assert errors_counted(bot) == 0


async def test_a_category_name_of_several_words_is_one_name(bot: RunningBot, alice: Person) -> None:
    assert "«домашние животные»" in (await alice.say("/addcategory домашние животные")).text
    assert " · домашние животные · " in (await alice.say("100 домашние животные корм")).text
    added = await alice.say("/addcategory дети, школа, детский сад")
    assert "«дети»" in added.text
    assert " · дети · " in (await alice.say("100 детский сад")).text
    assert "добавлены" in (await alice.say("/alias домашние животные ветеринар, корм")).text
    assert " · домашние животные · " in (await alice.say("100 ветеринар")).text


async def test_refiling_to_the_same_category_writes_and_learns_nothing(
    bot: RunningBot, alice: Person
) -> None:
    offered = await alice.say("250 шаурма")
    kept = await alice.press(offered, "прочее")
    assert kept.texts[0].startswith("#1 ")
    assert "Запомнил" not in kept.text
    same = await alice.say("100 кафе")
    menu = await alice.press(same, "Категория")
    again = await alice.press(menu, "кафе")
    assert again.texts[0].startswith("#2 ")
    assert await transaction_count(bot.database_url) == 2
    assert "шаурма" not in await aliases_of(bot, "other")
    assert errors_counted(bot) == 0


# 3. Alerts


async def test_one_alert_per_member_per_expense_naming_the_highest_threshold(
    bot: RunningBot, alice: Person, bob: Person, fake: FakeTelegram
) -> None:
    await bob.say("/start")
    await alice.say("/budget кафе 1000")
    await alice.say("/budget total 1000")
    before = len(fake.messages_to(bob.telegram_id))
    crossing = await alice.say("1200 кафе")
    alerts = [text for text in crossing.texts if "⚠️" in text]
    assert len(alerts) == 1, crossing.texts
    assert alerts[0].count("120%") == 2  # the category and the total, in one message
    assert len(fake.messages_to(bob.telegram_id)) == before + 1
    # A backdated expense names the month whose budget it crossed.
    await alice.say("/budget такси 100")
    rows = await ledger_rows(bot.database_url, "SELECT (now() - interval '40 days')::date AS d")
    day = rows[0]["d"]
    backdated = await alice.say(f"{day:%d.%m.%Y} 150 такси")
    [alert] = [text for text in backdated.texts if "⚠️" in text]
    months = [
        "январь",
        "февраль",
        "март",
        "апрель",
        "май",
        "июнь",
        "июль",
        "август",
        "сентябрь",
        "октябрь",
        "ноябрь",
        "декабрь",
    ]
    assert f"{months[day.month - 1]} {day.year}" in alert


# 4. No input ends as an error


async def test_far_periods_redelivered_presses_and_crafted_callbacks_end_handled(
    bot: RunningBot, alice: Person, fake: FakeTelegram
) -> None:
    for command in ("/month 9999-12", "/year 0001", "/year 9999", "/month 0001-01"):
        reply = await alice.say(command)
        assert "/month 2026-11" in reply.text, command
    reply = await alice.say("100 кафе")
    message_id = reply.messages[-1]["message_id"]
    menu_update = fake.press_button(ALICE, message_id, reply.buttons()["Категория"])
    await alice.processed(menu_update)
    fake.redeliver(menu_update)  # the same press once more: the menu is already shown
    await fake.wait_for(lambda: len(fake.calls("answerCallbackQuery")) == 2)
    await fake.wait_for(lambda: not fake.pending_update_ids())
    undo_update = fake.press_button(ALICE, message_id, "u:1")
    await alice.processed(undo_update)
    fake.redeliver(undo_update)  # the same Undo once more: the text is already edited
    await fake.wait_for(lambda: len(fake.calls("answerCallbackQuery")) == 4)
    await fake.wait_for(lambda: not fake.pending_update_ids())
    crafted = [
        "u:abc",
        "u:99999999999999999999999",
        "r:1",
        "r:1:x",
        "c:-5",
        "zzz",
        "",
        "u",
        "b:1:2:3",
        "r:1:99999999999",
        "u:0",
        "c:99999",
    ]
    for data in crafted:
        update_id = fake.press_button(ALICE, message_id, data)
        await alice.processed(update_id)
    answered = fake.calls("answerCallbackQuery")
    assert len(answered) == 4 + len(crafted)
    assert errors_counted(bot) == 0
    assert await transaction_count(bot.database_url) == 2


# 5. Dates


async def test_absurd_dates_are_refused_with_the_window(bot: RunningBot, alice: Person) -> None:
    for line in ("01.01.0001 5 кафе", "5 кафе 31.12.1999", "01.01.1900 5 кафе"):
        reply = await alice.say(line)
        assert "2000" in reply.text, line
    assert await transaction_count(bot.database_url) == 0


# 6. Words the bot says


async def test_no_reply_has_an_empty_placeholder_or_an_internal_string(
    bot: RunningBot, alice: Person
) -> None:
    assert "«250 кафе»" in (await alice.say("250")).text
    assert "«»" not in (await alice.say("1000 карта >")).text
    assert "наличные" in (await alice.say("1000 карта >")).text
    refused = await alice.say("/archive карта")
    assert "is the default" not in refused.text
    assert "по умолчанию" in refused.text
    for line in (
        "/transfer 100",
        "/transfer 100 карта",
        "/alias кафе",
        "/addcategory ,",
        "/alias , кофейня",
        "/budget кафе",
        "/unalias ,",
    ):
        reply = await alice.say(line)
        assert "«»" not in reply.text, line
    assert errors_counted(bot) == 0


# 7. Commands and formats


async def test_commands_ignore_case_and_read_only_ascii_digits(
    bot: RunningBot, alice: Person
) -> None:
    for command in ("/Today", "/TODAY", "/MONTH", "/Balance"):
        assert "/undo" not in (await alice.say(command)).text, command
    await alice.say("100 кафе")
    await alice.say("200 кафе")
    for command in ("/del٣", "/del１", "/del ٢", "/del_٢"):
        assert (await alice.say(command)).text == "Так: /del 42", command
    assert "Отменено: #1" in (await alice.say("/DEL1")).text
    assert "Отменено: #2" in (await alice.say("/Undo")).text
    budget = await alice.say("/budget кафе 1 000")
    assert "«кафе»: 1\u00a0000,00" in budget.text
    assert "1\u00a0500,00" in (await alice.say("/budget такси 1000+500")).text
    assert "«всего»: 2\u00a0000,50" in (await alice.say("/budget total 2 000,50")).text


# 8. Several lines


async def test_several_lines_are_several_entries_all_or_none(
    bot: RunningBot, alice: Person
) -> None:
    reply = await alice.say("100 кафе\n200 такси\n\n 50 шаурма ")
    assert len(reply.texts) == 1
    assert "#1 " in reply.text
    assert "#2 " in reply.text
    assert "#3 " in reply.text
    assert "/del1" in reply.text
    assert "/del3" in reply.text
    assert " · такси · " in reply.text
    assert await transaction_count(bot.database_url) == 3
    refused = await alice.say("100 кафе\nкафе сто\n300 такси")
    assert "2" in refused.text
    assert "кафе сто" in refused.text
    assert await transaction_count(bot.database_url) == 3
    notes = await ledger_rows(bot.database_url, "SELECT note FROM transactions ORDER BY number")
    assert [row["note"] for row in notes] == ["", "", "шаурма"]


async def test_invisible_marks_neither_hide_a_category_nor_break_a_list(
    bot: RunningBot, alice: Person
) -> None:
    """Right-to-left keyboards and text copied out of other apps carry marks no one sees:
    a left-to-right mark after "кафе", an amount inside bidi isolates, a line holding only
    a mark. None of them may file the cafe under "other" or refuse the list."""
    reply = await alice.say("250 кафе\u200e\n\u200f\n\u2068300\u2069 такси")
    assert "#1 " in reply.text
    assert "#2 " in reply.text
    assert " · кафе · " in reply.text
    assert " · такси · " in reply.text
    rows = await ledger_rows(
        bot.database_url,
        "SELECT t.number, t.note, a.code, p.amount_minor FROM transactions t"
        " JOIN postings p ON p.transaction_id = t.id JOIN accounts a ON a.id = p.account_id"
        " WHERE a.type = 'expense' ORDER BY t.number",
    )
    assert [(r["number"], r["note"], r["code"], r["amount_minor"]) for r in rows] == [
        (1, "", "cafe", 25000),
        (2, "", "taxi", 30000),
    ]
    assert await spending_of(bot.database_url, "other") == 0
    assert errors_counted(bot) == 0


# 9. Settings


async def test_a_restart_with_another_currency_keeps_the_households_own(
    fake: FakeTelegram, fresh_database_url: str, alice: Person
) -> None:
    async with running_bot(settings_for(fake, fresh_database_url, default_currency="UAH")):
        assert (await alice.say("100 кафе")).text.startswith("#1 −100,00\u00a0₴")
    async with running_bot(settings_for(fake, fresh_database_url, default_currency="USD")) as bot:
        assert (await alice.say("250 такси")).text.startswith("#2 −250,00\u00a0₴")
        assert "₴" in (await alice.say("/balance")).text
        assert "$" not in (await alice.say("/balance")).text
        assert "1\u00a0000,00\u00a0₴" in (await alice.say("/budget кафе 1000")).text
        assert "добавлен" in (await alice.say("/addaccount копилка")).text
        assert (await alice.say("5 кафе @копилка")).text.startswith("#3 ")
        assert errors_counted(bot) == 0
    rows = await ledger_rows(fresh_database_url, "SELECT DISTINCT currency FROM postings")
    assert [row["currency"] for row in rows] == ["UAH"]


# 10. Delivery


async def test_a_repeated_update_id_is_a_new_message_not_a_replay(
    bot: RunningBot, fake: FakeTelegram, alice: Person
) -> None:
    first = await alice.say("250 кафе")
    assert first.text.startswith("#1 ")
    reused = fake.confirmed_offset - 1  # after a quiet week Telegram may start anywhere
    message = {
        "message_id": 9001,
        "date": int(fake.messages_to(ALICE)[-1]["date"]),
        "chat": {"id": ALICE, "type": "private", "first_name": "Алиса"},
        "from": {"id": ALICE, "is_bot": False, "first_name": "Алиса", "language_code": "ru"},
        "text": "100 такси",
    }
    fake.push_raw({"update_id": reused, "message": message})
    await fake.wait_for(lambda: len(fake.messages_to(ALICE)) == 2)
    assert fake.messages_to(ALICE)[-1]["text"].startswith("#2 −100,00\u00a0₴ · такси")
    assert await transaction_count(bot.database_url) == 2


async def test_an_update_keyed_by_the_first_version_is_still_recognised_when_redelivered(
    fake: FakeTelegram, fresh_database_url: str, alice: Person
) -> None:
    # The first version recorded an update under "tg:<bot>:<update_id>" and stopped before
    # confirming it; the upgraded bot receives it again and answers with that entry.
    async with running_bot(settings_for(fake, fresh_database_url)):
        await alice.say("/start")
    in_flight = fake.confirmed_offset  # the id the fake gives the next update
    pool = await create_pool(fresh_database_url)
    try:
        factory = PostgresUnitOfWorkFactory(pool)
        words = await vocabulary(ALICE, uow_factory=factory)
        today = datetime.now(ZoneInfo("Europe/Kyiv")).date()
        command = parse_line("250 кафе", words, today=today, currency="UAH")
        assert not isinstance(command, ParseError)
        first = await record(
            command,
            author_telegram_id=ALICE,
            idempotency_key=f"tg:42:{in_flight}",
            uow_factory=factory,
            ids=UuidV7Source(),
        )
    finally:
        await pool.close()
    async with running_bot(settings_for(fake, fresh_database_url)):
        update_id = fake.send_text(ALICE, "250 кафе", first_name="Алиса")
        assert update_id == in_flight
        await alice.processed(update_id)
        assert fake.messages_to(ALICE)[-1]["text"].startswith(f"#{first.number} −250,00")
        assert await transaction_count(fresh_database_url) == 1
        assert (await alice.say("100 такси")).text.startswith("#2 ")


async def test_keys_that_cannot_come_back_are_pruned(bot: RunningBot, alice: Person) -> None:
    await alice.say("250 кафе")
    await alice.say("100 такси")
    connection = await asyncpg.connect(bot.database_url)
    try:
        await connection.execute(
            "UPDATE idempotency_keys SET created_at = now() - interval '8 days'"
            " WHERE key = (SELECT min(key) FROM idempotency_keys)"
        )
        assert await prune_idempotency_keys(connection) == 1
        assert await connection.fetchval("SELECT count(*) FROM idempotency_keys") == 1
        assert await prune_idempotency_keys(connection) == 0
    finally:
        await connection.close()
