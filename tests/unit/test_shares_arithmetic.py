"""The arithmetic of fair shares (domain/shares.py), by hand, in kopecks."""

from __future__ import annotations

from finance_bot.domain.shares import Debt, balances, debts, effective_shares, owed_parts

A, B, C = 1, 2, 3


def test_an_odd_kopeck_goes_to_one_member_and_the_parts_sum_to_the_total() -> None:
    assert owed_parts(10_000, [A, B, C], {}) == {A: 3_334, B: 3_333, C: 3_333}
    assert owed_parts(101, [A, B], {A: 60, B: 40}) == {A: 61, B: 40}  # 60.6 and 40.4
    assert owed_parts(0, [A, B], {}) == {A: 0, B: 0}


def test_shares_count_only_when_every_member_has_one_and_they_make_100() -> None:
    assert effective_shares([A, B], {A: 60, B: 40}) == {A: 60, B: 40}
    assert effective_shares([A, B, C], {A: 60, B: 40}) == {}
    assert effective_shares([A, B], {A: 60, B: 30}) == {}


def test_three_members_even_out_with_two_payments() -> None:
    balance = balances([A, B, C], {A: 90_000, C: 30_000}, [], {})
    assert balance == {A: 50_000, B: -40_000, C: -10_000}
    assert debts([A, B, C], balance) == [Debt(B, A, 40_000), Debt(C, A, 10_000)]


def test_a_transfer_between_people_moves_the_balance() -> None:
    balance = balances([A, B], {A: 60_000, B: 20_000}, [(B, A, 20_000)], {})
    assert balance == {A: 0, B: 0}
    assert debts([A, B], balance) == []


def test_a_payer_who_left_still_counts_in_the_total() -> None:
    assert balances([A, B], {A: 10_000, C: 10_000}, [], {}) == {A: 0, B: -10_000}
