"""Accounts, categories and aliases (docs/product.md §4)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import CommandObject
from aiogram.types import Message

from finance_bot.adapters.telegram.context import ChatContext
from finance_bot.adapters.telegram.filters import named
from finance_bot.adapters.telegram.presenters import account_label
from finance_bot.adapters.telegram.replies import send_text
from finance_bot.adapters.telegram.report_views import accounts_text, categories_text
from finance_bot.application import directory
from finance_bot.application.household import vocabulary
from finance_bot.domain.accounts import AccountType
from finance_bot.domain.commands import Vocabulary

_SHARED = frozenset({"shared", "общий", "общая", "общее"})


def _name_and_aliases(args: str | None) -> tuple[str, list[str]]:
    """`name, alias, alias…`: commas separate; a name or an alias may be several words."""
    name, *aliases = (args or "").split(",")
    return " ".join(name.split()), [" ".join(a.split()) for a in aliases if a.strip()]


def _category_and_aliases(args: str | None, known: Vocabulary) -> tuple[str, list[str]]:
    """`/alias category alias, alias…`: the category is the longest run of leading words
    that names one; the rest are the aliases, separated by commas."""
    words = (args or "").replace(",", " , ").split()
    for count in range(len(words), 0, -1):
        key = Vocabulary.key(" ".join(words[:count]))
        if key in known.expense_aliases or key in known.income_aliases:
            break
    else:
        count = 1  # names no category: the reply says so
    rest = " ".join(words[count:])
    return " ".join(words[:count]), [" ".join(a.split()) for a in rest.split(",") if a.strip()]


def directory_router() -> Router:
    router = Router(name="directory")

    @router.message(named("accounts"))
    async def accounts(message: Message, ctx: ChatContext) -> None:
        view = await directory.list_accounts(
            ctx.member.telegram_id, uow_factory=ctx.services.uow_factory
        )
        await send_text(ctx.bot, message.chat.id, accounts_text(view, ctx.t))

    @router.message(named("addaccount"))
    async def add_account(message: Message, command: CommandObject, ctx: ChatContext) -> None:
        words = (command.args or "").split()
        shared = bool(words) and words[-1].lower() in _SHARED
        name = " ".join(words[:-1] if shared else words)
        if not name:
            await send_text(ctx.bot, message.chat.id, ctx.t("accounts_usage"))
            return
        account = await directory.add_account(
            ctx.member.telegram_id,
            name,
            shared=shared,
            currency=ctx.currency,
            uow_factory=ctx.services.uow_factory,
        )
        await send_text(ctx.bot, message.chat.id, ctx.t("account_added", name=account.name))

    @router.message(named("default", "archive"))
    async def default_or_archive(
        message: Message, command: CommandObject, ctx: ChatContext
    ) -> None:
        name = (command.args or "").strip()
        if not name:
            await send_text(ctx.bot, message.chat.id, ctx.t("accounts_usage"))
            return
        if command.command.casefold() == "default":
            account = await directory.set_default_account(
                ctx.member.telegram_id, name, uow_factory=ctx.services.uow_factory
            )
            await send_text(
                ctx.bot,
                message.chat.id,
                ctx.t("account_default_set", name=account_label(account, ctx.t)),
            )
            return
        account = await directory.archive_account(
            ctx.member.telegram_id, name, uow_factory=ctx.services.uow_factory
        )
        await send_text(
            ctx.bot, message.chat.id, ctx.t("account_archived", name=account_label(account, ctx.t))
        )

    @router.message(named("categories"))
    async def categories(message: Message, ctx: ChatContext) -> None:
        views = await directory.list_categories(
            ctx.member.telegram_id, uow_factory=ctx.services.uow_factory
        )
        await send_text(ctx.bot, message.chat.id, categories_text(views, ctx.t))

    @router.message(named("addcategory", "addincome"))
    async def add_category(message: Message, command: CommandObject, ctx: ChatContext) -> None:
        name, aliases = _name_and_aliases(command.args)
        if not name:
            await send_text(ctx.bot, message.chat.id, ctx.t("categories_usage"))
            return
        kind = (
            AccountType.INCOME if command.command.casefold() == "addincome" else AccountType.EXPENSE
        )
        category = await directory.add_category(
            ctx.member.telegram_id,
            name,
            aliases,
            kind=kind,
            currency=ctx.currency,
            uow_factory=ctx.services.uow_factory,
        )
        await send_text(ctx.bot, message.chat.id, ctx.t("category_added", name=category.name))

    @router.message(named("alias"))
    async def alias(message: Message, command: CommandObject, ctx: ChatContext) -> None:
        known = await vocabulary(ctx.member.telegram_id, uow_factory=ctx.services.uow_factory)
        name, aliases = _category_and_aliases(command.args, known)
        if not name or not aliases:
            await send_text(ctx.bot, message.chat.id, ctx.t("categories_usage"))
            return
        category = await directory.add_aliases(
            ctx.member.telegram_id, name, aliases, uow_factory=ctx.services.uow_factory
        )
        await send_text(
            ctx.bot,
            message.chat.id,
            ctx.t(
                "aliases_added",
                category=account_label(category, ctx.t),
                aliases=", ".join(aliases),
            ),
        )

    @router.message(named("unalias"))
    async def unalias(message: Message, command: CommandObject, ctx: ChatContext) -> None:
        word = (command.args or "").strip()
        if not word:
            await send_text(ctx.bot, message.chat.id, ctx.t("categories_usage"))
            return
        removed = await directory.remove_alias(
            ctx.member.telegram_id, word, uow_factory=ctx.services.uow_factory
        )
        await send_text(
            ctx.bot,
            message.chat.id,
            ctx.t("alias_removed" if removed else "alias_not_found", alias=word),
        )

    return router
