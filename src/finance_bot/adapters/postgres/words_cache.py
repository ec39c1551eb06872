"""The words of the households this process served last, kept by the version the database
gives them (migration 0016, docs/adr/0028).

Every statement that writes a household's accounts, aliases or budgets gives it a new
version, drawn from a sequence: a version is never given twice, so words kept under the
version the database shows now are the words it would send. A read passes the version it
holds; the database sends the words only when its own differs.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TypeVar

from finance_bot.domain.accounts import Account
from finance_bot.domain.commands import Vocabulary
from finance_bot.ports.records import Budget, Member, Words

_K = TypeVar("_K")
_V = TypeVar("_V")


@dataclass(frozen=True, slots=True)
class HouseholdWords:
    """A household's part of `Words`, shared by every line read against it: never mutated."""

    household_id: int
    version: int
    accounts: list[Account]
    aliases: dict[str, list[int]]
    budgets: tuple[Budget, ...]
    derived: dict[int, Vocabulary] = field(default_factory=dict)  # see Words.derived

    def of(self, member: Member) -> Words:
        return Words(member, self.accounts, self.aliases, self.budgets, self.derived)


class WordsCache:
    """Least recently used first out; a household's words are a few kilobytes."""

    def __init__(self, households: int = 512) -> None:
        self._capacity = households
        self._households: OrderedDict[int, HouseholdWords] = OrderedDict()
        self._people: OrderedDict[int, int] = OrderedDict()  # Telegram id -> household
        self.hits = 0
        self.misses = 0

    def held_for(self, telegram_id: int) -> HouseholdWords | None:
        """The words, as held now, of the household this person was last read in."""
        household_id = self._people.get(telegram_id)
        return None if household_id is None else self._households.get(household_id)

    def used(self, telegram_id: int, words: HouseholdWords, *, hit: bool) -> None:
        """These words were read for this person just now (`hit`: the database confirmed
        the ones held instead of sending them)."""
        if hit:
            self.hits += 1
        else:
            self.misses += 1
        household_id = words.household_id
        self._remember(self._people, telegram_id, household_id, 2 * self._capacity)
        held = self._households.get(household_id)
        # Another line may have brought a newer version meanwhile: versions only grow.
        if held is None or held.version <= words.version:
            self._remember(self._households, household_id, words, self._capacity)

    @staticmethod
    def _remember(entries: OrderedDict[_K, _V], key: _K, value: _V, capacity: int) -> None:
        entries[key] = value
        entries.move_to_end(key)
        while len(entries) > capacity:
            entries.popitem(last=False)
