"""The arithmetic of fair shares (domain/shares.py), by hand, in kopecks."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

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


members_st = st.lists(st.integers(1, 10**12), min_size=1, max_size=5, unique=True)


@given(total=st.integers(0, 10**14), members=members_st, data=st.data())
def test_any_total_is_divided_to_the_kopeck_and_debts_even_everyone_out(
    total: int, members: list[int], data: st.DataObject
) -> None:
    shares: dict[int, int] = {}
    if len(members) == 2 and data.draw(st.booleans(), label="split"):
        mine = data.draw(st.integers(0, 100), label="percent")  # 0 % and 100 % included
        shares = {members[0]: mine, members[1]: 100 - mine}
    parts = owed_parts(total, members, shares)
    assert sum(parts.values()) == total  # no kopeck lost or made
    for member in members:
        # each part is its exact share rounded up or down, never further off
        exact = Fraction(total * shares[member], 100) if shares else Fraction(total, len(members))
        assert abs(parts[member] - exact) < 1
    paid = {m: data.draw(st.integers(0, 10**12), label=f"paid {m}") for m in members}
    handed = [
        (a, b, data.draw(st.integers(1, 10**10), label="handed"))
        for a in members
        for b in members
        if a != b and data.draw(st.booleans(), label="hands")
    ]
    balance = balances(members, paid, handed, shares)
    assert sum(balance.values()) == 0
    found = debts(members, balance)
    assert len(found) <= len(members) - 1
    after = dict(balance)
    for debt in found:
        assert debt.amount_minor > 0
        assert debt.debtor != debt.creditor
        after[debt.debtor] += debt.amount_minor
        after[debt.creditor] -= debt.amount_minor
    assert set(after.values()) == {0}  # paid as shown, everyone is even
