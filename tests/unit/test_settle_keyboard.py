"""The Settle up buttons: their payload names the debt and the books' state, and fits."""

from __future__ import annotations

from finance_bot.adapters.telegram.i18n import Catalog
from finance_bot.adapters.telegram.keyboards import SettleButton, settle_keyboard

T = Catalog.load().translator("en")


def test_one_debt_one_plain_button_that_unpacks_to_the_debt() -> None:
    keyboard = settle_keyboard(12, [(1002, 1001, 30_000, "B → A: ₴300.00")], T)
    (row,) = keyboard.inline_keyboard
    (button,) = row
    assert button.text == "Settle up"
    assert button.callback_data is not None
    unpacked = SettleButton.unpack(button.callback_data)
    assert (unpacked.last, unpacked.debtor, unpacked.creditor, unpacked.amount) == (
        12,
        1002,
        1001,
        30_000,
    )


def test_several_debts_name_their_line_and_an_oversized_payload_gets_no_button() -> None:
    huge = 9_000_000_000_000_000_000
    keyboard = settle_keyboard(
        7,
        [
            (2, 1, 100, "B → A: ₴1.00"),
            (3, 1, 200, "C → A: ₴2.00"),
        ],
        T,
    )
    assert [row[0].text for row in keyboard.inline_keyboard] == [
        "Settle up: B → A: ₴1.00",
        "Settle up: C → A: ₴2.00",
    ]
    assert settle_keyboard(huge, [(huge, huge, huge, "?")], T).inline_keyboard == []
