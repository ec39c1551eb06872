"""Telegram updates for the tests that feed the dispatcher's front doors directly."""

from __future__ import annotations

from typing import Any


def text_message(update_id: int, chat_id: int, text: str = "1 кафе") -> dict[str, Any]:
    """An update with a private chat's text message, as Telegram sends it (JSON)."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "x"},
            "text": text,
        },
    }
