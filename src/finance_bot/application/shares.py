"""Fair shares between partners (docs/product.md §12, docs/adr/0015).

Common spending is every live expense that is neither in a category marked personal nor
tagged `#personal` / `#лично`, at its base amount. What one person paid for it from their
own accounts is owed back by the others in proportion to their shares; what is paid from
shared accounts was paid by everyone and moves nothing. A transfer from one person's own
account to another's is a settlement: it moves the balance between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from finance_bot.application.household import require_member
from finance_bot.application.idempotency import once
from finance_bot.application.results import Recorded
from finance_bot.domain import shares as arithmetic
from finance_bot.domain import transactions
from finance_bot.domain.accounts import Account, AccountType
from finance_bot.domain.errors import (
    NoAccountToSettle,
    NoRate,
    NotTheDebtor,
    SettlementChanged,
    SplitNeedsTwo,
    UnknownCategory,
)
from finance_bot.domain.money import Money
from finance_bot.domain.transactions import converted_amount
from finance_bot.ports.clock import IdSource
from finance_bot.ports.records import Member, PersonTransfer
from finance_bot.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class Debt:
    debtor: Member
    creditor: Member
    amount: Money


@dataclass(frozen=True, slots=True)
class SharesView:
    """Who owes whom to be even, over all time; no debts: they are even."""

    base: str
    debts: tuple[Debt, ...]
    last_number: int  # the state of the books the debts describe
    shares: dict[int, int]  # the shares in percent that counted; empty: equal


@dataclass(frozen=True, slots=True)
class Settled:
    """A settlement recorded (or found recorded by an earlier press)."""

    recorded: Recorded
    amount: Money
    debtor: int
    creditor: int

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "settled",
            "recorded": self.recorded.to_json(),
            "amount": [self.amount.amount_minor, self.amount.currency],
            "debtor": self.debtor,
            "creditor": self.creditor,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Settled:
        return cls(
            recorded=Recorded.from_json(data["recorded"]),
            amount=Money(int(data["amount"][0]), str(data["amount"][1])),
            debtor=int(data["debtor"]),
            creditor=int(data["creditor"]),
        )


async def mark_personal(
    telegram_id: int, category: Account, personal: bool, *, uow_factory: UnitOfWorkFactory
) -> None:
    """`/personal <category>` and `/shared <category>`: only expense categories."""
    if category.type is not AccountType.EXPENSE:
        raise UnknownCategory(category.name)
    async with uow_factory(person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        if category.household_id != member.household_id:
            raise UnknownCategory(category.name)
        await uow.directory.set_personal(category.id, personal)
        await uow.commit()


async def set_split(telegram_id: int, percent: int, *, uow_factory: UnitOfWorkFactory) -> int:
    """`/split 60`: the asker's share 60 %, the other's 40 %; returns the other's id."""
    if not 0 <= percent <= 100:
        raise ValueError("a share is a percent from 0 to 100")
    async with uow_factory(person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        members = [m for m in await uow.directory.members(member.household_id) if m.active]
        if len(members) != 2:
            raise SplitNeedsTwo(len(members))
        (other,) = [m for m in members if m.telegram_id != telegram_id]
        await uow.directory.set_shares(
            member.household_id, {telegram_id: percent, other.telegram_id: 100 - percent}
        )
        await uow.commit()
        return other.telegram_id


async def shares_view(telegram_id: int, *, uow_factory: UnitOfWorkFactory) -> SharesView:
    async with uow_factory(person=telegram_id) as uow:
        member = await require_member(uow, telegram_id)
        return await _view(uow, member.household_id)


async def settle(
    telegram_id: int,
    *,
    last_number: int,
    debtor: int,
    creditor: int,
    amount_minor: int,
    today: date,
    uow_factory: UnitOfWorkFactory,
    ids: IdSource,
) -> Settled:
    """Record the debt a Settle up button names, as a transfer from the debtor's account to
    the creditor's; only the debtor may. A second press of any button shown for the same
    state of the books (`last_number`) and the same pair finds the first one's answer."""
    if telegram_id != debtor:
        raise NotTheDebtor(debtor)

    async def work(uow: UnitOfWork, member: Member) -> Settled:
        view = await _view(uow, member.household_id)
        # Buttons shown at different states of the books carry different keys; two of them
        # pressed together would both see the debt. The state they saw is claimed too: the
        # second waits for the first to commit and answers with what it recorded.
        seen = f"settle-seen:{member.household_id}:{view.last_number}:{debtor}:{creditor}"
        first = await uow.idempotency.claim(seen)
        if first is not None:
            return Settled.from_json(first)
        owed = {(d.debtor.telegram_id, d.creditor.telegram_id): d.amount for d in view.debts}
        amount = owed.get((debtor, creditor))
        if amount is None or amount.amount_minor != amount_minor:
            raise SettlementChanged("the debt has changed since it was shown")
        accounts = await uow.directory.accounts(member.household_id)
        members = {m.telegram_id: m for m in await uow.directory.members(member.household_id)}
        source = _settling_account(members[debtor], accounts, view.base)
        target = _settling_account(members[creditor], accounts, view.base)
        transaction = transactions.transfer(
            id=ids.new_id(),
            household_id=member.household_id,
            author_telegram_id=telegram_id,
            booked_on=today,
            amount=amount,
            from_account_id=source.id,
            to_account_id=target.id,
        )
        added = await uow.ledger.add(transaction)
        assert added.number is not None  # a new id: nothing of it was stored before
        recorded = Recorded(transaction_id=transaction.id, number=added.number)
        settled = Settled(recorded, amount, debtor, creditor)
        await uow.idempotency.store(seen, settled.to_json())
        return settled

    async with uow_factory(transactional=False, person=telegram_id) as reading:
        household_id = (await require_member(reading, telegram_id)).household_id
    key = f"settle:{household_id}:{last_number}:{debtor}:{creditor}"
    return await once(uow_factory, key, telegram_id, work, decode=Settled.from_json)


def _settling_account(member: Member, accounts: list[Account], base: str) -> Account:
    """The member's default account when it is their own, live and in the base currency;
    else their oldest such account."""
    own = [
        a
        for a in accounts
        if a.owner_telegram_id == member.telegram_id
        and a.type.holds_money
        and not a.archived
        and a.currency == base
    ]
    own.sort(key=lambda a: (a.id != member.default_account_id, a.id))
    if not own:
        raise NoAccountToSettle(member.telegram_id, base)
    return own[0]


async def _view(uow: UnitOfWork, household_id: int) -> SharesView:
    base = await uow.directory.household_currency(household_id)
    members = await uow.directory.members(household_id)
    # The members now share the common spending, as `/split` sets it for them: who left
    # owes nothing and cannot settle, though what they paid still counts in the total.
    ids = [m.telegram_id for m in members if m.active]
    facts = await uow.reports.share_facts(household_id, currency=base)
    handed = [
        (t.from_telegram_id, t.to_telegram_id, await _in_base(uow, household_id, t, base))
        for t in facts.transfers
    ]
    shares = arithmetic.effective_shares(ids, await uow.directory.shares(household_id))
    paid = {p.key: p.amount.amount_minor for p in facts.paid}
    balance = arithmetic.balances(ids, paid, handed, shares)
    by_id = {m.telegram_id: m for m in members}
    debts = tuple(
        Debt(by_id[d.debtor], by_id[d.creditor], Money(d.amount_minor, base))
        for d in arithmetic.debts(ids, balance)
    )
    return SharesView(base, debts, facts.last_number, shares)


async def _in_base(uow: UnitOfWork, household_id: int, transfer: PersonTransfer, base: str) -> int:
    """A transfer's worth in the base currency: the side in it, else what left at the
    household's rate of its day."""
    for side in (transfer.sent, transfer.received):
        if side.currency == base:
            return side.amount_minor
    rate = await uow.rates.on(household_id, transfer.sent.currency, transfer.booked_on)
    if rate is None:
        raise NoRate(transfer.sent.currency)
    return converted_amount(transfer.sent, rate.rate, base).amount_minor
