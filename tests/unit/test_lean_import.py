"""The lean aiogram import: models are built on first use and still work (guards upgrades)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

_PROBE = textwrap.dedent(
    """
    from finance_bot.adapters.telegram.lean_import import import_aiogram_lean, warm_up
    assert import_aiogram_lean() is True
    from aiogram import methods, types
    assert not types.Sticker.__pydantic_complete__, "the bulk rebuild ran after all"
    assert not types.Update.__pydantic_complete__
    warm_up()
    assert types.Update.__pydantic_complete__
    update = types.Update.model_validate({
        "update_id": 7,
        "callback_query": {
            "id": "1", "chat_instance": "c", "data": "u:1",
            "from": {"id": 1, "is_bot": False, "first_name": "A"},
            "message": {"message_id": 3, "date": 0, "text": "#1",
                        "chat": {"id": 1, "type": "private"}},
        },
    })
    assert update.callback_query.message.text == "#1"
    markup = types.InlineKeyboardMarkup(inline_keyboard=[[
        types.InlineKeyboardButton(text="Undo", callback_data="u:1")]])
    sent = methods.SendMessage(chat_id=1, text="hi", reply_markup=markup)
    assert sent.model_dump()["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "u:1"
    sticker = types.Sticker.model_validate({
        "file_id": "f", "file_unique_id": "u", "type": "regular", "width": 1, "height": 1,
        "is_animated": False, "is_video": False})  # built on first use
    assert sticker.width == 1
    print("ok")
    """
)


def test_aiogram_models_are_built_on_first_use_and_validate() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "ok"


def test_a_second_call_changes_nothing() -> None:
    probe = (
        "import aiogram\n"
        "from finance_bot.adapters.telegram.lean_import import import_aiogram_lean\n"
        "assert import_aiogram_lean() is False\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
