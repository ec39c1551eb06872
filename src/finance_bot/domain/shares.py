"""Fair shares between partners (docs/product.md §12): who owes whom, from what each paid.

Pure arithmetic in minor units of the base currency. A person's balance is what they paid
for everyone, plus what they handed to others, minus their share of everything paid for
everyone, minus what others handed to them: positive, the others owe them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Tags that make one line personal, as the parser keeps them (case-folded, without "#").
PERSONAL_TAGS = ("personal", "лично")


@dataclass(frozen=True, slots=True)
class Debt:
    debtor: int  # telegram ids
    creditor: int
    amount_minor: int


def effective_shares(members: Sequence[int], shares: Mapping[int, int]) -> dict[int, int]:
    """The shares in percent that count: the ones set, when every member has one and they
    sum to 100; equal shares otherwise (so a member who joins later makes them equal)."""
    if members and all(m in shares for m in members) and sum(shares[m] for m in members) == 100:
        return {m: shares[m] for m in members}
    return {}


def owed_parts(
    total_minor: int, members: Sequence[int], shares: Mapping[int, int]
) -> dict[int, int]:
    """`total_minor` split by the shares (equal when `shares` is empty), to the minor unit:
    the remainder goes a unit at a time to the largest fractions, then by member order, so
    the parts always sum to the total."""
    if not members:
        return {}
    weights = {m: shares[m] for m in members} if shares else dict.fromkeys(members, 1)
    whole = sum(weights.values())
    parts = {m: total_minor * weights[m] // whole for m in members}
    fractions = sorted(
        members, key=lambda m: (-(total_minor * weights[m] % whole), members.index(m))
    )
    for m in fractions[: total_minor - sum(parts.values())]:
        parts[m] += 1
    return parts


def balances(
    members: Sequence[int],
    paid: Mapping[int, int],
    handed: Sequence[tuple[int, int, int]],
    shares: Mapping[int, int],
) -> dict[int, int]:
    """Each member's balance; `handed` is (from, to, amount) between people's accounts.
    Payers who are no longer members count in the total but are not in the result."""
    total = sum(paid.values())
    owed = owed_parts(total, members, shares)
    result = {m: paid.get(m, 0) - owed.get(m, 0) for m in members}
    for source, target, amount in handed:
        if source in result:
            result[source] += amount
        if target in result:
            result[target] -= amount
    return result


def debts(members: Sequence[int], balance: Mapping[int, int]) -> list[Debt]:
    """Who pays whom to even everyone out, largest debts first, at most n-1 lines."""
    debtors = sorted((m for m in members if balance.get(m, 0) < 0), key=lambda m: balance[m])
    creditors = sorted((m for m in members if balance.get(m, 0) > 0), key=lambda m: -balance[m])
    owes = {m: -balance[m] for m in debtors}
    due = {m: balance[m] for m in creditors}
    found: list[Debt] = []
    for debtor in debtors:
        for creditor in creditors:
            amount = min(owes[debtor], due[creditor])
            if amount > 0:
                found.append(Debt(debtor, creditor, amount))
                owes[debtor] -= amount
                due[creditor] -= amount
    return found
