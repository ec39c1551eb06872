"""Who may start, and how a person comes and goes (docs/product.md §14, docs/adr/0022).

`SIGNUP=whitelist` keeps the first version's rule (household.join_household). `invite`
adds one-time invitations a member makes; `open` lets anyone's /start found a household
of their own. A person belongs to one household at a time; one who leaves is no member
any more, and their entries stay in the household's books under their name. They may
then join another household, or come back to one they left (docs/adr/0025).

Joining is done once per update: the update's idempotency key is kept with the joining,
so Telegram delivering the same `/start` again is answered as the first time was.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from importlib import resources
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from finance_bot.application.household import (
    enroll,
    found_household,
    joined_meanwhile,
    require_member,
)
from finance_bot.domain.errors import UnknownCurrency
from finance_bot.domain.languages import LANGUAGES
from finance_bot.domain.money import currency_scale
from finance_bot.ports.records import HouseholdSettings, InviteRefusal, Member, Membership
from finance_bot.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

INVITE_VALIDITY: Final = timedelta(hours=48)
# 16 random bytes: 128 bits, unguessable; 22 URL-safe characters, well within Telegram's
# limit for a /start payload (1-64 of A-Z, a-z, 0-9, _ and -).
_CODE_BYTES: Final = 16
_CODE_SHAPE: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")


class SignupMode(StrEnum):
    WHITELIST = "whitelist"
    INVITE = "invite"
    OPEN = "open"


class JoinRefusal(StrEnum):
    """Why a /start made nobody a member; nothing was written in any of these cases."""

    UNKNOWN = InviteRefusal.UNKNOWN.value  # forged, mistyped, never made
    USED = InviteRefusal.USED.value
    EXPIRED = InviteRefusal.EXPIRED.value
    WITHDRAWN = InviteRefusal.WITHDRAWN.value
    MEMBER = "member"  # they became a member elsewhere meanwhile: one household a person
    LEFT = "left"  # the same update again, after they left the household it joined them to


@dataclass(frozen=True, slots=True)
class Joined:
    membership: Membership
    founded: bool  # True: a new household of their own; False: an invitation's
    replayed: bool = False  # the same update again: the first answer, nothing written

    @property
    def how(self) -> str:
        return "founded" if self.founded else "invited"


class ZoneUnknown(ValueError):
    pass


class CurrencyUnsupported(ValueError):
    pass


class BaseCurrencyFixed(Exception):
    """The household has recorded something in its base currency; it stays."""


class LeaveRefused(Exception):
    """A whitelisted person's membership is the operator's list: leaving would be undone
    by their next message, so they are told to ask the operator instead."""


def code_hash(code: str) -> bytes:
    """What is stored of an invitation code: its SHA-256, never the code."""
    return hashlib.sha256(code.encode("utf-8")).digest()


def looks_like_code(text: str) -> bool:
    return _CODE_SHAPE.fullmatch(text) is not None


async def make_invite(telegram_id: int, *, now: datetime, uow_factory: UnitOfWorkFactory) -> str:
    """A one-time code that joins the member's household, valid INVITE_VALIDITY."""
    code = secrets.token_urlsafe(_CODE_BYTES)
    async with uow_factory(person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        await uow.directory.add_invite(
            code_hash(code), member.household_id, telegram_id, now + INVITE_VALIDITY
        )
        await uow.commit()
    return code


async def join_by_invite(
    telegram_id: int,
    code: str,
    *,
    now: datetime,
    language: str,
    uow_factory: UnitOfWorkFactory,
    display_name: str | None = None,
    telegram_language: str | None = None,
    idempotency_key: str | None = None,
) -> Joined | JoinRefusal:
    """`/start <code>` by a person in no household: they join the inviter's — as anyone
    new, or back in their own row when it is a household they left."""
    if not looks_like_code(code):
        return JoinRefusal.UNKNOWN
    # Bound to no household until the invitation tells which one (docs/adr/0021).
    async with uow_factory() as uow:
        # The invitation's row is locked first: a forged code costs this one statement,
        # and two deliveries of one update are in turn — the second finds it used.
        redeemed = await uow.membership.redeem_invite(code_hash(code), telegram_id, now)
        if isinstance(redeemed, InviteRefusal):
            if redeemed is InviteRefusal.USED and idempotency_key is not None:
                # Used by this very update, delivered before? Its joining has committed.
                stored = await uow.idempotency.stored(idempotency_key)
                if stored is not None and "joined" in stored:
                    return await _replay(uow, stored, telegram_id)
            return JoinRefusal(redeemed.value)
        # Another joining of theirs at this moment (a founding /start, another link)
        # commits first; then they are a member, refused below.
        await uow.membership.lock_person(telegram_id)
        if await uow.membership.household_of(telegram_id) is not None:
            return JoinRefusal.MEMBER  # joined meanwhile: the invitation stays unused
        replayed = await _replayed(uow, idempotency_key, telegram_id)
        if replayed is not None:
            return replayed
        await uow.bind(redeemed)  # the invitation's household, which they join
        if not await uow.membership.rejoin(telegram_id, redeemed):  # their accounts are there
            currency = await uow.directory.household_currency(redeemed)
            await enroll(uow, telegram_id, redeemed, language=language, currency=currency)
        await uow.directory.set_profile(telegram_id, display_name, telegram_language)
        joined = Joined(await _membership(uow, telegram_id), founded=False)
        await _remember(uow, idempotency_key, joined)
        await uow.commit()
    return joined


async def found_own_household(
    telegram_id: int,
    *,
    currency: str,
    timezone: str,
    language: str,
    uow_factory: UnitOfWorkFactory,
    display_name: str | None = None,
    telegram_language: str | None = None,
    idempotency_key: str | None = None,
) -> Joined | JoinRefusal:
    """`/start` by a person in no household (SIGNUP=open): a household of their own, in
    DEFAULT_CURRENCY and BOT_TIMEZONE as they are now, with them as its first member.
    Having left another household before is no bar (docs/adr/0025)."""
    async with uow_factory() as uow:
        replayed = await _replayed(uow, idempotency_key, telegram_id)
        if replayed is not None:
            return replayed
        # Two /start at once: the second waits for the first to commit, then finds it.
        await uow.membership.lock_person(telegram_id)
        existing = await joined_meanwhile(uow, telegram_id)
        if existing is not None:  # two /start at once: the first one founded it
            return Joined(existing, founded=False)
        # Binds the unit of work to the new household (docs/adr/0021).
        household_id = await uow.membership.found_household(currency, timezone)
        await found_household(uow, language=language, currency=currency, household_id=household_id)
        await enroll(uow, telegram_id, household_id, language=language, currency=currency)
        await uow.directory.set_profile(telegram_id, display_name, telegram_language)
        joined = Joined(await _membership(uow, telegram_id), founded=True)
        await _remember(uow, idempotency_key, joined)
        await uow.commit()
    return joined


async def replayed_join(
    telegram_id: int, household_id: int, idempotency_key: str, *, uow_factory: UnitOfWorkFactory
) -> str | None:
    """For a member's `/start`: "invited" or "founded" when this very update made them a
    member of `household_id` (Telegram delivered it again), else None."""
    async with uow_factory(transactional=False, person=telegram_id) as uow:
        stored = await uow.idempotency.stored(idempotency_key)
    return _joined_how(stored, household_id)


async def _replayed(
    uow: UnitOfWork, idempotency_key: str | None, telegram_id: int
) -> Joined | JoinRefusal | None:
    """The first answer when this update has joined the person already (a concurrent
    delivery waits here for the first one to commit); None: it has not, go on."""
    if idempotency_key is None:
        return None
    stored = await uow.idempotency.claim(idempotency_key)
    if stored is None:
        return None  # claimed now: kept only if the joining commits
    return await _replay(uow, stored, telegram_id)


async def _replay(
    uow: UnitOfWork, stored: dict[str, Any], telegram_id: int
) -> Joined | JoinRefusal:
    """What the update that joined the person answered, again; nothing is written."""
    membership = await joined_meanwhile(uow, telegram_id)
    how = _joined_how(stored, membership.household.id if membership is not None else None)
    if membership is None or how is None:
        return JoinRefusal.LEFT  # left since, or this update joined nobody: nothing again
    return Joined(membership, founded=how == "founded", replayed=True)


async def _remember(uow: UnitOfWork, idempotency_key: str | None, joined: Joined) -> None:
    if idempotency_key is not None:
        await uow.idempotency.store(
            idempotency_key, {"joined": joined.how, "household_id": joined.membership.household.id}
        )


def _joined_how(stored: dict[str, Any] | None, household_id: int | None) -> str | None:
    if not stored or stored.get("household_id") != household_id:
        return None
    how = stored.get("joined")
    return how if how in ("invited", "founded") else None


async def _membership(uow: UnitOfWork, telegram_id: int) -> Membership:
    membership = await uow.membership.membership(telegram_id)
    assert membership is not None  # made a member in this same unit of work
    return membership


async def leave(
    telegram_id: int, *, whitelist: frozenset[int], uow_factory: UnitOfWorkFactory
) -> None:
    """`/leave`, confirmed: no member from now on (docs/adr/0022)."""
    if telegram_id in whitelist:
        raise LeaveRefused(telegram_id)
    async with uow_factory(person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        await uow.directory.leave(telegram_id, member.household_id)
        await uow.commit()


async def active_members(telegram_id: int, *, uow_factory: UnitOfWorkFactory) -> list[Member]:
    """`/members`: the household's members now, in the order they joined."""
    async with uow_factory(transactional=False, person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        return [m for m in await uow.directory.members(member.household_id) if m.active]


async def settings_of(telegram_id: int, *, uow_factory: UnitOfWorkFactory) -> HouseholdSettings:
    async with uow_factory(transactional=False, person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        return await uow.directory.household_settings(member.household_id)


@functools.cache
def _iana_zones() -> frozenset[str]:
    """The zone names of the tzdata package, a dependency of every replica. zoneinfo alone
    also loads any file of the host's zoneinfo directory: "localtime" (the machine's own
    zone, whichever that is), "posix/...", "right/...". Kept for a household, such a name
    means another day on another host, or none at all where the file is missing, and the
    household's day (its entries, its digests) could not be read there."""
    return frozenset(resources.files("tzdata").joinpath("zones").read_text("utf-8").split())


def known_zone(name: str) -> str:
    """An IANA time zone name as zoneinfo knows it, or ZoneUnknown."""
    if not name or len(name) > 64 or name not in _iana_zones():
        raise ZoneUnknown(name)
    try:
        return ZoneInfo(name).key
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ZoneUnknown(name) from error


async def set_timezone(telegram_id: int, name: str, *, uow_factory: UnitOfWorkFactory) -> str:
    zone = known_zone(name)
    async with uow_factory(person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        await uow.directory.set_household_timezone(member.household_id, zone)
        await uow.commit()
    return zone


async def set_household_language(
    telegram_id: int, language: str, *, uow_factory: UnitOfWorkFactory
) -> None:
    if language not in LANGUAGES:
        raise ValueError(language)
    async with uow_factory(person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        await uow.directory.set_household_language(member.household_id, language)
        await uow.commit()


async def set_base_currency(telegram_id: int, code: str, *, uow_factory: UnitOfWorkFactory) -> str:
    """The base currency, only while nothing is recorded in the old one."""
    code = code.upper()
    try:
        currency_scale(code)
    except UnknownCurrency:
        raise CurrencyUnsupported(code) from None
    async with uow_factory(person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        if not await uow.directory.change_base_currency(member.household_id, code):
            raise BaseCurrencyFixed(code)
        await uow.commit()
    return code
