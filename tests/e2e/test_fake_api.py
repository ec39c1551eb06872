"""The fake Bot API, driven by a real aiogram Bot over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from finance_bot.sandbox.fake_api import FakeTelegram

USER = 7


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(bot_id=42, bot_username="books_bot") as server:
        yield server


@pytest.fixture(scope="session")
async def client_session() -> AsyncIterator[AiohttpSession]:
    # One for the whole run: aiogram's close() waits 250 ms for TLS shutdowns, per session.
    session = AiohttpSession()
    yield session
    await session.close()


@pytest.fixture
def bot(fake: FakeTelegram, client_session: AiohttpSession) -> Bot:
    client_session.api = TelegramAPIServer.from_base(fake.base_url)
    return Bot(token="42:TEST", session=client_session)


def keyboard(*data: str) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(text=item, callback_data=item) for item in data]
    return InlineKeyboardMarkup(inline_keyboard=[buttons])


async def test_get_me_reports_the_configured_bot(fake: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()

    assert (me.id, me.username, me.is_bot) == (42, "books_bot", True)
    assert fake.tokens == {"42:TEST"}
    assert fake.base_url == f"http://127.0.0.1:{fake.port}"
    assert fake.port > 0


async def test_an_injected_text_comes_back_from_get_updates(fake: FakeTelegram, bot: Bot) -> None:
    update_id = fake.send_text(USER, "/start", first_name="Оля")

    [update] = await bot.get_updates()

    assert update.update_id == update_id
    assert update.message is not None
    assert update.message.text == "/start"
    assert update.message.chat.id == USER
    assert update.message.chat.type == "private"
    assert update.message.from_user is not None
    assert update.message.from_user.first_name == "Оля"
    assert update.message.from_user.language_code == "ru"
    assert update.message.entities is not None
    assert update.message.entities[0].type == "bot_command"


async def test_a_long_poll_returns_as_soon_as_an_update_arrives(
    fake: FakeTelegram, bot: Bot
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await asyncio.sleep(0.2)  # the request is parked on the server by now
    assert not poll.done()

    fake.send_text(USER, "кофе 120")
    updates = await asyncio.wait_for(poll, timeout=10)

    assert [u.message.text for u in updates if u.message] == ["кофе 120"]
    assert loop.time() - started < 10  # far from the 30 s the bot offered to wait


async def test_a_long_poll_answers_nothing_after_its_timeout(bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()

    assert await bot.get_updates(timeout=1) == []
    assert loop.time() - started >= 0.9


async def test_an_offset_confirms_the_updates_below_it_and_only_those(
    fake: FakeTelegram, bot: Bot
) -> None:
    first, second, third = (fake.send_text(USER, f"{n} кофе") for n in (1, 2, 3))

    # Returned but never confirmed: nothing is dropped.
    assert [u.update_id for u in await bot.get_updates()] == [first, second, third]
    assert [u.update_id for u in await bot.get_updates()] == [first, second, third]

    confirmed = await bot.get_updates(offset=second)

    assert [u.update_id for u in confirmed] == [second, third]
    assert fake.confirmed_offset == second
    assert fake.pending_update_ids() == [second, third]
    assert [u.update_id for u in await bot.get_updates()] == [second, third]
    assert await bot.get_updates(offset=third + 1) == []
    assert fake.pending_update_ids() == []


async def test_redeliver_hands_a_confirmed_update_over_again(fake: FakeTelegram, bot: Bot) -> None:
    update_id = fake.send_text(USER, "такси 250")
    [original] = await bot.get_updates()
    assert await bot.get_updates(offset=update_id + 1) == []

    fake.redeliver(update_id)
    [again] = await bot.get_updates(offset=update_id + 1)

    assert again == original
    assert await bot.get_updates(offset=update_id + 1) == []


async def test_user_side_updates_deserialise_in_aiogram(fake: FakeTelegram, bot: Bot) -> None:
    text = fake.send_text(USER, "кофе 12O")
    fake.edit_text(USER, 1, "кофе 120")
    fake.send_sticker(USER)
    fake.send_photo(USER, caption="чек")
    fake.send_voice(USER)
    fake.push_raw({"my_chat_member_never_seen": True})

    updates = await bot.get_updates()

    assert updates[0].update_id == text
    edited = updates[1].edited_message
    assert edited is not None
    assert (edited.message_id, edited.text, edited.edit_date is not None) == (1, "кофе 120", True)
    assert updates[2].message is not None
    assert updates[2].message.sticker is not None
    assert updates[3].message is not None
    assert updates[3].message.photo
    assert updates[3].message.caption == "чек"
    assert updates[4].message is not None
    assert updates[4].message.voice is not None
    assert len(updates) == 6


async def test_a_sent_inline_keyboard_is_visible_and_its_button_can_be_pressed(
    fake: FakeTelegram, bot: Bot
) -> None:
    fake.send_text(USER, "кофе 120")
    sent = await bot.send_message(USER, "Записал", reply_markup=keyboard("undo:1"))

    [message] = fake.messages_to(USER)
    assert message["message_id"] == sent.message_id == 2  # ids count per chat, both ways
    assert message["text"] == "Записал"
    assert message["from"]["id"] == 42
    assert message["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "undo:1"

    update_id = fake.press_button(USER, sent.message_id, "undo:1")
    [update] = await bot.get_updates(offset=update_id)
    query = update.callback_query
    assert query is not None
    assert query.data == "undo:1"
    assert query.message is not None
    assert query.message.message_id == sent.message_id

    assert await bot.answer_callback_query(query.id, text="Отменено")
    assert query.id in fake.answered_callbacks
    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        await bot.answer_callback_query(query.id)


async def test_callback_data_longer_than_64_bytes_is_refused(fake: FakeTelegram, bot: Bot) -> None:
    await bot.send_message(USER, "ok", reply_markup=keyboard("ж" * 32))  # 64 bytes

    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "too long", reply_markup=keyboard("ж" * 33))  # 66 bytes
    assert [m["text"] for m in fake.messages_to(USER)] == ["ok"]


async def test_text_is_limited_to_4096_characters_and_must_not_be_empty(
    fake: FakeTelegram, bot: Bot
) -> None:
    await bot.send_message(USER, "я" * 4096)

    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER, "я" * 4097)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(USER, "  \n ")
    assert len(fake.messages_to(USER)) == 1


async def test_html_is_parsed_like_telegram_parses_it(fake: FakeTelegram, bot: Bot) -> None:
    await bot.send_message(USER, "<b>Итого</b>: 1 500 &lt;₴&gt;", parse_mode="HTML")

    [message] = fake.messages_to(USER)
    assert message["text"] == "Итого: 1 500 <₴>"
    assert message["entities"] == [{"type": "bold", "offset": 0, "length": 5}]
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(USER, "<b>Итого: 1 < 2", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(USER, "<b>Итого</i>", parse_mode="HTML")


async def test_a_chat_id_must_be_an_integer(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message("@someone", "hi")


async def test_edits_change_the_stored_message(fake: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(USER, "Бюджет", reply_markup=keyboard("a"))

    await bot.edit_message_text(
        "Бюджет: еда", chat_id=USER, message_id=sent.message_id, reply_markup=keyboard("b")
    )
    [message] = fake.messages_to(USER)
    assert message["text"] == "Бюджет: еда"
    assert message["reply_markup"] == keyboard("b").model_dump(exclude_none=True)
    assert "edit_date" in message

    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "Бюджет: еда", chat_id=USER, message_id=sent.message_id, reply_markup=keyboard("b")
        )

    await bot.edit_message_reply_markup(
        chat_id=USER, message_id=sent.message_id, reply_markup=keyboard("c")
    )
    assert fake.messages_to(USER)[0]["reply_markup"]["inline_keyboard"][0][0]["text"] == "c"
    await bot.edit_message_reply_markup(chat_id=USER, message_id=sent.message_id)
    assert "reply_markup" not in fake.messages_to(USER)[0]
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("?", chat_id=USER, message_id=999)


async def test_deleted_messages_disappear_and_chat_actions_are_accepted(
    fake: FakeTelegram, bot: Bot
) -> None:
    assert await bot.send_chat_action(USER, "typing")
    sent = await bot.send_message(USER, "временно")

    assert await bot.delete_message(USER, sent.message_id)
    assert fake.messages_to(USER) == []
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(USER, sent.message_id)


async def test_reply_keyboards_are_tracked_per_chat(fake: FakeTelegram, bot: Bot) -> None:
    markup = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Отчёт")]])
    await bot.send_message(USER, "Меню", reply_markup=markup)
    assert fake.reply_keyboard(USER) == markup.model_dump(exclude_none=True)
    assert "reply_markup" not in fake.messages_to(USER)[0]  # a Message only shows inline ones

    await bot.send_message(USER, "Убрал", reply_markup=ReplyKeyboardRemove())
    assert fake.reply_keyboard(USER) is None


async def test_uploads_are_kept(fake: FakeTelegram, bot: Bot) -> None:
    csv = BufferedInputFile(b"date;amount\n2026-01-01;120\n", filename="export.csv")
    await bot.send_document(USER, csv, caption="<i>Выгрузка</i>", parse_mode="HTML")
    await bot.send_photo(USER, BufferedInputFile(b"\x89PNG...", filename="chart.png"))

    document, photo = fake.messages_to(USER)
    assert document["document"]["file_name"] == "export.csv"
    assert document["caption"] == "Выгрузка"
    upload = fake.uploads[document["document"]["file_id"]]
    assert upload.data == b"date;amount\n2026-01-01;120\n"
    assert photo["photo"]
    assert fake.uploads[photo["photo"][0]["file_id"].rsplit("-", 1)[0]].data == b"\x89PNG..."


async def test_an_album_of_uploads_is_kept(fake: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_media_group(
        USER,
        [
            InputMediaPhoto(
                media=BufferedInputFile(b"\x89PNG-1", filename="a.png"),
                caption="<b>Май</b>",
                parse_mode="HTML",
            ),
            InputMediaPhoto(media=BufferedInputFile(b"\x89PNG-2", filename="b.png")),
        ],
    )
    assert len(sent) == 2
    first, second = fake.messages_to(USER)
    assert first["media_group_id"] == second["media_group_id"]
    assert first["caption"] == "Май"
    assert "caption" not in second
    ids = [message["photo"][0]["file_id"].rsplit("-", 1)[0] for message in (first, second)]
    assert [fake.uploads[file_id].data for file_id in ids] == [b"\x89PNG-1", b"\x89PNG-2"]

    documents = [
        InputMediaDocument(media=BufferedInputFile(b"a;b\n", filename=f"{n}.csv"))
        for n in ("may", "june")
    ]
    await bot.send_media_group(USER, documents)
    names = [m["document"]["file_name"] for m in fake.messages_to(USER)[2:]]
    assert names == ["may.csv", "june.csv"]


async def test_an_album_is_two_to_ten_of_a_kind(fake: FakeTelegram, bot: Bot) -> None:
    photo = InputMediaPhoto(media=BufferedInputFile(b"\x89PNG", filename="a.png"))
    document = InputMediaDocument(media=BufferedInputFile(b"x", filename="a.csv"))
    with pytest.raises(TelegramBadRequest):
        await bot.send_media_group(USER, [photo])
    with pytest.raises(TelegramBadRequest, match="mixed"):
        await bot.send_media_group(USER, [photo, document])
    with pytest.raises(TelegramBadRequest, match="too many"):
        await bot.send_media_group(USER, [photo] * 11)
    assert fake.messages_to(USER) == []


async def test_commands_are_recorded_per_language_and_scope(fake: FakeTelegram, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand(command="report", description="Отчёт")])
    await bot.set_my_commands(
        [BotCommand(command="report", description="Report")], language_code="en"
    )
    await bot.set_my_commands(
        [BotCommand(command="undo", description="Undo")],
        scope=BotCommandScopeChat(chat_id=USER),
        language_code="en",
    )

    assert fake.my_commands() == [{"command": "report", "description": "Отчёт"}]
    assert fake.my_commands("en") == [{"command": "report", "description": "Report"}]
    assert fake.my_commands("en", scope=f"chat:{USER}") == [
        {"command": "undo", "description": "Undo"}
    ]
    assert fake.my_commands("uk") is None
    [command] = await bot.get_my_commands(language_code="en")
    assert command.description == "Report"
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Report", description="x")])


async def test_delete_webhook_records_whether_it_dropped_updates(
    fake: FakeTelegram, bot: Bot
) -> None:
    fake.send_text(USER, "кофе 120")

    await bot.delete_webhook()
    assert fake.pending_update_ids() != []
    await bot.delete_webhook(drop_pending_updates=True)

    assert fake.webhook_deletions == [False, True]
    assert fake.pending_update_ids() == []


async def test_fail_next_500_is_a_server_error_once(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_next("sendMessage")

    with pytest.raises(TelegramServerError):
        await bot.send_message(USER, "раз")
    await bot.send_message(USER, "два")

    assert [call.status for call in fake.calls("sendMessage")] == [500, 200]
    assert [m["text"] for m in fake.messages_to(USER)] == ["два"]


async def test_fail_next_with_retry_after_is_a_flood_wait(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_next("sendMessage", times=2, retry_after=1)

    for _ in range(2):
        with pytest.raises(TelegramRetryAfter) as caught:
            await bot.send_message(USER, "раз")
        assert caught.value.retry_after == 1
    await bot.send_message(USER, "раз")


async def test_drop_next_closes_the_connection_without_a_reply(
    fake: FakeTelegram, bot: Bot
) -> None:
    fake.drop_next("sendMessage")

    with pytest.raises(TelegramNetworkError) as caught:
        await bot.send_message(USER, "потеряно")

    assert isinstance(caught.value.__cause__, aiohttp.ClientError)
    assert fake.messages_to(USER) == []
    assert fake.calls("sendMessage")[0].status is None
    await bot.send_message(USER, "дошло")  # the next call gets a fresh connection and through
    assert [m["text"] for m in fake.messages_to(USER)] == ["дошло"]


async def test_a_processed_drop_delivers_the_message_but_loses_the_reply(
    fake: FakeTelegram, bot: Bot
) -> None:
    fake.drop_next("sendMessage", processed=True)

    with pytest.raises(TelegramNetworkError):
        await bot.send_message(USER, "дошло, но ответ потерян")

    assert [m["text"] for m in fake.messages_to(USER)] == ["дошло, но ответ потерян"]


async def test_latency_delays_the_reply(fake: FakeTelegram, bot: Bot) -> None:
    fake.set_latency("getMe", 0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()

    await bot.get_me()

    assert loop.time() - started >= 0.25


async def test_a_second_long_poll_terminates_the_first_with_a_conflict(bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)

    second = await bot.get_updates()

    with pytest.raises(TelegramConflictError):
        await asyncio.wait_for(first, timeout=5)
    assert second == []


async def test_wait_for_wakes_on_change_and_times_out_otherwise(
    fake: FakeTelegram, bot: Bot
) -> None:
    async def reply_later() -> None:
        await asyncio.sleep(0.1)
        await bot.send_message(USER, "ответ")

    task = asyncio.create_task(reply_later())
    await fake.wait_for(lambda: len(fake.messages_to(USER)) >= 1, timeout=5)
    await task

    with pytest.raises(TimeoutError, match="condition not met"):
        await fake.wait_for(lambda: len(fake.messages_to(USER)) >= 2, timeout=0.2)


async def test_aiogram_polling_round_trip(fake: FakeTelegram, bot: Bot) -> None:
    router = Router()

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    polling = asyncio.create_task(
        dispatcher.start_polling(
            bot, polling_timeout=1, handle_signals=False, close_bot_session=False
        )
    )
    try:
        update_id = fake.send_text(USER, "кофе 120")
        await fake.wait_for(lambda: len(fake.messages_to(USER)) == 1, timeout=5)
        await fake.wait_for(lambda: fake.confirmed_offset == update_id + 1, timeout=5)
    finally:
        await dispatcher.stop_polling()
        await polling

    assert fake.messages_to(USER)[0]["text"] == "echo: кофе 120"
    assert fake.pending_update_ids() == []
    assert fake.webhook_deletions == []


@pytest.mark.parametrize("encoding", ["json", "form", "multipart"])
async def test_every_body_encoding_is_understood(fake: FakeTelegram, encoding: str) -> None:
    markup = '{"inline_keyboard": [[{"text": "ok", "callback_data": "ok"}]]}'
    url = f"{fake.base_url}/bot1:RAW/SENDMESSAGE"
    async with aiohttp.ClientSession() as session:
        if encoding == "json":
            request = session.post(
                url, json={"chat_id": USER, "text": "hi", "reply_markup": {"inline_keyboard": []}}
            )
        elif encoding == "form":
            request = session.post(url, data={"chat_id": str(USER), "text": "hi"})
        else:
            form = aiohttp.FormData({"chat_id": str(USER), "text": "hi", "reply_markup": markup})
            form.add_field("unused", b"bytes", filename="x.bin")  # forces multipart
            request = session.post(url, data=form)
        async with request as response:
            body = await response.json()
        async with session.post(f"{fake.base_url}/bot1:RAW/frobnicate") as response:
            unknown = (response.status, await response.json())

    assert body["ok"] is True
    assert body["result"]["text"] == "hi"
    assert fake.calls("sendMessage")[0].method == "sendMessage"
    assert unknown == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
    )
