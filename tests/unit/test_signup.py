"""Sign-up pieces that need no database: reading /start, invitation codes, time zones,
and the in-memory use cases for leaving and settings (docs/adr/0022)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiogram.types import Chat, Message, Update, User

from finance_bot.adapters.telegram.signup import start_payload
from finance_bot.application import membership
from finance_bot.config import Settings
from tests.support.fakes import FakeUnitOfWorkFactory

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)


def update(text: str) -> Update:
    person = User(id=7, is_bot=False, first_name="Eve")
    message = Message(
        message_id=1,
        date=NOW,
        chat=Chat(id=7, type="private"),
        from_user=person,
        text=text,
    )
    return Update(update_id=1, message=message)


@pytest.mark.parametrize(
    ("text", "payload"),
    [
        ("/start", ""),
        ("/start abc_DEF-123", "abc_DEF-123"),
        ("/Start  code ", "code"),
        ("/start@finance_test_bot code", "code"),
        ("/starter code", None),
        ("250 кафе", None),
        ("/help", None),
    ],
)
def test_only_a_start_command_carries_a_payload(text: str, payload: str | None) -> None:
    assert start_payload(update(text)) == payload


def test_codes_are_unguessable_and_only_their_hash_is_kept() -> None:
    codes = {membership.secrets.token_urlsafe(16) for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert membership.looks_like_code(code)
        assert len(code) == 22
        assert len(membership.code_hash(code)) == 32
        assert code.encode() not in membership.code_hash(code)
    assert not membership.looks_like_code("has space")
    assert not membership.looks_like_code("x" * 65)
    assert not membership.looks_like_code("")


@pytest.mark.parametrize(
    "name",
    [
        "Mars/Base",
        "",
        "../../etc/passwd",
        "Europe/Kyiv " * 8,
        # Files of the host's zoneinfo directory, not IANA zones: "localtime" is whatever
        # zone the machine that reads it has; the others exist on some hosts and not in
        # the tzdata package, so a replica without them could not read the household's day.
        "localtime",
        "posixrules",
        "posix/Europe/Kyiv",
        "right/UTC",
    ],
)
def test_an_unknown_zone_is_refused(name: str) -> None:
    with pytest.raises(membership.ZoneUnknown):
        membership.known_zone(name)


def test_a_known_zone_is_kept_as_named() -> None:
    assert membership.known_zone("America/New_York") == "America/New_York"


@pytest.mark.parametrize(
    ("given", "mode"), [("", "whitelist"), (" Invite ", "invite"), ("open", "open")]
)
def test_signup_is_read_from_the_environment(given: str, mode: str) -> None:
    settings = Settings(_env_file=None, signup=given)  # type: ignore[call-arg]
    assert settings.signup == mode


def test_an_unknown_signup_mode_stops_the_bot() -> None:
    with pytest.raises(ValueError, match="signup"):
        Settings(_env_file=None, signup="everyone")  # type: ignore[call-arg]


async def test_founding_leaving_and_settings_in_memory() -> None:
    factory = FakeUnitOfWorkFactory()
    joined = await membership.found_own_household(
        10, currency="EUR", timezone="Europe/Berlin", language="en", uow_factory=factory
    )
    assert isinstance(joined, membership.Joined)
    assert joined.founded
    assert joined.membership.household.timezone == "Europe/Berlin"
    code = await membership.make_invite(10, now=NOW, uow_factory=factory)
    partner = await membership.join_by_invite(20, code, now=NOW, language="en", uow_factory=factory)
    assert isinstance(partner, membership.Joined)
    assert not partner.founded
    people = await membership.active_members(10, uow_factory=factory)
    assert [p.telegram_id for p in people] == [10, 20]
    await membership.leave(20, whitelist=frozenset(), uow_factory=factory)
    people = await membership.active_members(10, uow_factory=factory)
    assert [p.telegram_id for p in people] == [10]
    # Who left may found a household of their own; the first keeps their row, left.
    again = await membership.found_own_household(
        20, currency="EUR", timezone="Europe/Berlin", language="en", uow_factory=factory
    )
    assert isinstance(again, membership.Joined)
    assert again.founded
    assert again.membership.household.id != joined.membership.household.id
    assert [p.telegram_id for p in await membership.active_members(20, uow_factory=factory)] == [20]
    async with factory(household=joined.membership.household.id) as uow:
        rows = await uow.directory.members(joined.membership.household.id)
    assert [(m.telegram_id, m.active) for m in rows] == [(10, True), (20, False)]
    assert await membership.set_timezone(10, "Asia/Tokyo", uow_factory=factory) == "Asia/Tokyo"
    settings = await membership.settings_of(10, uow_factory=factory)
    assert (settings.timezone, settings.currency) == ("Asia/Tokyo", "EUR")
