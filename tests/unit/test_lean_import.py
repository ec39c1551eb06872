"""The lean aiogram import: models are built on first use and still work (guards upgrades).

The test session imports aiogram the lean way before any test module does (tests/conftest.py),
as the bot's entry point does, so these checks run in-process on the aiogram the bot runs on.
"""

from __future__ import annotations

import sys

import pydantic

from finance_bot.adapters.telegram.lean_import import import_aiogram_lean, warm_up


def test_aiogram_models_are_built_on_first_use_and_validate() -> None:
    assert "aiogram" in sys.modules
    from aiogram import methods, types

    # The bot never handles stickers, so nothing in the session has built this model: it is
    # still deferred only if the import skipped aiogram's bulk rebuild.
    assert not types.Sticker.__pydantic_complete__, "the bulk rebuild ran after all"
    warm_up()
    assert types.Update.__pydantic_complete__
    update = types.Update.model_validate(
        {
            "update_id": 7,
            "callback_query": {
                "id": "1",
                "chat_instance": "c",
                "data": "u:1",
                "from": {"id": 1, "is_bot": False, "first_name": "A"},
                "message": {
                    "message_id": 3,
                    "date": 0,
                    "text": "#1",
                    "chat": {"id": 1, "type": "private"},
                },
            },
        }
    )
    assert update.callback_query is not None
    assert isinstance(update.callback_query.message, types.Message)
    assert update.callback_query.message.text == "#1"
    markup = types.InlineKeyboardMarkup(
        inline_keyboard=[[types.InlineKeyboardButton(text="Undo", callback_data="u:1")]]
    )
    sent = methods.SendMessage(chat_id=1, text="hi", reply_markup=markup)
    assert sent.model_dump()["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "u:1"
    sticker = types.Sticker.model_validate(
        {
            "file_id": "f",
            "file_unique_id": "u",
            "type": "regular",
            "width": 1,
            "height": 1,
            "is_animated": False,
            "is_video": False,
        }
    )
    assert sticker.width == 1
    assert types.Sticker.__pydantic_complete__  # built on first use


def test_a_second_call_changes_nothing() -> None:
    assert "aiogram" in sys.modules
    rebuild = pydantic.BaseModel.__dict__["model_rebuild"]
    assert import_aiogram_lean() is False
    assert pydantic.BaseModel.__dict__["model_rebuild"] is rebuild
