"""Periodic re-verification of the ledger inside the running bot, published as metrics."""

from __future__ import annotations

import asyncio
import logging
import time

import asyncpg

from finance_bot.adapters.metrics import BotMetrics
from finance_bot.adapters.postgres.check import check_ledger

log = logging.getLogger(__name__)


async def check_once(pool: asyncpg.Pool, metrics: BotMetrics) -> int:
    started = time.perf_counter()
    async with pool.acquire() as connection:
        violations = await check_ledger(connection)
    metrics.invariants_checked(len(violations), time.perf_counter() - started)
    if violations:
        # Only the count: the details name accounts and amounts (`finance-bot check` shows them).
        log.error("ledger invariants violated", extra={"violations": len(violations)})
    return len(violations)


async def watch_ledger(pool: asyncpg.Pool, metrics: BotMetrics, interval_seconds: float) -> None:
    """Check now, then every interval, until cancelled; a failed run is retried next time."""
    while True:
        try:
            await check_once(pool, metrics)
        except Exception as error:  # the database may be away; the stale metric alerts
            log.warning("invariant check could not run", extra={"error": type(error).__name__})
        await asyncio.sleep(interval_seconds)
