"""Fair shares over random books on real PostgreSQL: `/settle` against a model that reads
only the steps played — who paid what for everyone, from whose account, what was voided,
what went from one person to another, who left, the split in force.

The arithmetic (dividing to the kopeck, matching debtors to creditors) is the domain's,
held by tests/unit/test_shares_arithmetic.py; here the facts the database gives it are
checked: live common spending per payer and the settlements between people.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finance_bot.application import directory, membership, shares
from finance_bot.domain import shares as arithmetic
from finance_bot.domain.accounts import Account
from finance_bot.domain.commands import RecordExpense
from finance_bot.domain.money import Money
from finance_bot.domain.transactions import transfer
from tests.support.household import DAY, Household, PostgresWorld, ledger_world

pytestmark = pytest.mark.postgres

CATEGORIES = ("products", "cafe", "clothes")


@dataclass(frozen=True)
class Spend:
    person: int
    amount_minor: int
    category: str
    paid_from: str  # "card", "cash" (the person's own) or "shared"
    personal_tag: bool


@dataclass(frozen=True)
class Hand:
    """Money from one person's card to another's: a settlement by hand."""

    source: int
    target: int
    amount_minor: int


@dataclass(frozen=True)
class Void:
    pick: int  # which of the entries so far, modulo their count


@dataclass(frozen=True)
class Split:
    person: int
    percent: int


@dataclass(frozen=True)
class Leave:
    person: int


@dataclass(frozen=True)
class Personal:
    category: str
    personal: bool


@dataclass(frozen=True)
class Settle:
    pass


Step = Spend | Hand | Void | Split | Leave | Personal | Settle

people = st.integers(0, 2)
steps: st.SearchStrategy[Step] = st.one_of(
    st.builds(
        Spend,
        people,
        st.integers(1, 5_000_001),  # odd kopecks on purpose
        st.sampled_from(CATEGORIES),
        st.sampled_from(("card", "cash", "shared")),
        st.booleans(),
    ),
    st.builds(Hand, people, people, st.integers(1, 2_000_001)),
    st.builds(Void, st.integers(0, 50)),
    st.builds(Split, people, st.sampled_from((0, 1, 33, 50, 60, 99, 100))),
    st.builds(Leave, st.just(2)),  # the third; the first two stay on the whitelist's terms
    st.builds(Personal, st.sampled_from(CATEGORIES), st.booleans()),
    st.builds(Settle),
)


@dataclass
class Model:
    members: list[int]
    active: set[int]
    personal: set[str]
    shares: dict[int, int]
    # (number, author, payer or None, amount, category, tagged personal) of expenses, and
    # (number, author, source, target, amount) of money handed between people
    spent: dict[int, tuple[int, int | None, int, str, bool]]
    handed: dict[int, tuple[int, int, int, int]]
    voided: set[int]

    def facts(self) -> tuple[dict[int, int], list[tuple[int, int, int]]]:
        paid: dict[int, int] = {}
        for number, (_, payer, amount, category, tagged) in self.spent.items():
            if number in self.voided or payer is None or tagged or category in self.personal:
                continue
            paid[payer] = paid.get(payer, 0) + amount
        handed = [
            (source, target, amount)
            for number, (_, source, target, amount) in sorted(self.handed.items())
            if number not in self.voided
        ]
        return paid, handed

    def debts(self) -> list[tuple[int, int, int]]:
        paid, handed = self.facts()
        active = [m for m in self.members if m in self.active]
        in_force = arithmetic.effective_shares(active, self.shares)
        balance = arithmetic.balances(active, paid, handed, in_force)
        return [(d.debtor, d.creditor, d.amount_minor) for d in arithmetic.debts(active, balance)]


async def _shown(home: Household, asker: int) -> list[tuple[int, int, int]]:
    view = await shares.shares_view(asker, uow_factory=home.factory)
    assert view.base == "UAH"
    for debt in view.debts:
        assert debt.amount.currency == "UAH"
        assert debt.amount.amount_minor > 0
    return [
        (d.debtor.telegram_id, d.creditor.telegram_id, d.amount.amount_minor) for d in view.debts
    ]


@dataclass
class Game:
    """The household the steps are played in, and the model beside it."""

    world: PostgresWorld
    home: Household
    members: list[int]
    own: dict[int, dict[str, Account]]
    common: Account
    model: Model

    async def spend(self, step: Spend) -> None:
        person = self.members[step.person]
        if person not in self.model.active:
            return
        own = self.own[person]
        account = self.common if step.paid_from == "shared" else own[step.paid_from]
        tags = ("personal",) if step.personal_tag else ()
        command = RecordExpense(
            Money(step.amount_minor, "UAH"), own[step.category].id, account.id, DAY, tags=tags
        )
        number = (await self.world.record(command, person)).number
        payer = None if step.paid_from == "shared" else person
        self.model.spent[number] = (
            person,
            payer,
            step.amount_minor,
            step.category,
            step.personal_tag,
        )

    async def hand(self, step: Hand) -> None:
        source, target = self.members[step.source], self.members[step.target]
        if source == target or not {source, target} <= self.model.active:
            return
        added = await self.home.add(
            transfer(
                id=self.world.ids.new_id(),
                household_id=self.home.id,
                author_telegram_id=source,
                booked_on=DAY,
                amount=Money(step.amount_minor, "UAH"),
                from_account_id=self.own[source]["card"].id,
                to_account_id=self.own[target]["card"].id,
            )
        )
        assert added.number is not None
        self.model.handed[added.number] = (source, source, target, step.amount_minor)

    async def void(self, step: Void) -> None:
        model = self.model
        live = sorted(
            number
            for number, entry in (*model.spent.items(), *model.handed.items())
            if number not in model.voided and entry[0] in model.active
        )
        if not live:
            return
        number = live[step.pick % len(live)]
        author = (model.spent.get(number) or model.handed[number])[0]
        await self.world.void(number, author)
        model.voided.add(number)

    async def split(self, step: Split) -> None:
        person = self.members[step.person]
        if person not in self.model.active or len(self.model.active) != 2:
            return
        other = await shares.set_split(person, step.percent, uow_factory=self.home.factory)
        self.model.shares = {person: step.percent, other: 100 - step.percent}

    async def leave(self, step: Leave) -> None:
        person = self.members[step.person]
        if person not in self.model.active:
            return
        await membership.leave(person, whitelist=frozenset(), uow_factory=self.home.factory)
        self.model.active.discard(person)
        self.model.shares = {}  # leaving makes the shares equal again

    async def mark(self, step: Personal) -> None:
        category = self.own[self.members[0]][step.category]
        await shares.mark_personal(
            self.members[0], category, step.personal, uow_factory=self.home.factory
        )
        if step.personal:
            self.model.personal.add(step.category)
        else:
            self.model.personal.discard(step.category)

    async def settle(self) -> None:
        shown = await _shown(self.home, self.members[0])
        if not shown:
            return
        debtor, creditor, amount = shown[0]
        view = await shares.shares_view(debtor, uow_factory=self.home.factory)
        settled = await shares.settle(
            debtor,
            last_number=view.last_number,
            debtor=debtor,
            creditor=creditor,
            amount_minor=amount,
            today=DAY,
            uow_factory=self.home.factory,
            ids=self.world.ids,
        )
        self.model.handed[settled.recorded.number] = (debtor, debtor, creditor, amount)
        # the pair is even now
        assert (debtor, creditor) not in {(d, c) for d, c, _ in await _shown(self.home, debtor)}

    async def play(self, step: Step) -> None:
        match step:
            case Spend():
                await self.spend(step)
            case Hand():
                await self.hand(step)
            case Void():
                await self.void(step)
            case Split():
                await self.split(step)
            case Leave():
                await self.leave(step)
            case Personal():
                await self.mark(step)
            case Settle():
                await self.settle()


async def _play(world: PostgresWorld, plan: list[Step]) -> None:
    members = await world.new_household(3, language="en")
    home = Household(world, await world.household_of(members[0]), members[0], members[1], {})
    own = {person: await world.accounts(person) for person in members}
    common = await directory.add_account(
        members[0], "common", shared=True, uow_factory=home.factory
    )
    model = Model(list(members), set(members), set(), {}, {}, {}, set())
    game = Game(world, home, members, own, common, model)
    for step in plan:
        await game.play(step)
        expected = model.debts()
        for asker in model.active:  # every member sees the same debts
            assert await _shown(home, asker) == expected, step
        for debtor, creditor, _ in expected:
            assert {debtor, creditor} <= model.active  # who left neither owes nor is owed


@settings(
    max_examples=int(os.environ.get("SHARES_PROPERTY_EXAMPLES", "15")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(plan=st.lists(steps, min_size=1, max_size=16))
def test_settle_reads_the_books_as_the_steps_wrote_them(
    shared_database_url: str, plan: list[Step]
) -> None:
    async def body() -> None:
        async with ledger_world(shared_database_url, max_size=2) as world:
            await _play(world, plan)

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(body())
    finally:
        loop.close()
