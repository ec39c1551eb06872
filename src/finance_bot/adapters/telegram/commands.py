"""The command menu Telegram shows, in Russian and English."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats

from finance_bot.adapters.telegram.i18n import Catalog
from finance_bot.domain.languages import LANGUAGES

MENU = (
    "today",
    "week",
    "month",
    "year",
    "chart",
    "last",
    "balance",
    "undo",
    "budgets",
    "accounts",
    "categories",
    "rates",
    "recurring",
    "settle",
    "digest",
    "export",
    "invite",
    "members",
    "settings",
    "leave",
    "lang",
    "help",
)


async def register_commands(bot: Bot, catalog: Catalog) -> None:
    scope = BotCommandScopeAllPrivateChats()
    for language in LANGUAGES:
        t = catalog.translator(language)
        commands = [BotCommand(command=name, description=t(f"cmd_{name}")) for name in MENU]
        await bot.set_my_commands(commands, scope=scope, language_code=language)
    english = catalog.translator("en")
    await bot.set_my_commands(
        [BotCommand(command=name, description=english(f"cmd_{name}")) for name in MENU],
        scope=scope,
    )
