"""/export [YYYY | YYYY-MM]: the books as three documents, CSV, hledger journal and
beancount (docs/product.md §13)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from aiogram import Router
from aiogram.filters import CommandObject
from aiogram.types import FSInputFile, InputMediaDocument, Message

from finance_bot.adapters.export.files import FORMATS, open_writers
from finance_bot.adapters.telegram.context import ChatContext
from finance_bot.adapters.telegram.filters import CommandsOnly, named
from finance_bot.application.export import export_books, export_period, period_label


def export_router() -> Router:
    router = Router(name="export")
    router.message.filter(CommandsOnly())
    router.message.register(export, named("export"))
    return router


async def export(message: Message, command: CommandObject, ctx: ChatContext) -> None:
    try:
        period = export_period(command.args)
    except ValueError:
        await ctx.answer(message, ctx.t("export_usage"))
        return
    label = period_label(period)
    # Files, not memory: a book of years is written to disk as it streams from the database.
    with tempfile.TemporaryDirectory(prefix="finance-bot-export-") as folder:
        paths = {name: Path(folder) / f"finance-bot-{label}{suffix}" for name, suffix in FORMATS}
        with open_writers(paths) as writers:
            exported = await export_books(
                ctx.services.export, ctx.member.household_id, period, writers
            )
        if exported.transactions == 0:
            await ctx.answer(message, ctx.t("export_empty"))
            return
        caption = ctx.t("export_caption", transactions=exported.transactions)
        documents = [
            InputMediaDocument(
                media=FSInputFile(path, filename=path.name),
                caption=caption if index == len(paths) - 1 else None,
            )
            for index, path in enumerate(paths.values())
        ]
        await ctx.bot.send_media_group(message.chat.id, media=list(documents))
