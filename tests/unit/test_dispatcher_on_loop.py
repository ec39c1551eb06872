"""Every handler and filter the dispatcher runs is awaited on the event loop: aiogram runs a
plain callable (a bare magic filter `F.text` among them) in a worker thread, a thread hop
per update that cost more CPU than reading the line (filters.When)."""

from __future__ import annotations

from typing import cast

from aiogram import F, Router

from finance_bot.adapters.telegram.context import ChatServices
from finance_bot.adapters.telegram.dispatcher import build_dispatcher


def _off_the_loop(router: Router) -> list[str]:
    found = []
    for name, observer in router.observers.items():
        for filter_ in observer._handler.filters or []:
            if not filter_.awaitable:
                found.append(f"{router.name}.{name} router filter {filter_.callback!r}")
        for handler in observer.handlers:
            if not handler.awaitable:
                found.append(f"{router.name}.{name} handler {handler.callback!r}")
            for filter_ in handler.filters or []:
                if not filter_.awaitable:
                    found.append(f"{router.name}.{name} filter {filter_.callback!r}")
    for sub in router.sub_routers:
        found.extend(_off_the_loop(sub))
    return found


def test_no_handler_or_filter_of_the_dispatcher_runs_in_a_thread() -> None:
    dispatcher = build_dispatcher(cast(ChatServices, object()))
    assert _off_the_loop(dispatcher) == []


def test_the_check_sees_a_bare_magic_filter() -> None:
    router = Router(name="bare")

    async def handler() -> None: ...

    router.message.register(handler, F.text)
    (found,) = _off_the_loop(router)
    assert found.startswith("bare.message filter <bound method MagicFilter.resolve")
