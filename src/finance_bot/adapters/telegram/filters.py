"""Filters. Phone keyboards capitalise the first letter ("/Today"), so every command is
matched without regard to case; handlers read `command.command` casefolded.

Every filter is awaitable: aiogram runs a plain callable filter — a bare magic filter
(`F.text`) among them — in a worker thread (asyncio.to_thread), a thread hop for each
such filter that each update passes, which cost a text line more CPU than its parsing.
"""

from __future__ import annotations

from typing import Any

from aiogram.filters import Command, Filter
from aiogram.filters.command import CommandPatternType
from aiogram.types import TelegramObject
from aiogram.utils.magic_filter import MagicFilter


def named(*names: CommandPatternType) -> Command:
    return Command(*names, ignore_case=True)


class When(Filter):
    """A magic filter (`When(F.text & ~F.forward_origin)`), resolved on the event loop."""

    def __init__(self, magic: MagicFilter) -> None:
        self._magic = magic

    async def __call__(self, event: TelegramObject) -> bool | dict[str, Any]:
        # What aiogram does with a bare magic filter's result: a dict (`.as_()`) is added
        # to the handler's arguments, anything else is read as true or false.
        result = self._magic.resolve(event)
        return result if isinstance(result, dict) else bool(result)


class CommandsOnly(Filter):
    """For a router whose messages are all commands: anything else passes it by with one
    look instead of every command filter parsing it (as Command does: text or caption)."""

    async def __call__(self, event: TelegramObject) -> bool:
        text = getattr(event, "text", None) or getattr(event, "caption", None)
        return isinstance(text, str) and text.startswith("/")
