"""What use cases answer. Write results round-trip through JSON: an idempotency key keeps
the first answer, and a replay of the key returns it unchanged."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from finance_bot.domain.accounts import Account
from finance_bot.domain.money import Money
from finance_bot.domain.transactions import Transaction


def _money_to_json(money: Money) -> list[Any]:
    return [money.amount_minor, money.currency]


def _money_from_json(value: list[Any]) -> Money:
    return Money(int(value[0]), str(value[1]))


@dataclass(frozen=True, slots=True)
class BudgetAlert:
    category_id: int | None  # None: the total budget
    threshold_pct: int
    spent: Money
    limit: Money
    month: date | None = None  # the first day of the budget's month; None in older results

    def to_json(self) -> dict[str, Any]:
        return {
            "category_id": self.category_id,
            "threshold_pct": self.threshold_pct,
            "spent": _money_to_json(self.spent),
            "limit": _money_to_json(self.limit),
            "month": self.month.isoformat() if self.month is not None else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BudgetAlert:
        return cls(
            category_id=data["category_id"],
            threshold_pct=int(data["threshold_pct"]),
            spent=_money_from_json(data["spent"]),
            limit=_money_from_json(data["limit"]),
            month=date.fromisoformat(data["month"]) if data.get("month") else None,
        )


@dataclass(frozen=True, slots=True)
class TransactionView:
    transaction: Transaction
    accounts: dict[int, Account]  # the accounts and categories it touches


@dataclass(frozen=True, slots=True)
class Recorded:
    transaction_id: UUID
    number: int
    alerts: tuple[BudgetAlert, ...] = ()
    replayed: bool = False  # True when an idempotency key returned an earlier result
    # The entry as stored, when everything it touches was in hand: its confirmation needs
    # no read then. Never kept under an idempotency key (a replay reads the books).
    view: TransactionView | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "recorded",
            "transaction_id": str(self.transaction_id),
            "number": self.number,
            "alerts": [alert.to_json() for alert in self.alerts],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Recorded:
        return cls(
            transaction_id=UUID(data["transaction_id"]),
            number=int(data["number"]),
            alerts=tuple(BudgetAlert.from_json(a) for a in data["alerts"]),
            replayed=True,
        )


@dataclass(frozen=True, slots=True)
class RecordedAll:
    """The entries of a message of several lines, in line order."""

    entries: tuple[Recorded, ...]
    replayed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"kind": "recorded_all", "entries": [entry.to_json() for entry in self.entries]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RecordedAll:
        return cls(tuple(Recorded.from_json(entry) for entry in data["entries"]), replayed=True)


@dataclass(frozen=True, slots=True)
class Voided:
    number: int
    reversal_number: int
    replayed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"kind": "voided", "number": self.number, "reversal_number": self.reversal_number}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Voided:
        return cls(int(data["number"]), int(data["reversal_number"]), replayed=True)


@dataclass(frozen=True, slots=True)
class Refiled:
    voided_number: int
    recorded: Recorded
    learned_alias: str | None
    kind: str  # of the moved transaction: "expense" or "income"
    replayed: bool = False
    moved: bool = True  # False: it was in that category already, nothing was written

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "refiled",
            "voided_number": self.voided_number,
            "recorded": self.recorded.to_json(),
            "learned_alias": self.learned_alias,
            "transaction_kind": self.kind,
            "moved": self.moved,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Refiled:
        return cls(
            voided_number=int(data["voided_number"]),
            recorded=Recorded.from_json(data["recorded"]),
            learned_alias=data["learned_alias"],
            kind=data["transaction_kind"],
            replayed=True,
            moved=bool(data.get("moved", True)),  # results kept before the field existed
        )


@dataclass(frozen=True, slots=True)
class Done:
    """A write with nothing to report but that it happened (settings, aliases)."""

    replayed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"kind": "done"}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Done:
        return cls(replayed=True)
