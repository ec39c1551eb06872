"""Transactions and postings on their own: a transaction is valid by construction or not at
all, and each refusal names the rule it would break."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from uuid import UUID

import pytest

from finance_bot.domain.errors import (
    AmountMustBePositive,
    ConversionDoesNotFit,
    PostingsMustBalance,
    SingleCurrencyPerTransaction,
    TransactionNeedsTwoPostings,
)
from finance_bot.domain.money import Money
from finance_bot.domain.transactions import (
    Conversion,
    Direction,
    Posting,
    Transaction,
    TransactionKind,
    expense,
    income,
    transfer,
)
from tests.support.household import uah

DAY = date(2024, 5, 10)
ORIGINAL = UUID(int=1)
REVERSAL = UUID(int=2)
CARD, CASH, COFFEE, SALARY = 10, 11, 20, 30


DOLLARS, TRADING_UAH, TRADING_USD = 12, 40, 41
COFFEE_IN_DOLLARS = Conversion(Money(2_000, "USD"), Money(83_000, "UAH"), Decimal("41.50"))


def usd(minor: int) -> Money:
    return Money(minor, "USD")


def converted(conversion: Conversion, *, from_dollars: bool) -> Transaction:
    """Coffee bought at a foreign price: from the dollar account, or from the card."""
    return expense(
        id=ORIGINAL,
        household_id=1,
        author_telegram_id=7,
        booked_on=DAY,
        amount=conversion.target,
        account_id=DOLLARS if from_dollars else CARD,
        category_id=COFFEE,
        paid=conversion.source if from_dollars else None,
        conversion=conversion,
        conversion_accounts={"UAH": TRADING_UAH, "USD": TRADING_USD, "EUR": 42},
    )


def debit(account_id: int, amount: Money) -> Posting:
    return Posting(account_id, Direction.DEBIT, amount)


def credit(account_id: int, amount: Money) -> Posting:
    return Posting(account_id, Direction.CREDIT, amount)


def transaction(
    *postings: Posting, kind: TransactionKind = TransactionKind.EXPENSE, voids: UUID | None = None
) -> Transaction:
    return Transaction(
        id=ORIGINAL,
        household_id=1,
        author_telegram_id=7,
        kind=kind,
        booked_on=DAY,
        postings=postings,
        voids_transaction_id=voids,
    )


def test_directions_have_a_sign_and_an_opposite() -> None:
    assert (Direction.DEBIT.sign, Direction.CREDIT.sign) == (1, -1)
    assert Direction.DEBIT.opposite is Direction.CREDIT
    assert Direction.CREDIT.opposite is Direction.DEBIT


def test_posting_signed_minor_and_reversed() -> None:
    leg = credit(CARD, uah(250))
    assert leg.signed_minor == -25000
    assert debit(CARD, uah(250)).signed_minor == 25000
    assert leg.reversed() == debit(CARD, uah(250))
    assert leg.reversed().reversed() == leg


def test_a_posting_of_zero_or_less_is_refused_by_name() -> None:
    for amount in (uah(0), uah(-1)):
        with pytest.raises(AmountMustBePositive):
            debit(CARD, amount)


def test_a_transaction_with_fewer_than_two_postings_is_refused_by_name() -> None:
    with pytest.raises(TransactionNeedsTwoPostings):
        transaction()
    with pytest.raises(TransactionNeedsTwoPostings):
        transaction(debit(COFFEE, uah(100)))


def test_postings_that_do_not_balance_are_refused_by_name() -> None:
    with pytest.raises(PostingsMustBalance):
        transaction(debit(COFFEE, uah(100)), credit(CARD, uah(99)))
    with pytest.raises(PostingsMustBalance):
        transaction(debit(COFFEE, uah(100)), debit(CARD, uah(100)))
    with pytest.raises(PostingsMustBalance):
        transaction(debit(COFFEE, uah(100)), credit(CARD, uah(60)), credit(CASH, uah(30)))


def test_legs_that_balance_only_across_currencies_are_refused_by_name() -> None:
    with pytest.raises(PostingsMustBalance):
        transaction(debit(COFFEE, uah(100)), credit(CARD, Money(100, "USD")))


def test_two_currencies_without_a_conversion_are_refused_by_name() -> None:
    with pytest.raises(SingleCurrencyPerTransaction):
        transaction(
            debit(COFFEE, uah(100)),
            credit(CASH, uah(100)),
            debit(TRADING_USD, usd(5)),
            credit(DOLLARS, usd(5)),
        )


def test_a_conversion_between_other_currencies_than_the_legs_is_refused_by_name() -> None:
    euros = Conversion.at_rate(Money(2_000, "EUR"), Decimal("45"), "UAH")
    dollar_legs = converted(COFFEE_IN_DOLLARS, from_dollars=True)
    with pytest.raises(ConversionDoesNotFit):
        replace(dollar_legs, conversion=euros)
    card_legs = converted(COFFEE_IN_DOLLARS, from_dollars=False)  # in UAH only
    with pytest.raises(ConversionDoesNotFit):
        replace(card_legs, conversion=Conversion.at_rate(usd(100), Decimal("0.9"), "EUR"))


def test_a_conversion_rounds_half_to_even_and_keeps_its_rate() -> None:
    # 0.01 USD at 41.50 is 0.415 UAH: half to even gives 0.42; 0.03 USD is 1.245 -> 1.24
    assert Conversion.at_rate(usd(1), Decimal("41.50"), "UAH").target == Money(42, "UAH")
    assert Conversion.at_rate(usd(3), Decimal("41.50"), "UAH").target == Money(124, "UAH")
    yen = Conversion.at_rate(usd(1_000), Decimal("150.456"), "JPY")
    assert yen.target == Money(1_505, "JPY")  # 0 decimals


def test_a_conversion_between_two_amounts_finds_its_rate() -> None:
    exchange = Conversion.between(usd(10_000), Money(415_000, "UAH"))
    assert exchange.rate == Decimal("41.5")
    back = Conversion.between(Money(415_000, "UAH"), usd(10_000))
    assert Conversion.at_rate(Money(415_000, "UAH"), back.rate, "USD").target == usd(10_000)


@pytest.mark.parametrize(
    ("source", "target", "rate"),
    [
        pytest.param(usd(2_000), Money(83_000, "UAH"), Decimal("41.6"), id="rate_does_not_fit"),
        pytest.param(usd(2_000), usd(2_000), Decimal("1"), id="same_currency"),
        pytest.param(usd(2_000), Money(83_000, "UAH"), Decimal("0"), id="zero_rate"),
        pytest.param(usd(2_000), Money(83_000, "UAH"), Decimal("NaN"), id="not_a_number"),
    ],
)
def test_a_conversion_that_does_not_fit_is_refused_by_name(
    source: Money, target: Money, rate: Decimal
) -> None:
    with pytest.raises(ConversionDoesNotFit):
        Conversion(source, target, rate)


def test_a_converted_expense_passes_through_the_conversion_accounts() -> None:
    spent = converted(COFFEE_IN_DOLLARS, from_dollars=True)
    assert {(p.account_id, p.signed_minor, p.amount.currency) for p in spent.postings} == {
        (COFFEE, 83_000, "UAH"),
        (TRADING_UAH, -83_000, "UAH"),
        (TRADING_USD, 2_000, "USD"),
        (DOLLARS, -2_000, "USD"),
    }
    assert spent.amount == Money(83_000, "UAH")  # what it came to, in the base currency
    from_card = converted(COFFEE_IN_DOLLARS, from_dollars=False)
    assert len(from_card.postings) == 2
    assert from_card.amount == Money(83_000, "UAH")


def test_a_reversal_carries_the_conversion() -> None:
    spent = converted(COFFEE_IN_DOLLARS, from_dollars=True)
    reversal = spent.reversal(reversal_id=REVERSAL, author_telegram_id=7, booked_on=DAY)
    assert reversal.conversion == spent.conversion
    assert sorted(p.signed_minor for p in reversal.postings) == sorted(
        -p.signed_minor for p in spent.postings
    )


def test_money_changing_currency_needs_the_conversion_accounts() -> None:
    with pytest.raises(ConversionDoesNotFit):
        transfer(
            id=ORIGINAL,
            household_id=1,
            author_telegram_id=7,
            booked_on=DAY,
            amount=usd(100),
            received=Money(4_150, "UAH"),
            from_account_id=DOLLARS,
            to_account_id=CARD,
        )


def test_a_balanced_split_of_three_postings_is_accepted() -> None:
    split = transaction(debit(COFFEE, uah(100)), credit(CARD, uah(60)), credit(CASH, uah(40)))
    assert split.amount == uah(100)
    assert sum(p.signed_minor for p in split.postings) == 0


def test_only_a_reversal_names_the_transaction_it_voids() -> None:
    with pytest.raises(ValueError, match="only a reversal"):
        transaction(debit(COFFEE, uah(1)), credit(CARD, uah(1)), voids=REVERSAL)
    with pytest.raises(ValueError, match="only a reversal"):
        transaction(debit(COFFEE, uah(1)), credit(CARD, uah(1)), kind=TransactionKind.REVERSAL)


def test_amount_is_the_sum_of_the_debit_legs() -> None:
    split = transaction(debit(COFFEE, uah(70)), debit(SALARY, uah(30)), credit(CARD, uah(100)))
    assert split.amount == uah(100)


def test_expense_moves_money_from_the_account_into_the_category() -> None:
    spent = expense(
        id=ORIGINAL,
        household_id=1,
        author_telegram_id=7,
        booked_on=DAY,
        amount=uah(120),
        account_id=CARD,
        category_id=COFFEE,
        note="latte",
        tags=("morning",),
    )
    assert spent.kind is TransactionKind.EXPENSE
    assert spent.postings == (debit(COFFEE, uah(120)), credit(CARD, uah(120)))
    assert (spent.amount, spent.note, spent.tags) == (uah(120), "latte", ("morning",))
    assert spent.number is None
    assert not spent.is_voided


def test_income_moves_money_from_the_category_into_the_account() -> None:
    earned = income(
        id=ORIGINAL,
        household_id=1,
        author_telegram_id=7,
        booked_on=DAY,
        amount=uah(5000),
        account_id=CARD,
        category_id=SALARY,
    )
    assert earned.kind is TransactionKind.INCOME
    assert earned.postings == (debit(CARD, uah(5000)), credit(SALARY, uah(5000)))


def test_transfer_moves_money_between_two_accounts() -> None:
    moved = transfer(
        id=ORIGINAL,
        household_id=1,
        author_telegram_id=7,
        booked_on=DAY,
        amount=uah(300),
        from_account_id=CARD,
        to_account_id=CASH,
    )
    assert moved.kind is TransactionKind.TRANSFER
    assert moved.postings == (debit(CASH, uah(300)), credit(CARD, uah(300)))


def test_reversal_mirrors_every_posting_and_names_the_original() -> None:
    spent = expense(
        id=ORIGINAL,
        household_id=1,
        author_telegram_id=7,
        booked_on=DAY,
        amount=uah(120),
        account_id=CARD,
        category_id=COFFEE,
        note="latte",
        tags=("morning",),
    )
    later = date(2024, 5, 11)
    undone = spent.reversal(reversal_id=REVERSAL, author_telegram_id=8, booked_on=later)
    assert undone.kind is TransactionKind.REVERSAL
    assert (undone.id, undone.voids_transaction_id) == (REVERSAL, ORIGINAL)
    assert (undone.author_telegram_id, undone.booked_on) == (8, later)
    assert (undone.household_id, undone.note, undone.tags) == (1, "latte", ("morning",))
    assert undone.postings == (credit(COFFEE, uah(120)), debit(CARD, uah(120)))
    net = dict.fromkeys((CARD, COFFEE), 0)
    for leg in spent.postings + undone.postings:
        net[leg.account_id] += leg.signed_minor
    assert net == {CARD: 0, COFFEE: 0}


def test_the_voiding_link_does_not_change_equality() -> None:
    spent = transaction(debit(COFFEE, uah(1)), credit(CARD, uah(1)))
    voided = Transaction(
        id=spent.id,
        household_id=1,
        author_telegram_id=7,
        kind=spent.kind,
        booked_on=DAY,
        postings=spent.postings,
        voided_by_transaction_id=REVERSAL,
    )
    assert voided.is_voided
    assert not spent.is_voided
    assert voided == spent
