"""Prometheus metrics (prefix finance_bot_). No personal data in any label: types,
outcomes, method names and kinds only. The registry is made in bootstrap, never at import."""

from __future__ import annotations

import platform
import time
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from finance_bot import __version__

if TYPE_CHECKING:  # for one annotation: importing aiogram costs seconds
    from aiogram.types import Update

UPDATE_TYPES = ("message", "edited_message", "callback_query")
OUTCOMES = ("handled", "duplicate", "denied", "parse_error", "error")
LEDGER_KINDS = ("expense", "income", "transfer", "reversal")
FX_RATES_OUTCOMES = ("ok", "error")


def update_type(update: Update) -> str:
    for kind in UPDATE_TYPES:
        if getattr(update, kind) is not None:
            return kind
    return "other"


class BotMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.updates = Counter(
            "finance_bot_updates",
            "Updates handled, by type and outcome",
            ["type", "outcome"],
            registry=r,
        )
        self.handler_latency = Histogram(
            "finance_bot_handler_latency_seconds",
            "Time to handle one update",
            ["type"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.ledger_writes = Counter(
            "finance_bot_ledger_writes", "Transactions written, by kind", ["kind"], registry=r
        )
        self.ledger_voids = Counter("finance_bot_ledger_voids", "Transactions voided", registry=r)
        self.telegram_errors = Counter(
            "finance_bot_telegram_api_errors",
            "Failed Bot API requests",
            ["method", "kind"],
            registry=r,
        )
        self.updates_skipped = Counter(
            "finance_bot_updates_skipped",
            "Updates acknowledged unhandled because the bot could not decode them",
            registry=r,
        )
        self.polling_lag = Gauge(
            "finance_bot_polling_lag_seconds",
            "Age of the newest update when it was handled",
            registry=r,
        )
        self.invariant_ok = Gauge(
            "finance_bot_invariant_check_ok", "1 when every ledger invariant holds", registry=r
        )
        self.invariant_violations = Gauge(
            "finance_bot_invariant_check_violations",
            "Violations found by the last check",
            registry=r,
        )
        self.invariant_last_run = Gauge(
            "finance_bot_invariant_check_last_run_timestamp_seconds",
            "When the last invariant check finished",
            registry=r,
        )
        self.invariant_duration = Gauge(
            "finance_bot_invariant_check_duration_seconds",
            "How long the last check took",
            registry=r,
        )
        self.last_backup = Gauge(
            "finance_bot_last_backup_timestamp_seconds",
            "When the last good backup finished",
            registry=r,
        )
        self.fx_rates_fetches = Counter(
            "finance_bot_fx_rates_fetches",
            "Attempts to fetch and store the official daily rates",
            ["outcome"],
            registry=r,
        )
        self.fx_rates_last_success = Gauge(
            "finance_bot_fx_rates_last_success_timestamp_seconds",
            "When the official daily rates were last fetched and stored",
            registry=r,
        )
        build = Gauge(
            "finance_bot_build_info", "The running build", ["version", "python"], registry=r
        )
        build.labels(version=__version__, python=platform.python_version()).set(1)
        # Series exist from the start, so increase() sees the first event too.
        for kind in UPDATE_TYPES:
            for outcome in OUTCOMES:
                self.updates.labels(type=kind, outcome=outcome)
        for kind in LEDGER_KINDS:
            self.ledger_writes.labels(kind=kind)
        for outcome in FX_RATES_OUTCOMES:
            self.fx_rates_fetches.labels(outcome=outcome)

    def update_handled(self, update: Update, outcome: str, seconds: float) -> None:
        kind = update_type(update)
        self.updates.labels(type=kind, outcome=outcome).inc()
        self.handler_latency.labels(type=kind).observe(seconds)
        sent_at = _sent_at(update)
        if sent_at is not None:
            self.polling_lag.set(max(0.0, time.time() - sent_at))

    def update_skipped(self) -> None:
        self.updates_skipped.inc()

    def ledger_written(self, kind: str) -> None:
        self.ledger_writes.labels(kind=kind).inc()

    def ledger_voided(self) -> None:
        self.ledger_voids.inc()
        self.ledger_writes.labels(kind="reversal").inc()

    def telegram_failed(self, method: str, kind: str) -> None:
        self.telegram_errors.labels(method=method, kind=kind).inc()

    def fx_rates_fetched(self, *, ok: bool) -> None:
        self.fx_rates_fetches.labels(outcome="ok" if ok else "error").inc()
        if ok:
            self.fx_rates_last_success.set(time.time())

    def invariants_checked(self, violations: int, seconds: float) -> None:
        self.invariant_ok.set(1 if violations == 0 else 0)
        self.invariant_violations.set(violations)
        self.invariant_duration.set(seconds)
        self.invariant_last_run.set(time.time())


def _sent_at(update: Update) -> float | None:
    message = update.message or update.edited_message
    if message is not None:
        return message.date.timestamp()
    return None
