"""A rule keeps the line as parsed; the entry of each date is that line on that date."""

from __future__ import annotations

from datetime import date

import pytest

from finance_bot.application.recurring import decode_entry, encode_entry
from finance_bot.domain.commands import RecordCommand, RecordExpense, RecordIncome, RecordTransfer
from finance_bot.domain.money import Money

MADE, DUE = date(2026, 12, 2), date(2027, 1, 31)


@pytest.mark.parametrize(
    "command",
    [
        RecordExpense(Money(1_200_000, "UAH"), 7, None, MADE),
        RecordExpense(Money(2000, "USD"), None, 3, MADE, note="аренда гараж", tags=("дом",)),
        RecordIncome(Money(3_000_000, "UAH"), 9, 2, MADE, tags=("работа", "зп")),
        RecordTransfer(Money(50_000, "UAH"), 1, 2, MADE, note="копилка"),
        RecordTransfer(Money(10_000, "USD"), 4, 1, MADE, received=Money(415_000, "UAH")),
        RecordExpense(Money(500, "JPY"), 5, None, MADE),
    ],
)
def test_an_entry_survives_storage_and_takes_the_due_date(command: RecordCommand) -> None:
    stored = encode_entry(command)
    assert stored == encode_entry(decode_entry(stored, MADE))  # plain JSON, nothing lost
    again = decode_entry(stored, DUE)
    assert again.booked_on == DUE
    assert type(again) is type(command)
    assert again.amount == command.amount
    assert (again.note, again.tags) == (command.note, command.tags)
    if isinstance(command, RecordTransfer):
        assert isinstance(again, RecordTransfer)
        assert (again.from_account_id, again.to_account_id, again.received) == (
            command.from_account_id,
            command.to_account_id,
            command.received,
        )
    else:
        assert isinstance(again, RecordExpense | RecordIncome)
        assert (again.category_id, again.account_id) == (command.category_id, command.account_id)
