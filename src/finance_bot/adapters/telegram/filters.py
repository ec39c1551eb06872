"""Command filters. Phone keyboards capitalise the first letter ("/Today"), so every
command is matched without regard to case; handlers read `command.command` casefolded."""

from __future__ import annotations

from aiogram.filters import Command
from aiogram.filters.command import CommandPatternType


def named(*names: CommandPatternType) -> Command:
    return Command(*names, ignore_case=True)
