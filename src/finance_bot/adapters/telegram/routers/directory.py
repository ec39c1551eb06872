"""Accounts, categories and aliases (docs/product.md §4)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import CommandObject
from aiogram.types import Message

from finance_bot.adapters.telegram.context import ChatContext
from finance_bot.adapters.telegram.filters import CommandsOnly, named
from finance_bot.adapters.telegram.presenters import account_label
from finance_bot.adapters.telegram.report_views import accounts_text, categories_text
from finance_bot.domain.accounts import AccountType
from finance_bot.domain.commands import Vocabulary
from finance_bot.domain.currencies import is_known, read_currency

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
    router.message.filter(CommandsOnly())
    router.message.register(accounts, named("accounts"))
    router.message.register(add_account, named("addaccount"))
    router.message.register(default_or_archive, named("default", "archive"))
    router.message.register(categories, named("categories"))
    router.message.register(add_category, named("addcategory", "addincome"))
    router.message.register(alias, named("alias"))
    router.message.register(unalias, named("unalias"))
    return router


async def accounts(message: Message, ctx: ChatContext) -> None:
    await ctx.answer(
        message, accounts_text(await ctx.books.accounts(), ctx.t, currency=ctx.currency)
    )


async def add_account(message: Message, command: CommandObject, ctx: ChatContext) -> None:
    name, currency, shared = _account_arguments(command.args)
    if not name:
        await ctx.answer(message, ctx.t("accounts_usage"))
        return
    account = await ctx.books.add_account(name, shared=shared, currency=currency)
    if account.currency == ctx.currency:
        await ctx.answer(message, ctx.t("account_added", name=account.name))
        return
    await ctx.answer(
        message, ctx.t("account_added_in", name=account.name, currency=account.currency)
    )


def _account_arguments(args: str | None) -> tuple[str, str | None, bool]:
    """`<name> [<CODE>] [shared]`, the last two in either order. A code is one only when a
    name is left before it and it is written as a code: "USD" or "usd", never "cup" or
    "евро" — those stay names ("/addaccount евро" is an account called "евро")."""
    words = (args or "").split()
    currency, shared = None, False
    for _ in range(2):
        if len(words) < 2:
            break
        last = words[-1]
        if not shared and last.lower() in _SHARED:
            shared = True
        elif currency is None and _written_as_code(last):
            currency = last.upper()
        else:
            break
        words = words[:-1]
    if len(words) == 1 and words[0].lower() in _SHARED and not shared:
        words, shared = [], True
    return " ".join(words), currency, shared


def _written_as_code(word: str) -> bool:
    if len(word) != 3 or not word.isascii() or not word.isalpha() or not is_known(word.upper()):
        return False
    return word.isupper() or read_currency(word) == word.upper()


async def default_or_archive(message: Message, command: CommandObject, ctx: ChatContext) -> None:
    name = (command.args or "").strip()
    if not name:
        await ctx.answer(message, ctx.t("accounts_usage"))
        return
    if command.command.casefold() == "default":
        account = await ctx.books.set_default_account(name)
        await ctx.answer(message, ctx.t("account_default_set", name=account_label(account, ctx.t)))
        return
    account = await ctx.books.archive_account(name)
    await ctx.answer(message, ctx.t("account_archived", name=account_label(account, ctx.t)))


async def categories(message: Message, ctx: ChatContext) -> None:
    await ctx.answer(message, categories_text(await ctx.books.categories(), ctx.t))


async def add_category(message: Message, command: CommandObject, ctx: ChatContext) -> None:
    name, aliases = _name_and_aliases(command.args)
    if not name:
        await ctx.answer(message, ctx.t("categories_usage"))
        return
    kind = AccountType.INCOME if command.command.casefold() == "addincome" else AccountType.EXPENSE
    category = await ctx.books.add_category(name, aliases, kind=kind)
    await ctx.answer(message, ctx.t("category_added", name=category.name))


async def alias(message: Message, command: CommandObject, ctx: ChatContext) -> None:
    name, aliases = _category_and_aliases(command.args, await ctx.books.vocabulary())
    if not name or not aliases:
        await ctx.answer(message, ctx.t("categories_usage"))
        return
    category = await ctx.books.add_aliases(name, aliases)
    text = ctx.t(
        "aliases_added", category=account_label(category, ctx.t), aliases=", ".join(aliases)
    )
    await ctx.answer(message, text)


async def unalias(message: Message, command: CommandObject, ctx: ChatContext) -> None:
    word = (command.args or "").strip()
    if not word:
        await ctx.answer(message, ctx.t("categories_usage"))
        return
    removed = await ctx.books.remove_alias(word)
    await ctx.answer(message, ctx.t("alias_removed" if removed else "alias_not_found", alias=word))
