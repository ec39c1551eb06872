"""A stateful test: random sequences of writes through the application layer on real
PostgreSQL, compared after every step with a tiny in-memory model of the books.

Hypothesis' state machines are synchronous and the application is async, so every machine
owns an event loop of its own and runs each step to completion on it; its pool of
connections lives on that loop and is closed in teardown.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, ClassVar, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from finance_bot.adapters.postgres.check import check_ledger
from finance_bot.adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory, create_pool
from finance_bot.adapters.system import UuidV7Source
from finance_bot.application.corrections import refile, undo_last, void
from finance_bot.application.directory import add_account
from finance_bot.application.recording import record
from finance_bot.application.reports import balances, last_transactions, period_report
from finance_bot.domain.accounts import AccountType
from finance_bot.domain.commands import RecordCommand, RecordExpense, RecordIncome, RecordTransfer
from finance_bot.domain.errors import (
    AlreadyVoided,
    NothingToUndo,
    NotTheAuthor,
    ReversalCannotBeVoided,
    TransactionNotFound,
    WrongCategoryKind,
)
from finance_bot.domain.money import Money
from finance_bot.domain.periods import PeriodKind, month_start, next_month_start
from finance_bot.domain.transactions import TransactionKind
from finance_bot.ports.records import PeriodTotals
from tests.support.household import PostgresWorld

pytestmark = pytest.mark.postgres

TODAY = date(2026, 11, 20)
CURRENCY = "UAH"
EXPENSE_CODES = ("cafe", "taxi", "products", "coffee")
INCOME_CODES = ("salary", "gift_income", "other_income")
CHECK_LEDGER_EVERY = 10  # invariant rounds between two full `check_ledger` runs

T = TypeVar("T")

people = st.sampled_from((0, 1))  # an index into the machine's two members
amounts = st.integers(min_value=1, max_value=10**6)
days = st.integers(min_value=-45, max_value=15).map(lambda offset: TODAY + timedelta(days=offset))
keyed = st.booleans()  # whether the write carries an idempotency key
# Which of the author's accounts a write uses: None is "the default" (the card).
asset_choices = st.sampled_from((None, "card", "cash", "shared"))


@dataclass
class ModelTransaction:
    number: int
    kind: TransactionKind
    author: int
    booked_on: date
    postings: tuple[tuple[int, int], ...]  # (account id, debit minus credit)
    transaction_id: uuid.UUID | None = None  # a use case reports it for new transactions only
    category: int | None = None  # the category leg of an expense or income
    voids: int | None = None  # for a reversal: the number it voids
    voided: bool = False

    @property
    def live(self) -> bool:
        """What reports count: neither voided nor a reversal."""
        return not self.voided and self.kind is not TransactionKind.REVERSAL

    @property
    def amount(self) -> int:
        return sum(signed for _, signed in self.postings if signed > 0)


@dataclass
class LedgerModel:
    transactions: dict[int, ModelTransaction] = field(default_factory=dict)
    balances: Counter[int] = field(default_factory=Counter)  # debit minus credit

    @property
    def count(self) -> int:
        return len(self.transactions)

    def add(self, transaction: ModelTransaction) -> None:
        assert transaction.number == self.count + 1
        self.transactions[transaction.number] = transaction
        for account_id, signed in transaction.postings:
            self.balances[account_id] += signed

    def void_error(self, number: int, author: int) -> type[Exception] | None:
        """What voiding #number by author must raise; the checks in the use case's order."""
        original = self.transactions.get(number)
        if original is None:
            return TransactionNotFound
        if original.kind is TransactionKind.REVERSAL:
            return ReversalCannotBeVoided
        if original.author != author:
            return NotTheAuthor
        if original.voided:
            return AlreadyVoided
        return None

    def void(self, number: int, author: int) -> int:
        """Mark #number voided and append its reversal; returns the reversal's number."""
        original = self.transactions[number]
        original.voided = True
        reversal = ModelTransaction(
            number=self.count + 1,
            kind=TransactionKind.REVERSAL,
            author=author,
            booked_on=original.booked_on,
            postings=tuple((account_id, -signed) for account_id, signed in original.postings),
            voids=number,
        )
        self.add(reversal)
        return reversal.number

    def last_by(self, author: int) -> int | None:
        """What `/undo` picks: the author's latest transaction that is not a reversal."""
        numbers = [
            t.number
            for t in self.transactions.values()
            if t.author == author and t.kind is not TransactionKind.REVERSAL
        ]
        return max(numbers, default=None)

    def live_numbers(self, author: int | None = None) -> list[int]:
        return sorted(
            (
                t.number
                for t in self.transactions.values()
                if t.live and (author is None or t.author == author)
            ),
            reverse=True,
        )

    def totals(
        self, start: date, end: date, categories: dict[int, AccountType], author: int | None
    ) -> dict[str, Any]:
        """Spending by category and person, income by category, over live transactions."""
        spending: Counter[int] = Counter()
        by_person: Counter[int] = Counter()
        income: Counter[int] = Counter()
        for t in self.transactions.values():
            if not t.live or not start <= t.booked_on < end:
                continue
            if author is not None and t.author != author:
                continue
            for account_id, signed in t.postings:
                if categories.get(account_id) is AccountType.EXPENSE:
                    spending[account_id] += signed
                    by_person[t.author] += signed
                elif categories.get(account_id) is AccountType.INCOME:
                    income[account_id] -= signed
        return {
            "spending": sum(spending.values()),
            "income": sum(income.values()),
            "by_category": {k: v for k, v in spending.items() if v},
            "by_person": {k: v for k, v in by_person.items() if v},
            "income_by_category": {k: v for k, v in income.items() if v},
        }


def _reported(totals: PeriodTotals) -> dict[str, Any]:
    for money in (totals.spending, totals.income):
        assert money.currency == CURRENCY
    return {
        "spending": totals.spending.amount_minor,
        "income": totals.income.amount_minor,
        "by_category": {a.key: a.amount.amount_minor for a in totals.by_category},
        "by_person": {a.key: a.amount.amount_minor for a in totals.by_person},
        "income_by_category": {a.key: a.amount.amount_minor for a in totals.income_by_category},
    }


@dataclass(frozen=True)
class UsedKey:
    """A write that succeeded under an idempotency key, and how to send it again."""

    key: str
    send: Callable[[], Coroutine[Any, Any, Any]]
    first: Any  # Recorded, Voided or Refiled: each has to_json() and replayed


class LedgerMachine(RuleBasedStateMachine):
    database_url: ClassVar[str] = ""  # set by the test on a subclass

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.world: PostgresWorld | None = None
        try:
            self.world = self.run(self._open())
        except BaseException:
            self.loop.close()  # hypothesis calls teardown only on a machine that was built
            raise
        self.model = LedgerModel()
        self.used_keys: list[UsedKey] = []
        self.invariant_rounds = 0

    # -- plumbing -------------------------------------------------------------------------

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def expect(self, error: type[Exception] | None, coroutine: Coroutine[Any, Any, T]) -> T | None:
        """Run a write that must succeed (error None) or raise exactly `error`."""
        if error is None:
            return self.run(coroutine)
        with pytest.raises(error):
            self.run(coroutine)
        return None

    async def _open(self) -> PostgresWorld:
        pool = await create_pool(self.database_url, max_size=3)
        try:
            return await self._populate(
                PostgresWorld(PostgresUnitOfWorkFactory(pool), UuidV7Source(), pool)
            )
        except BaseException:
            await pool.close()
            raise

    async def _populate(self, world: PostgresWorld) -> PostgresWorld:
        """A new household of two, a shared account, and the ids the rules use."""
        self.people = await world.new_household()
        self.household_id = await world.household_of(self.people[0])
        shared = await add_account(
            self.people[0],
            "общий",
            shared=True,
            currency=CURRENCY,
            uow_factory=world.uow_factory,
        )
        self.assets: list[dict[str | None, int]] = []
        for person in self.people:
            own = await world.accounts(person)
            card = own["card"].id
            self.assets.append(
                {None: card, "card": card, "cash": own["cash"].id, "shared": shared.id}
            )
        by_code = await world.accounts(self.people[0])
        self.category = {code: by_code[code].id for code in (*EXPENSE_CODES, *INCOME_CODES)}
        async with world.pool.acquire() as connection:
            rows = await connection.fetch(
                "SELECT id, type::text FROM accounts WHERE household_id = $1", self.household_id
            )
        self.account_types = {row["id"]: AccountType(row["type"]) for row in rows}
        return world

    @property
    def w(self) -> PostgresWorld:
        assert self.world is not None
        return self.world

    def teardown(self) -> None:
        try:
            if self.world is not None:
                self.run(self.world.pool.close())
        finally:
            self.loop.close()

    def _key(self, use_key: bool) -> str | None:
        return f"stateful:{uuid.uuid4()}" if use_key else None

    def _remember(
        self, key: str | None, send: Callable[[], Coroutine[Any, Any, Any]], first: Any
    ) -> None:
        if key is not None:
            self.used_keys.append(UsedKey(key, send, first))

    def _record(
        self, command: RecordCommand, author: int, use_key: bool, category: int | None
    ) -> None:
        key = self._key(use_key)

        def send() -> Coroutine[Any, Any, Any]:
            return record(
                command,
                author_telegram_id=author,
                idempotency_key=key,
                uow_factory=self.w.uow_factory,
                ids=self.w.ids,
            )

        recorded = self.run(send())
        assert recorded.number == self.model.count + 1
        assert not recorded.replayed
        assert recorded.alerts == ()  # no budgets are set
        amount = command.amount.amount_minor
        if isinstance(command, RecordExpense):
            source = command.account_id or self.assets[self.people.index(author)][None]
            assert category is not None
            postings = ((category, amount), (source, -amount))
            kind = TransactionKind.EXPENSE
        elif isinstance(command, RecordIncome):
            target = command.account_id or self.assets[self.people.index(author)][None]
            assert category is not None
            postings = ((target, amount), (category, -amount))
            kind = TransactionKind.INCOME
        else:
            postings = ((command.to_account_id, amount), (command.from_account_id, -amount))
            kind = TransactionKind.TRANSFER
        self.model.add(
            ModelTransaction(
                number=recorded.number,
                kind=kind,
                author=author,
                booked_on=command.booked_on,
                postings=postings,
                transaction_id=recorded.transaction_id,
                category=category,
            )
        )
        self._remember(key, send, recorded)

    # -- rules: recording -----------------------------------------------------------------

    @rule(
        who=people,
        code=st.sampled_from(EXPENSE_CODES),
        amount=amounts,
        day=days,
        source=asset_choices,
        use_key=keyed,
    )
    def record_expense(
        self, *, who: int, code: str, amount: int, day: date, source: str | None, use_key: bool
    ) -> None:
        account_id = self.assets[who][source] if source is not None else None
        category = self.category[code]
        command = RecordExpense(Money(amount, CURRENCY), category, account_id, day)
        self._record(command, self.people[who], use_key, category)

    @rule(
        who=people,
        code=st.sampled_from(INCOME_CODES),
        amount=amounts,
        day=days,
        into=asset_choices,
        use_key=keyed,
    )
    def record_income(
        self, *, who: int, code: str, amount: int, day: date, into: str | None, use_key: bool
    ) -> None:
        account_id = self.assets[who][into] if into is not None else None
        category = self.category[code]
        command = RecordIncome(Money(amount, CURRENCY), category, account_id, day)
        self._record(command, self.people[who], use_key, category)

    @rule(who=people, to_cash=st.booleans(), amount=amounts, day=days, use_key=keyed)
    def record_transfer(
        self, who: int, to_cash: bool, amount: int, day: date, use_key: bool
    ) -> None:
        card, cash = self.assets[who]["card"], self.assets[who]["cash"]
        source, target = (card, cash) if to_cash else (cash, card)
        command = RecordTransfer(Money(amount, CURRENCY), source, target, day)
        self._record(command, self.people[who], use_key, None)

    # -- rules: corrections ---------------------------------------------------------------

    def _void(self, number: int, author: int, use_key: bool) -> None:
        key = self._key(use_key)

        def send() -> Coroutine[Any, Any, Any]:
            return void(
                number,
                author_telegram_id=author,
                idempotency_key=key,
                uow_factory=self.w.uow_factory,
                ids=self.w.ids,
            )

        error = self.model.void_error(number, author)
        voided = self.expect(error, send())
        if voided is None:
            return
        assert (voided.number, voided.reversal_number) == (number, self.model.count + 1)
        assert self.model.void(number, author) == voided.reversal_number
        self._remember(key, send, voided)

    @precondition(lambda self: self.model.count > 0)
    @rule(data=st.data(), who=people, use_key=keyed)
    def void_any(self, data: st.DataObject, who: int, use_key: bool) -> None:
        """Any number, a few past the last one too, by either person."""
        number = data.draw(st.integers(min_value=1, max_value=self.model.count + 2), "number")
        self._void(number, self.people[who], use_key)

    def _voidable(self) -> list[int]:
        return [
            t.number
            for t in self.model.transactions.values()
            if not t.voided and t.kind is not TransactionKind.REVERSAL
        ]

    @precondition(lambda self: bool(self._voidable()))
    @rule(data=st.data(), use_key=keyed)
    def void_own(self, data: st.DataObject, use_key: bool) -> None:
        number = data.draw(st.sampled_from(self._voidable()), "number")
        self._void(number, self.model.transactions[number].author, use_key)

    @precondition(lambda self: bool(self._voidable()))
    @rule(data=st.data(), concurrently=st.booleans())
    def double_void(self, data: st.DataObject, concurrently: bool) -> None:
        """Void the same transaction twice: once in turn, or both at the same moment."""
        number = data.draw(st.sampled_from(self._voidable()), "number")
        author = self.model.transactions[number].author

        def send() -> Coroutine[Any, Any, Any]:
            return void(
                number,
                author_telegram_id=author,
                idempotency_key=None,
                uow_factory=self.w.uow_factory,
                ids=self.w.ids,
            )

        async def both() -> list[Any]:
            if concurrently:
                return list(await asyncio.gather(send(), send(), return_exceptions=True))
            outcomes: list[Any] = []
            for _ in range(2):
                try:
                    outcomes.append(await send())
                except AlreadyVoided as refused:
                    outcomes.append(refused)
            return outcomes

        outcomes = self.run(both())
        done = [o for o in outcomes if not isinstance(o, BaseException)]
        refused = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(done) == 1, outcomes
        assert len(refused) == 1
        assert isinstance(refused[0], AlreadyVoided), refused
        assert done[0].number == number
        assert done[0].reversal_number == self.model.count + 1
        self.model.void(number, author)

    @rule(who=people, use_key=keyed)
    def undo(self, who: int, use_key: bool) -> None:
        author = self.people[who]
        key = self._key(use_key)

        def send() -> Coroutine[Any, Any, Any]:
            return undo_last(
                author_telegram_id=author,
                idempotency_key=key,
                uow_factory=self.w.uow_factory,
                ids=self.w.ids,
            )

        last = self.model.last_by(author)
        error = NothingToUndo if last is None else self.model.void_error(last, author)
        voided = self.expect(error, send())
        if voided is None:
            return
        assert last is not None
        assert (voided.number, voided.reversal_number) == (last, self.model.count + 1)
        self.model.void(last, author)
        self._remember(key, send, voided)

    def _refile(self, number: int, author: int, new_category: int, use_key: bool) -> None:
        key = self._key(use_key)

        def send() -> Coroutine[Any, Any, Any]:
            return refile(
                number,
                new_category,
                author_telegram_id=author,
                idempotency_key=key,
                uow_factory=self.w.uow_factory,
                ids=self.w.ids,
            )

        error = self.model.void_error(number, author)
        original = self.model.transactions.get(number)
        if error is None:
            assert original is not None
            wanted = {
                TransactionKind.EXPENSE: AccountType.EXPENSE,
                TransactionKind.INCOME: AccountType.INCOME,
            }.get(original.kind)
            if wanted is None or self.account_types[new_category] is not wanted:
                error = WrongCategoryKind
        refiled = self.expect(error, send())
        if refiled is None:
            return
        assert original is not None
        assert refiled.voided_number == number
        assert refiled.learned_alias is None  # nothing is filed under "other" here
        if new_category == original.category:
            # Already there: nothing is written (issue 9), the entry keeps its number.
            assert not refiled.moved
            assert refiled.recorded.number == number
            self._remember(key, send, refiled)
            return
        assert refiled.recorded.number == self.model.count + 2
        assert not refiled.replayed
        # In one unit of work: the reversal of the original, then the moved copy.
        self.model.void(number, author)
        self.model.add(
            ModelTransaction(
                number=refiled.recorded.number,
                kind=original.kind,
                author=author,
                booked_on=original.booked_on,
                postings=tuple(
                    (new_category if account_id == original.category else account_id, signed)
                    for account_id, signed in original.postings
                ),
                transaction_id=refiled.recorded.transaction_id,
                category=new_category,
            )
        )
        self._remember(key, send, refiled)

    def _live_of(self, kind: TransactionKind) -> list[int]:
        return [t.number for t in self.model.transactions.values() if t.live and t.kind is kind]

    @precondition(lambda self: bool(self._live_of(TransactionKind.EXPENSE)))
    @rule(data=st.data(), use_key=keyed)
    def refile_expense(self, data: st.DataObject, use_key: bool) -> None:
        """Move a live expense to another expense category, by its author."""
        number = data.draw(st.sampled_from(self._live_of(TransactionKind.EXPENSE)), "number")
        original = self.model.transactions[number]
        others = [self.category[c] for c in EXPENSE_CODES if self.category[c] != original.category]
        new_category = data.draw(st.sampled_from(others), "category")
        self._refile(number, original.author, new_category, use_key)

    @precondition(lambda self: self.model.count > 0)
    @rule(
        data=st.data(),
        who=people,
        code=st.sampled_from((*EXPENSE_CODES, *INCOME_CODES)),
        use_key=keyed,
    )
    def refile_any(self, data: st.DataObject, who: int, code: str, use_key: bool) -> None:
        """Any number to any category by either person: mostly refusals, some moves."""
        number = data.draw(st.integers(min_value=1, max_value=self.model.count + 1), "number")
        self._refile(number, self.people[who], self.category[code], use_key)

    # -- rules: idempotency ---------------------------------------------------------------

    @precondition(lambda self: bool(self.used_keys))
    @rule(data=st.data())
    def replay_key(self, data: st.DataObject) -> None:
        """A key already used returns its first answer and writes nothing (the invariants
        check that nothing changed)."""
        used = data.draw(st.sampled_from(self.used_keys), "key")
        again = self.run(used.send())
        assert type(again) is type(used.first)
        assert again.replayed
        assert again.to_json() == used.first.to_json()

    # -- invariants -----------------------------------------------------------------------

    @invariant()
    def cached_balances_match_the_model(self) -> None:
        async def read() -> dict[int, int]:
            async with self.w.pool.acquire() as connection:
                rows = await connection.fetch(
                    """
                    SELECT a.id, b.balance_minor FROM accounts a
                      JOIN account_balances b ON b.account_id = a.id
                     WHERE a.household_id = $1
                    """,
                    self.household_id,
                )
            return {row["id"]: row["balance_minor"] for row in rows}

        cached = self.run(read())
        assert set(cached) == set(self.account_types)
        assert cached == {a: self.model.balances[a] for a in self.account_types}

    @invariant()
    def balance_views_match_the_model(self) -> None:
        for index, person in enumerate(self.people):
            view = self.run(balances(person, currency=CURRENCY, uow_factory=self.w.uow_factory))
            visible = set(self.assets[index].values())  # own card, own cash, the shared one
            total = sum(self.model.balances[a] for a in visible)
            assert view.total == Money(total, CURRENCY)  # exactly what the list shows
            assert {line.account.id: line.balance.amount_minor for line in view.accounts} == {
                a: self.model.balances[a] for a in visible
            }

    @invariant()
    def period_reports_match_the_model(self) -> None:
        months = {month_start(t.booked_on) for t in self.model.transactions.values()}
        for month in sorted(months):
            end = next_month_start(month)
            before = month_start(month - timedelta(days=1))
            for author in (None, *self.people):
                report = self.run(
                    period_report(
                        author or self.people[0],
                        PeriodKind.MONTH,
                        month,
                        only_me=author is not None,
                        today=TODAY,
                        currency=CURRENCY,
                        uow_factory=self.w.uow_factory,
                    )
                )
                assert (report.period.start, report.period.end) == (month, end)
                assert report.only_telegram_id == author
                expected = self.model.totals(month, end, self.account_types, author)
                assert _reported(report.totals) == expected, (month, author)
                assert report.previous is not None
                expected_before = self.model.totals(before, month, self.account_types, author)
                assert _reported(report.previous) == expected_before, (before, author)

    @invariant()
    def numbers_are_gapless_and_rows_match_the_model(self) -> None:
        async def read() -> tuple[int, list[Any], list[Any]]:
            async with self.w.pool.acquire() as connection:
                counter = await connection.fetchval(
                    "SELECT last_transaction_number FROM households WHERE id = $1",
                    self.household_id,
                )
                rows = await connection.fetch(
                    """
                    SELECT t.number, t.id, t.kind::text AS kind, t.author_telegram_id,
                           t.booked_on, t.voided_by_transaction_id IS NOT NULL AS voided,
                           o.number AS voids
                      FROM transactions t
                      LEFT JOIN transactions o ON o.id = t.voids_transaction_id
                     WHERE t.household_id = $1 ORDER BY t.number
                    """,
                    self.household_id,
                )
                legs = await connection.fetch(
                    """
                    SELECT t.number, p.account_id,
                           CASE p.direction WHEN 'debit' THEN p.amount_minor
                                            ELSE -p.amount_minor END AS signed
                      FROM transactions t JOIN postings p ON p.transaction_id = t.id
                     WHERE t.household_id = $1
                    """,
                    self.household_id,
                )
            return counter, list(rows), list(legs)

        counter, rows, legs = self.run(read())
        assert [row["number"] for row in rows] == list(range(1, self.model.count + 1))
        assert counter == self.model.count
        for row in rows:
            t = self.model.transactions[row["number"]]
            assert (
                TransactionKind(row["kind"]),
                row["author_telegram_id"],
                row["booked_on"],
                row["voided"],
                row["voids"],
            ) == (t.kind, t.author, t.booked_on, t.voided, t.voids), row
            if t.transaction_id is not None:
                assert row["id"] == t.transaction_id
        stored: dict[int, list[tuple[int, int]]] = {}
        for leg in legs:
            stored.setdefault(leg["number"], []).append((leg["account_id"], leg["signed"]))
        assert {n: sorted(p) for n, p in stored.items()} == {
            n: sorted(t.postings) for n, t in self.model.transactions.items()
        }

    @invariant()
    def last_transactions_are_the_latest_live_ones(self) -> None:
        for author in (None, *self.people):
            lines, _ = self.run(
                last_transactions(
                    author or self.people[1],
                    5,
                    only_me=author is not None,
                    uow_factory=self.w.uow_factory,
                )
            )
            expected = self.model.live_numbers(author)[:5]
            assert [line.number for line in lines] == expected
            for line in lines:
                t = self.model.transactions[line.number]
                assert (line.kind, line.author_telegram_id, line.amount, line.voided) == (
                    t.kind.value,
                    t.author,
                    Money(t.amount, CURRENCY),
                    False,
                )

    @invariant()
    def the_whole_ledger_checks_out(self) -> None:
        self.invariant_rounds += 1
        if self.invariant_rounds % CHECK_LEDGER_EVERY:
            return

        async def check() -> list[Any]:
            async with self.w.pool.acquire() as connection:
                return await check_ledger(connection)

        assert self.run(check()) == []


def test_ledger_matches_model(shared_database_url: str) -> None:
    machine = type("BoundLedgerMachine", (LedgerMachine,), {"database_url": shared_database_url})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )

    async def check() -> list[Any]:
        pool = await create_pool(shared_database_url, max_size=1)
        try:
            async with pool.acquire() as connection:
                return await check_ledger(connection)
        finally:
            await pool.close()

    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(check()) == []
    finally:
        loop.close()
