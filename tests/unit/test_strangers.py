"""The stranger gate: one denial per id per window, a global cap, bounded memory."""

from __future__ import annotations

from finance_bot.adapters.telegram.strangers import StrangerGate


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_stranger_is_answered_and_logged_once_per_window() -> None:
    clock = Clock()
    gate = StrangerGate(window_seconds=3600, clock=clock)
    first = gate.admit(7, can_reply=True)
    assert (first.first_in_window, first.reply) == (True, True)
    for _ in range(100):
        again = gate.admit(7, can_reply=True)
        assert (again.first_in_window, again.reply) == (False, False)
    clock.now += 3601
    later = gate.admit(7, can_reply=True)
    assert (later.first_in_window, later.reply) == (True, True)


def test_a_reply_telegram_refused_may_be_given_by_a_later_attempt() -> None:
    gate = StrangerGate(clock=Clock())
    assert gate.admit(7, can_reply=True).reply
    gate.unanswered(7)
    retry = gate.admit(7, can_reply=True)
    assert (retry.first_in_window, retry.reply) == (False, True)
    assert not gate.admit(7, can_reply=True).reply


def test_an_update_that_cannot_be_answered_still_logs_once() -> None:
    gate = StrangerGate(clock=Clock())
    edited = gate.admit(7, can_reply=False)
    assert (edited.first_in_window, edited.reply) == (True, False)
    assert gate.admit(7, can_reply=True).reply  # their first message is still answered


def test_many_distinct_ids_share_a_global_budget_per_minute() -> None:
    clock = Clock()
    gate = StrangerGate(replies_per_minute=5, clock=clock)
    verdicts = [gate.admit(100 + n, can_reply=True) for n in range(50)]
    assert sum(v.reply for v in verdicts) == 5
    assert all(v.first_in_window for v in verdicts)  # each id still gets its log line
    clock.now += 60.5
    assert gate.admit(100 + 10, can_reply=True).reply  # the budget came back
    assert not gate.admit(100 + 0, can_reply=True).reply  # answered before: never again


def test_memory_is_bounded_by_forgetting_the_oldest_ids() -> None:
    gate = StrangerGate(max_ids=100, replies_per_minute=10**6, clock=Clock())
    for n in range(10_000):
        gate.admit(n, can_reply=True)
    assert len(gate) == 100
    assert not gate.admit(9_999, can_reply=True).reply  # recent: remembered
    assert gate.admit(0, can_reply=True).first_in_window  # oldest: forgotten
