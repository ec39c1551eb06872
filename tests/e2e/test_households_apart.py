"""Two households on one running bot (SIGNUP=open, real PostgreSQL, the fake Bot API over
HTTP): whatever their members write, in whatever order, no reply to one household ever
shows the other's figures, categories or names (docs/product.md §14)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finance_bot.sandbox.fake_api import FakeTelegram
from finance_bot.sandbox.people import Person
from tests.e2e.support import RunningBot, running_bot, settings_for
from tests.e2e.test_signup import invitation

pytestmark = pytest.mark.postgres

_IDS = itertools.count(50_000, 10)  # fresh people for every example; the database stays
_READS = ("/today", "/week", "/month", "/last", "/balance", "/members", "/budgets", "/settle")


@dataclass
class Household:
    ending: int  # every amount of this household ends in these two digits
    category: str
    people: list[Person] = field(default_factory=list)
    amounts: set[int] = field(default_factory=set)
    seen: list[str] = field(default_factory=list)  # every reply its members got

    def markers(self) -> list[str]:
        """What only this household's books hold: its figures (as a Russian reply writes
        them), its own category, its members' names."""
        figures = [f"{amount:,}".replace(",", "\u00a0") + ",00" for amount in self.amounts]
        return [*figures, self.category, *(person.first_name for person in self.people)]


@pytest.fixture
async def open_bot(fake: FakeTelegram, fresh_database_url: str) -> AsyncIterator[RunningBot]:
    settings = settings_for(fake, fresh_database_url, signup="open", whitelist_telegram_ids=())
    async with running_bot(settings) as running:
        yield running


_STEPS = st.lists(
    st.tuples(
        st.sampled_from([0, 1]),  # which household
        st.booleans(),  # its founder, or the partner they invited
        st.one_of(
            st.integers(1, 40), st.sampled_from(_READS)
        ),  # an entry of N·100+ending, or a read
    ),
    min_size=4,
    max_size=10,
)


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=_STEPS, partners=st.tuples(st.booleans(), st.booleans()))
async def test_no_reply_to_one_household_shows_anything_of_the_other(
    open_bot: RunningBot,
    fake: FakeTelegram,
    steps: list[tuple[int, bool, int | str]],
    partners: tuple[bool, bool],
) -> None:
    first = next(_IDS)
    households = [Household(17, "аквариум"), Household(83, "бонсай")]
    names = (("Аннабель", "Агата"), ("Бартоломей", "Борислава"))
    for index, household in enumerate(households):
        founder = Person(fake, first + index, f"{names[index][0]}{first}")
        household.seen += (await founder.say("/start")).texts
        household.people.append(founder)
        household.seen += (await founder.say(f"/addcategory {household.category}")).texts
        if partners[index]:
            partner = Person(fake, first + 5 + index, f"{names[index][1]}{first}")
            household.seen += (await partner.say(f"/start {await invitation(founder)}")).texts
            household.people.append(partner)
    for which, by_founder, what in steps:
        household = households[which]
        person = household.people[0 if by_founder else -1]
        if isinstance(what, int):
            amount = what * 100 + household.ending
            household.amounts.add(amount)
            reply = await person.say(f"{amount} {household.category}")
            assert f"{amount:,}".replace(",", "\u00a0") + ",00" in reply.text
        else:
            reply = await person.say(what)
        household.seen += reply.texts
    for household in households:  # and every view once, whatever was drawn
        for read in _READS:
            household.seen += (await household.people[-1].say(read)).texts
    for own, other in (households, households[::-1]):
        for text in own.seen:
            for marker in other.markers():
                assert marker not in text, (marker, text)
