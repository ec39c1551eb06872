"""The dispatcher: routers in order, the member middleware in front of them."""

from __future__ import annotations

from aiogram import Dispatcher

from finance_bot.adapters.telegram.context import ChatServices, MemberContext
from finance_bot.adapters.telegram.routers.capture import capture_router
from finance_bot.adapters.telegram.routers.corrections import corrections_router
from finance_bot.adapters.telegram.routers.digests import digests_router
from finance_bot.adapters.telegram.routers.directory import directory_router
from finance_bot.adapters.telegram.routers.export import export_router
from finance_bot.adapters.telegram.routers.forwards import forwards_router
from finance_bot.adapters.telegram.routers.household import household_router
from finance_bot.adapters.telegram.routers.rates import rates_router
from finance_bot.adapters.telegram.routers.recurring import recurring_router
from finance_bot.adapters.telegram.routers.reports import reports_router
from finance_bot.adapters.telegram.routers.settings import settings_router
from finance_bot.adapters.telegram.routers.shares import shares_router


def build_dispatcher(services: ChatServices) -> Dispatcher:
    # The bot keeps no conversation state in aiogram (its buttons carry what a dialogue
    # needs, the rest is in the database): the FSM middleware would only cost each update.
    dispatcher = Dispatcher(disable_fsm=True)
    dispatcher.update.outer_middleware(MemberContext(services))
    # Forwards first: a forwarded command must never reach the router that runs it.
    # Then commands before free text; settings last, since it answers unknown commands.
    dispatcher.include_routers(
        forwards_router(),
        corrections_router(),
        reports_router(),
        export_router(),
        directory_router(),
        rates_router(),
        recurring_router(),
        shares_router(),
        digests_router(),
        household_router(),
        capture_router(),
        settings_router(),
    )
    return dispatcher
