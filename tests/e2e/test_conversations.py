"""Scripted conversations with the real bot over real HTTP: every format and command."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from finance_bot.sandbox.fake_api import FakeTelegram
from finance_bot.sandbox.people import Person
from tests.e2e.support import RunningBot, ledger_rows, spending_of, transaction_count

pytestmark = pytest.mark.postgres
KYIV = ZoneInfo("Europe/Kyiv")


async def test_expense_is_confirmed_with_buttons_and_recorded(
    bot: RunningBot, alice: Person
) -> None:
    reply = await alice.say("250 кафе")
    assert reply.texts == ["#1 −250,00\u00a0₴ · кафе · карта"]
    assert set(reply.buttons()) == {"Отменить", "Категория"}
    assert await spending_of(bot.database_url, "cafe") == 25000


@pytest.mark.parametrize(
    ("line", "category", "amount_minor"),
    [
        ("250,50 кафе", "cafe", 25050),
        ("1 500 продукты", "products", 150000),
        ("120+80 продукты", "products", 20000),
        ("250 бизнес ланч", "lunch", 25000),
        ("250 2 кофе", "other", 25000),
        ("Кофе 0,5", None, 0),  # no amount first: a hint, nothing recorded
    ],
)
async def test_amount_formats(
    bot: RunningBot, alice: Person, line: str, category: str | None, amount_minor: int
) -> None:
    reply = await alice.say(line)
    if category is None:
        assert "250 кафе" in reply.text  # the hint shows examples
        assert await transaction_count(bot.database_url) == 0
        return
    assert reply.text.startswith("#1 −")
    assert await spending_of(bot.database_url, category) == amount_minor


async def test_account_note_and_tags(bot: RunningBot, alice: Person) -> None:
    reply = await alice.say("250 кафе @нал ужин с Машей #отпуск")
    assert reply.texts == ["#1 −250,00\u00a0₴ · кафе · наличные\n📝 ужин с Машей\n#отпуск"]
    rows = await ledger_rows(bot.database_url, "SELECT note, tags FROM transactions")
    assert (rows[0]["note"], rows[0]["tags"]) == ("ужин с Машей", ["отпуск"])
    reply = await alice.say("100 кафе наличные")
    assert "наличные" in reply.text


async def test_income_and_transfer(bot: RunningBot, alice: Person) -> None:
    income = await alice.say("+30000 зарплата")
    assert income.text == "#1 +30\u00a0000,00\u00a0₴ · зарплата · карта"
    transfer = await alice.say("1000 карта > наличные")
    assert transfer.text == "#2 1\u00a0000,00\u00a0₴ · карта → наличные"
    assert set(transfer.buttons()) == {"Отменить"}
    command = await alice.say("/transfer 500 наличные карта")
    assert command.text.startswith("#3 500,00")
    balance = await alice.say("/balance")
    assert "карта: 29\u00a0500,00\u00a0₴" in balance.text
    assert "наличные: 500,00\u00a0₴" in balance.text
    assert await transaction_count(bot.database_url) == 3


async def test_backdated_lines_book_on_that_day(bot: RunningBot, alice: Person) -> None:
    now = datetime.now(KYIV)
    yesterday = (now - timedelta(days=1)).date()
    first = await alice.say("вчера 250 такси")
    second = await alice.say("250 такси вчера")
    third = await alice.say(f"{yesterday:%d.%m} 250 такси")
    for reply in (first, second, third):
        assert f"📅 {yesterday:%d.%m.%Y}" in reply.text
    rows = await ledger_rows(bot.database_url, "SELECT DISTINCT booked_on FROM transactions")
    assert [r["booked_on"] for r in rows] == [yesterday]


async def test_booking_date_comes_from_the_message_not_the_clock(
    bot: RunningBot, alice: Person
) -> None:
    # Sent at 23:30 Kyiv time two days ago, handled now (a backlog after downtime).
    sent = datetime.now(KYIV).replace(hour=23, minute=30) - timedelta(days=2)
    await alice.say("250 такси", date=sent.astimezone(UTC))
    rows = await ledger_rows(bot.database_url, "SELECT booked_on FROM transactions")
    assert rows[0]["booked_on"] == sent.date()


async def test_english_speaker_gets_english_and_money_formatted(
    bot: RunningBot, bob: Person
) -> None:
    reply = await bob.say("yesterday 12.50 coffee")
    assert reply.text.startswith("#1 −₴12.50 · coffee · card\n📅 ")
    big = await bob.say("1 500 groceries")
    assert big.text.startswith("#2 −₴1,500.00 · groceries")


async def test_bad_amounts_get_a_friendly_answer_and_write_nothing(
    bot: RunningBot, alice: Person
) -> None:
    for line, expected in [
        ("1e5 кафе", "не похоже на сумму"),
        ("0 кафе", "больше нуля"),
        ("-5 кафе", "больше нуля"),
        ("12345678901234567890 кафе", "Слишком большая"),
        ("1,234 кафе", "двух знаков"),
        ("250", "На что потрачено"),
        ("NaN кафе", "Не понял"),
        ("∞ кафе", "Не понял"),
        ("250 кафе @нетсчёта", "Нет счёта"),
    ]:
        reply = await alice.say(line)
        assert expected in reply.text, line
    assert await transaction_count(bot.database_url) == 0


async def test_unknown_word_is_filed_under_other_and_learned_by_the_category_button(
    bot: RunningBot, alice: Person
) -> None:
    reply = await alice.say("250 шаурма с Машей")
    assert "прочее" in reply.text
    assert "шаурма" in reply.text
    assert {"кафе", "такси", "Отменить"} <= set(reply.buttons())  # offered at once
    moved = await alice.press(reply, "кафе")
    assert moved.texts[0].startswith("#3 −250,00\u00a0₴ · кафе · карта\n📝 с Машей")
    assert "Запомнил: «шаурма» → кафе" in moved.texts[0]
    assert await spending_of(bot.database_url, "other") == 0
    assert await spending_of(bot.database_url, "cafe") == 25000
    again = await alice.say("100 шаурма")
    assert again.text == "#4 −100,00\u00a0₴ · кафе · карта"


async def test_undo_button_del_and_undo_commands(bot: RunningBot, alice: Person) -> None:
    first = await alice.say("100 кафе")
    pressed = await alice.press(first, "Отменить")
    assert "Отменено: #1" in pressed.texts[0]
    assert pressed.buttons() == {}
    await alice.say("200 кафе")  # 3
    await alice.say("300 кафе")  # 4
    assert "Отменено: #3" in (await alice.say("/del 3")).text
    assert "уже отменена" in (await alice.say("/del3")).text
    assert "Отменено: #4" in (await alice.say("/undo")).text
    assert "уже отменена" in (await alice.say("/undo")).text
    assert "нельзя отменить" in (await alice.say("/del 2")).text  # a reversal
    assert "Записи #99 нет" in (await alice.say("/del99")).text
    assert "/del 42" in (await alice.say("/del abc")).text
    assert await spending_of(bot.database_url, "cafe") == 0


async def test_only_the_author_may_undo(bot: RunningBot, alice: Person, bob: Person) -> None:
    await alice.say("100 кафе")
    reply = await bob.say("/del 1")
    assert "someone else" in reply.text
    assert await spending_of(bot.database_url, "cafe") == 10000


async def test_reports_for_periods_people_and_me(
    bot: RunningBot, alice: Person, bob: Person
) -> None:
    await alice.say("300 кафе")
    await bob.say("100 taxi")
    await alice.say("+1000 зарплата")
    today = await alice.say("/today")
    assert "Расходы: 400,00\u00a0₴" in today.text
    assert "• кафе: 300,00\u00a0₴ (75%)" in today.text
    assert "• Алиса: 300,00\u00a0₴" in today.text
    assert "• Bob: 100,00\u00a0₴" in today.text
    mine = await alice.say("/week me")
    assert "только вы" in mine.text
    assert "Расходы: 300,00\u00a0₴" in mine.text
    month = await bob.say("/month")
    assert "Spending: ₴400.00" in month.text
    assert "Income: ₴1,000.00" in month.text
    assert "Net: +₴600.00" in month.text
    assert "previous period" in month.text
    last_month = datetime.now(KYIV).date().replace(day=1) - timedelta(days=1)
    empty = await alice.say(f"/month {last_month:%Y-%m}")
    assert "Расходов нет" in empty.text
    year = await alice.say("/year")
    assert "Расходы: 400,00\u00a0₴" in year.text
    assert "/month 2026-11" in (await alice.say("/month ноябрь")).text


async def test_chart_is_a_photo_with_the_total_and_an_empty_period_is_text(
    bot: RunningBot, alice: Person, bob: Person, fake: FakeTelegram
) -> None:
    await alice.say("300 кафе")
    first_day = datetime.now(KYIV).date().replace(day=1)
    await alice.say(f"{first_day:%d.%m} 120 продукты")  # the same month whatever today is
    await bob.say("100 taxi")
    await alice.say("/budget total 20000")
    reply = await alice.say("/chart")
    [message] = reply.messages
    assert "text" not in message
    title = reply.text.split(" — ")[0]
    assert reply.text == f"{title} — расходы: 520,00\u00a0₴"
    [call] = [c for c in fake.calls("sendPhoto") if c.status == 200]
    upload = call.params["photo"]
    assert upload.filename == "chart.png"
    image = Image.open(io.BytesIO(upload.data))
    assert image.format == "PNG"
    assert image.width >= 1200
    # what the fake stored under the photo's file_id is the same picture
    file_id = message["photo"][-1]["file_id"].rsplit("-", 1)[0]
    assert fake.uploads[file_id].data == upload.data

    english = await bob.say("/chart week me")
    assert english.messages[0]["caption"].endswith("(you only) — spending: ₴100.00")
    year = await alice.say(f"/chart {datetime.now(KYIV).year}")
    assert "photo" in year.messages[0]

    empty = await alice.say("/chart 2001-02")
    assert empty.texts == ["Февраль 2001: расходов нет, рисовать нечего."]
    assert "/chart 2026-11" in (await alice.say("/chart ноябрь")).text
    assert len([c for c in fake.calls("sendPhoto") if c.status == 200]) == 3


async def test_last_lists_numbers_with_del_links(bot: RunningBot, alice: Person) -> None:
    for amount in (1, 2, 3):
        await alice.say(f"{amount} кафе")
    reply = await alice.say("/last 2")
    lines = reply.text.splitlines()
    assert lines[1].startswith("#3 ")
    assert lines[1].endswith("/del3")
    assert lines[2].startswith("#2 ")
    assert len(lines) == 3


async def test_budgets_progress_and_alerts_reach_every_member(
    bot: RunningBot, alice: Person, bob: Person, fake: FakeTelegram
) -> None:
    await bob.say("/start")  # Bob joins the household
    assert "1\u00a0000,00" in (await alice.say("/budget кафе 1000")).text
    await alice.say("/budget total 10000")
    await alice.say("700 кафе")
    crossing = await alice.say("150 кафе")
    assert any("85% бюджета" in text for text in crossing.texts)
    assert any("85% of this month's budget" in m["text"] for m in fake.messages_to(bob.telegram_id))
    quiet = await alice.say("10 кафе")
    assert len(quiet.texts) == 1  # 80 % was announced already this month
    over = await alice.say("200 кафе")
    assert any("106%" in text for text in over.texts)
    budgets = await alice.say("/budgets")
    assert "кафе: 1\u00a0060,00\u00a0₴ из 1\u00a0000,00\u00a0₴ (106%)" in budgets.text
    assert "всего" in budgets.text
    assert "в день" in budgets.text
    assert "убран" in (await alice.say("/budget кафе off")).text
    assert "Нет категории" in (await alice.say("/budget нетакой 100")).text
    assert "/budget кафе 3000" in (await alice.say("/budget")).text


async def test_accounts_and_categories_management(bot: RunningBot, alice: Person) -> None:
    accounts = await alice.say("/accounts")
    assert "• карта ⭐ по умолчанию" in accounts.text
    assert "добавлен" in (await alice.say("/addaccount копилка shared")).text
    assert "занято" in (await alice.say("/addaccount копилка")).text
    assert "копилка" in (await alice.say("/default копилка")).text
    assert "копилка" in (await alice.say("50 кафе")).text
    assert "в архиве" in (await alice.say("/archive наличные")).text
    assert "Нет счёта" in (await alice.say("/default наличные")).text
    assert "добавлена" in (await alice.say("/addcategory питомцы, кот, корм для кота")).text
    assert "питомцы" in (await alice.say("100 корм для кота")).text
    assert "добавлены" in (await alice.say("/alias питомцы ветеринар")).text
    assert "питомцы" in (await alice.say("300 ветеринар")).text
    assert "забыто" in (await alice.say("/unalias ветеринар")).text
    assert "прочее" in (await alice.say("300 ветеринар")).text
    assert "добавлена" in (await alice.say("/addincome фриланс")).text
    assert "фриланс" in (await alice.say("+5000 фриланс")).text
    categories = await alice.say("/categories")
    assert "• питомцы: корм для кота, кот" in categories.text


async def test_language_switch_and_help(bot: RunningBot, alice: Person) -> None:
    help_text = (await alice.say("/help")).text
    assert "/undo" in help_text
    assert "/chart" in help_text
    assert "English" in (await alice.say("/lang en")).text
    assert (await alice.say("5 cafe")).text.startswith("#1 −₴5.00 · cafe · card")
    assert "/lang ru" in (await alice.say("/lang de")).text
    assert "по-русски" in (await alice.say("/lang ru")).text
    assert "Recording" not in (await alice.say("/nosuchcommand")).text


async def test_command_menu_is_registered_in_both_languages(
    bot: RunningBot, alice: Person, fake: FakeTelegram
) -> None:
    await alice.say("/start")
    scope = "all_private_chats"
    russian = fake.my_commands("ru", scope)
    english = fake.my_commands("en", scope)
    assert russian is not None
    assert english is not None
    assert {c["command"] for c in russian} >= {"month", "chart", "undo", "balance", "help"}
    assert (
        next(c for c in russian if c["command"] == "undo")["description"]
        != next(c for c in english if c["command"] == "undo")["description"]
    )


async def test_several_currencies_from_rate_to_undo(bot: RunningBot, alice: Person) -> None:
    no_rate = await alice.say("20$ кафе")
    assert "/rate USD" in no_rate.text
    assert await transaction_count(bot.database_url) == 0

    assert (await alice.say("/addaccount доллары USD")).text == "Счёт «доллары» в USD добавлен."
    assert "1 $ = 41,50 ₴" in (await alice.say("/rate USD 41.50")).text
    spent = await alice.say("20$ кафе")
    assert spent.text.startswith("#1 −20,00\u00a0$ → 830,00\u00a0₴ (по курсу 1 $ = 41,50 ₴) · кафе")
    assert "доллары" in spent.text  # her own account in dollars paid
    exchanged = await alice.say("100 доллары > карта 4150")
    assert exchanged.text.startswith("#2 100,00\u00a0$ → 4\u00a0150,00\u00a0₴")
    asked = await alice.say("5 € кафе доллары")
    assert "в USD или в UAH" in asked.text
    assert "41,5" in (await alice.say("/rates")).text

    undone = await alice.say("/undo")
    assert "#2" in undone.text
    assert await spending_of(bot.database_url, "cafe") == 83000
    assert await transaction_count(bot.database_url) == 3
