"""Every string of an update is made storable: no NUL, no lone surrogate, wherever it is."""

from __future__ import annotations

from typing import Any

from aiogram.types import Update

from finance_bot.adapters.telegram.cleaning import clean_text, cleaned


def update(**fields: Any) -> Update:
    person = {"id": 5, "is_bot": False, "first_name": "Ann", "language_code": "ru"}
    message = {
        "message_id": 1,
        "date": 0,
        "chat": {"id": 5, "type": "private"},
        "from": person,
        "text": "250 кафе",
    }
    message |= fields.pop("message", {})
    person |= fields.pop("person", {})
    return Update.model_validate({"update_id": 1, "message": message, **fields})


def test_text_loses_nul_and_lone_surrogates_but_keeps_real_characters() -> None:
    assert clean_text("a\x00b\ud800c\udfffd") == "ab\ufffdc\ufffdd"
    assert clean_text("😀 кафе") == "😀 кафе"


def test_names_language_code_and_caption_are_cleaned() -> None:
    dirty = update(
        person={
            "first_name": "A\x00nn\ud800",
            "last_name": "\ud800",
            "username": "a\x00b",
            "language_code": "r\x00u",
        },
        message={"text": None, "caption": "250\x00 кафе", "photo": []},
    )
    clean = cleaned(dirty)
    assert clean.message is not None
    assert clean.message.from_user is not None
    person = clean.message.from_user
    assert (person.first_name, person.last_name, person.username) == ("Ann\ufffd", "\ufffd", "ab")
    assert person.language_code == "ru"
    assert clean.message.caption == "250 кафе"


def test_callback_data_is_cleaned() -> None:
    query = {
        "id": "q",
        "from": {"id": 5, "is_bot": False, "first_name": "Ann"},
        "chat_instance": "c",
        "data": "u:1\x00",
    }
    dirty = Update.model_validate({"update_id": 2, "callback_query": query})
    clean = cleaned(dirty)
    assert clean.callback_query is not None
    assert clean.callback_query.data == "u:1"


def test_a_clean_update_is_passed_on_as_it_is() -> None:
    plain = update()
    assert cleaned(plain) is plain


def test_a_string_deep_in_what_the_update_carried_is_cleaned() -> None:
    """Only the fields an update carries are walked: one set deep down is among them."""
    quoted = {
        "message_id": 0,
        "date": 0,
        "chat": {"id": 5, "type": "private"},
        "from": {"id": 6, "is_bot": False, "first_name": "B\x00ob"},
        "text": "x\ud800",
    }
    dirty = update(message={"reply_to_message": quoted})

    reply = cleaned(dirty).message.reply_to_message  # type: ignore[union-attr]

    assert reply is not None
    assert reply.text == "x\ufffd"
    assert reply.from_user is not None
    assert reply.from_user.first_name == "Bob"
