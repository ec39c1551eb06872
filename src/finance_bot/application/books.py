"""One member's books, for the length of one update: every use case as a method.

The front door binds who is asking, the update's idempotency key and the dependencies
once, so a handler says what it wants (`await books.undo_last()`) and nothing about
how it is wired. Each ledger write is remembered (`writes`) for whoever counts them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from finance_bot.application import (
    budgets,
    corrections,
    digests,
    directory,
    household,
    rates,
    recording,
    reports,
    shares,
)
from finance_bot.application.budgets import BudgetLine
from finance_bot.application.directory import AccountsView, CategoryView
from finance_bot.application.rates import RatesView
from finance_bot.application.reports import (
    BalanceView,
    PeriodReport,
    SpendingChart,
)
from finance_bot.application.results import (
    Done,
    Recorded,
    RecordedAll,
    Refiled,
    TransactionView,
    Voided,
)
from finance_bot.application.shares import Settled, SharesView
from finance_bot.domain.accounts import Account, AccountType
from finance_bot.domain.commands import RecordCommand, RecordExpense, RecordIncome, Vocabulary
from finance_bot.domain.digests import DigestSchedule
from finance_bot.domain.money import Money
from finance_bot.domain.periods import PeriodKind
from finance_bot.ports.clock import IdSource
from finance_bot.ports.records import Member, TransactionLine, Words
from finance_bot.ports.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True)
class Write:
    """A ledger write an update made: "expense", "income", "transfer" or "reversal"."""

    kind: str
    replayed: bool  # an earlier delivery of the same update made it; nothing new was written


@dataclass
class Books:
    telegram_id: int
    idempotency_key: str
    uow_factory: UnitOfWorkFactory
    ids: IdSource
    currency: str  # the household's: amounts are read and reported in it
    writes: list[Write] = field(default_factory=list)
    # The words the update's line is read against, once read (with the membership, or by
    # `vocabulary`): recording that line needs nothing more read (docs/adr/0027). Each
    # use takes them: a second line, or a word learned meanwhile, reads the books again.
    words_in_hand: Words | None = field(default=None, repr=False)

    # Writes to the ledger: each is remembered in `writes`.

    async def record(
        self, command: RecordCommand, *, idempotency_key: str | None = None
    ) -> Recorded:
        """Record one entry; `idempotency_key` replaces the update's (a forward's button)."""
        words, self.words_in_hand = self.words_in_hand, None
        recorded = await recording.record(
            command,
            author_telegram_id=self.telegram_id,
            idempotency_key=idempotency_key or self.idempotency_key,
            uow_factory=self.uow_factory,
            ids=self.ids,
            words=words,
        )
        self.writes.append(Write(kind_of(command), recorded.replayed))
        return recorded

    async def record_all(self, commands: list[RecordCommand]) -> RecordedAll:
        recorded = await recording.record_all(
            commands,
            author_telegram_id=self.telegram_id,
            idempotency_key=self.idempotency_key,
            uow_factory=self.uow_factory,
            ids=self.ids,
        )
        self.writes.extend(Write(kind_of(c), recorded.replayed) for c in commands)
        return recorded

    async def undo_last(self) -> Voided:
        voided = await corrections.undo_last(
            author_telegram_id=self.telegram_id,
            idempotency_key=self.idempotency_key,
            uow_factory=self.uow_factory,
            ids=self.ids,
        )
        self.writes.append(Write("reversal", voided.replayed))
        return voided

    async def void(self, number: int) -> Voided:
        voided = await corrections.void(
            number,
            author_telegram_id=self.telegram_id,
            idempotency_key=self.idempotency_key,
            uow_factory=self.uow_factory,
            ids=self.ids,
        )
        self.writes.append(Write("reversal", voided.replayed))
        return voided

    async def refile(self, number: int, category_id: int) -> Refiled:
        refiled = await corrections.refile(
            number,
            category_id,
            author_telegram_id=self.telegram_id,
            idempotency_key=self.idempotency_key,
            uow_factory=self.uow_factory,
            ids=self.ids,
        )
        if refiled.moved:
            # A move is a reversal and a new entry; a replay counts once, as a duplicate.
            self.writes.append(Write("reversal", refiled.replayed))
            if not refiled.replayed:
                self.writes.append(Write(refiled.kind, False))
        return refiled

    async def settle(
        self, *, last_number: int, debtor: int, creditor: int, amount_minor: int, today: date
    ) -> Settled:
        """The Settle up button: a press repeated (or of another button shown for the same
        books) records the settlement once; its keys are the button's, not the update's."""
        settled = await shares.settle(
            self.telegram_id,
            last_number=last_number,
            debtor=debtor,
            creditor=creditor,
            amount_minor=amount_minor,
            today=today,
            uow_factory=self.uow_factory,
            ids=self.ids,
        )
        self.writes.append(Write("transfer", settled.recorded.replayed))
        return settled

    # Reads, and changes to the directory, budgets and settings (not ledger writes).

    async def shares(self) -> SharesView:
        return await shares.shares_view(self.telegram_id, uow_factory=self.uow_factory)

    async def mark_personal(self, category_name: str, *, personal: bool) -> Account:
        """`/personal <category>` (or `/shared`): the expense category, as found."""
        category = await self.find_category(category_name, AccountType.EXPENSE)
        await shares.mark_personal(
            self.telegram_id, category, personal, uow_factory=self.uow_factory
        )
        return category

    async def set_split(self, percent: int) -> int:
        """`/split 60`: returns the other member's telegram id."""
        return await shares.set_split(self.telegram_id, percent, uow_factory=self.uow_factory)

    async def vocabulary(self) -> Vocabulary:
        if self.words_in_hand is None:
            self.words_in_hand = await household.words(
                self.telegram_id, uow_factory=self.uow_factory
            )
        return household.vocabulary_of(self.words_in_hand)

    async def members(self) -> list[Member]:
        return await household.household_members(self.telegram_id, uow_factory=self.uow_factory)

    async def members_alerted(self, key: str) -> set[int]:
        return await budgets.members_alerted(key, uow_factory=self.uow_factory)

    async def remember_alerted(self, key: str, telegram_id: int) -> None:
        await budgets.remember_alerted(key, telegram_id, uow_factory=self.uow_factory)

    async def transaction_view(self, transaction_id: UUID) -> TransactionView:
        return await reports.transaction_view(
            self.telegram_id, transaction_id, uow_factory=self.uow_factory
        )

    async def refile_choices(self, number: int) -> list[Account]:
        return await corrections.refile_choices(
            number, author_telegram_id=self.telegram_id, uow_factory=self.uow_factory
        )

    async def accounts(self) -> AccountsView:
        return await directory.list_accounts(self.telegram_id, uow_factory=self.uow_factory)

    async def categories(self) -> list[CategoryView]:
        return await directory.list_categories(self.telegram_id, uow_factory=self.uow_factory)

    async def add_account(self, name: str, *, shared: bool, currency: str | None = None) -> Account:
        """An account in `currency`, or in the household's when none is said."""
        return await directory.add_account(
            self.telegram_id,
            name,
            shared=shared,
            currency=currency,
            uow_factory=self.uow_factory,
        )

    async def set_rate(self, currency: str, rate: Decimal, *, today: date) -> Done:
        """`/rate USD 41.50`, from `today` on; an update delivered again sets it once."""
        return await rates.set_rate(
            self.telegram_id,
            currency,
            rate,
            today=today,
            idempotency_key=self.idempotency_key,
            uow_factory=self.uow_factory,
        )

    async def rates(self) -> RatesView:
        return await rates.list_rates(self.telegram_id, uow_factory=self.uow_factory)

    async def set_default_account(self, name: str) -> Account:
        return await directory.set_default_account(
            self.telegram_id, name, uow_factory=self.uow_factory
        )

    async def archive_account(self, name: str) -> Account:
        return await directory.archive_account(self.telegram_id, name, uow_factory=self.uow_factory)

    async def add_category(self, name: str, aliases: list[str], *, kind: AccountType) -> Account:
        return await directory.add_category(
            self.telegram_id,
            name,
            aliases,
            kind=kind,
            currency=self.currency,
            uow_factory=self.uow_factory,
        )

    async def add_aliases(self, category_name: str, aliases: list[str]) -> Account:
        return await directory.add_aliases(
            self.telegram_id, category_name, aliases, uow_factory=self.uow_factory
        )

    async def remove_alias(self, alias: str) -> bool:
        return await directory.remove_alias(self.telegram_id, alias, uow_factory=self.uow_factory)

    async def find_category(self, name: str, kind: AccountType) -> Account:
        return await directory.find_category(
            self.telegram_id, name, kind, uow_factory=self.uow_factory
        )

    async def set_language(self, language: str) -> None:
        await directory.set_language(self.telegram_id, language, uow_factory=self.uow_factory)

    async def period_report(
        self, kind: PeriodKind, day: date, *, only_me: bool, today: date
    ) -> PeriodReport:
        return await reports.period_report(
            self.telegram_id,
            kind,
            day,
            only_me=only_me,
            today=today,
            currency=self.currency,
            uow_factory=self.uow_factory,
        )

    async def spending_chart(
        self, kind: PeriodKind, day: date, *, only_me: bool, today: date
    ) -> SpendingChart:
        return await reports.spending_chart(
            self.telegram_id,
            kind,
            day,
            only_me=only_me,
            today=today,
            currency=self.currency,
            uow_factory=self.uow_factory,
        )

    async def last_transactions(
        self, limit: int, *, only_me: bool
    ) -> tuple[list[TransactionLine], dict[int, Account]]:
        return await reports.last_transactions(
            self.telegram_id, limit, only_me=only_me, uow_factory=self.uow_factory
        )

    async def balances(self) -> BalanceView:
        return await reports.balances(
            self.telegram_id, currency=self.currency, uow_factory=self.uow_factory
        )

    async def budget_progress(self, month: date, *, today: date) -> list[BudgetLine]:
        return await budgets.budget_progress(
            self.telegram_id, month, today=today, uow_factory=self.uow_factory
        )

    async def set_budget(self, category_id: int | None, limit: Money) -> None:
        await budgets.set_budget(self.telegram_id, category_id, limit, uow_factory=self.uow_factory)

    async def remove_budget(self, category_id: int | None) -> bool:
        return await budgets.remove_budget(
            self.telegram_id, category_id, uow_factory=self.uow_factory
        )

    async def set_digest(self, schedule: DigestSchedule | None, *, now: datetime) -> bool:
        """Set the digest, or switch it off (None): False if it was off already."""
        return await digests.set_digest(
            self.telegram_id, schedule, now=now, uow_factory=self.uow_factory
        )

    async def digest_setting(self) -> DigestSchedule | None:
        return await digests.digest_setting(self.telegram_id, uow_factory=self.uow_factory)


def kind_of(command: RecordCommand) -> str:
    """The ledger write a command makes, as the metrics name it."""
    if isinstance(command, RecordExpense):
        return "expense"
    return "income" if isinstance(command, RecordIncome) else "transfer"
