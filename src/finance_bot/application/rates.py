"""The household's exchange rates (docs/product.md §8): set by hand, listed, and fed from
the official daily rates.

A rate says what one unit of a foreign currency is worth in the household's base
currency, from a day on. The history is only appended to; the rate for a day is the
latest set on or before it (storage decides, `RateRepository.on`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

from finance_bot.application.household import require_member
from finance_bot.application.idempotency import once
from finance_bot.application.results import Done
from finance_bot.domain.currencies import is_known
from finance_bot.domain.errors import ConversionDoesNotFit, UnknownCurrency
from finance_bot.ports.records import Member, Rate
from finance_bot.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory


class OfficialRates(Protocol):
    """One day's official rates: hryvnias per unit of each currency."""

    @property
    def day(self) -> date: ...

    @property
    def rates(self) -> Mapping[str, Decimal]: ...


@dataclass(frozen=True, slots=True)
class RatesView:
    base: str  # the household's currency: every rate is in it
    rates: tuple[Rate, ...]  # the newest of each currency, by code


async def set_rate(
    telegram_id: int,
    currency: str,
    rate: Decimal,
    *,
    today: date,
    idempotency_key: str | None,
    uow_factory: UnitOfWorkFactory,
) -> Done:
    """`/rate USD 41.50`: one dollar is worth 41.50 of the base currency from today on."""
    if not is_known(currency):
        raise UnknownCurrency(currency)
    if not (rate.is_finite() and rate > 0):
        raise ConversionDoesNotFit("a rate is a positive number")

    async def work(uow: UnitOfWork, member: Member) -> Done:
        if currency == await uow.directory.household_currency(member.household_id):
            raise ConversionDoesNotFit("the base currency has no rate: it is the unit")
        await uow.rates.add(
            member.household_id,
            currency,
            rate,
            today,
            source="manual",
            author_telegram_id=telegram_id,
        )
        return Done()

    return await once(uow_factory, idempotency_key, telegram_id, work, decode=Done.from_json)


async def list_rates(telegram_id: int, *, uow_factory: UnitOfWorkFactory) -> RatesView:
    async with uow_factory(transactional=False, person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        base = await uow.directory.household_currency(member.household_id)
        return RatesView(base, tuple(await uow.rates.latest(member.household_id)))


async def store_official_rates(uow_factory: UnitOfWorkFactory, official: OfficialRates) -> int:
    """Keep a day's official rates for every household, each in its own base currency.

    A day stored before keeps what it has, so the feed may deliver a day again. Returns how
    many rates were added.
    """
    async with uow_factory(transactional=False) as uow:
        households = await uow.directory.household_ids()
    added = 0
    for household_id in households:  # each household's rows in a unit of work bound to it
        async with uow_factory(household=household_id) as uow:
            added += await uow.rates.add_official(official.day, official.rates)
            await uow.commit()
    return added
