"""The routers that hold only commands are passed by, with one look, by anything else; a
command still reaches them from a message's text or, as aiogram's Command reads it, its
caption."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import Router
from aiogram.types import Message

from finance_bot.adapters.telegram.dispatcher import build_dispatcher
from finance_bot.adapters.telegram.filters import CommandsOnly


def message(**fields: Any) -> Message:
    return Message.model_validate(
        {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}, **fields}
    )


@pytest.mark.parametrize(
    ("fields", "passes"),
    [
        ({"text": "/month"}, True),
        ({"text": "/Today please"}, True),
        ({"caption": "/month", "photo": []}, True),
        ({"text": "250 кафе"}, False),
        ({"text": "кафе /month"}, False),
        ({"caption": "чек", "photo": []}, False),
        ({}, False),
    ],
)
async def test_commands_only(fields: dict[str, Any], passes: bool) -> None:
    assert await CommandsOnly()(message(**fields)) is passes


def test_every_router_but_capture_and_forwards_is_commands_only() -> None:
    """A router given a message handler for plain text must drop the router-wide filter:
    this lists which routers have it, so that the change is seen here."""
    dispatcher = build_dispatcher(services=None)  # type: ignore[arg-type]  # not served
    filtered = {
        router.name
        for router in dispatcher.sub_routers
        if isinstance(router, Router)
        and any(isinstance(f.callback, CommandsOnly) for f in router.message._handler.filters or [])
    }
    assert {r.name for r in dispatcher.sub_routers} - filtered == {"forwards", "capture"}
