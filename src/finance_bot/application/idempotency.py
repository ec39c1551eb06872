"""Doing a write at most once per idempotency key, for the writes off the hot path."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from finance_bot.application.household import require_member
from finance_bot.ports.records import Member
from finance_bot.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory


class JsonResult(Protocol):
    def to_json(self) -> dict[str, Any]: ...


ResultT = TypeVar("ResultT", bound=JsonResult)


async def once(
    uow_factory: UnitOfWorkFactory,
    idempotency_key: str | None,
    author_telegram_id: int,
    work: Callable[[UnitOfWork, Member], Awaitable[ResultT]],
    *,
    decode: Callable[[dict[str, Any]], ResultT],
) -> ResultT:
    """Run `work` in one unit of work, keeping its result under the key.

    A key seen before returns the first result (decoded) and does nothing; a concurrent
    caller with the same key waits for the first to commit. The key, the work and the
    result commit together or not at all.
    """
    async with uow_factory(person=author_telegram_id) as uow:
        if idempotency_key is not None:
            stored = await uow.idempotency.claim(idempotency_key)
            if stored is not None:
                return decode(stored)
        member = await require_member(uow, author_telegram_id)
        result = await work(uow, member)
        if idempotency_key is not None:
            await uow.idempotency.store(idempotency_key, result.to_json())
        await uow.commit()
        return result
