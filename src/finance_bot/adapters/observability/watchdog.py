"""What the running bot watches besides chat: the ledger's invariants and the backups."""

from __future__ import annotations

import asyncio
import logging
import time

import asyncpg

from finance_bot.adapters.observability.metrics import BotMetrics
from finance_bot.adapters.postgres.backup_log import last_good_backup_at
from finance_bot.adapters.postgres.check import check_all
from finance_bot.adapters.postgres.idempotency_keys import prune_idempotency_keys

log = logging.getLogger(__name__)


async def check_once(pool: asyncpg.Pool, metrics: BotMetrics) -> int:
    started = time.perf_counter()
    async with pool.acquire() as connection:  # check_all binds inside its own transactions
        violations = await check_all(connection)
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


async def watch_idempotency_keys(pool: asyncpg.Pool, interval_seconds: float) -> None:
    """Prune keys that can no longer be redelivered, now and then every interval."""
    while True:
        try:
            async with pool.acquire() as connection:
                pruned = await prune_idempotency_keys(connection)
            if pruned:
                log.info("idempotency keys pruned")
        except Exception as error:  # the database may be away; the next run catches up
            log.warning("idempotency keys not pruned", extra={"error": type(error).__name__})
        await asyncio.sleep(interval_seconds)


async def watch_backups(pool: asyncpg.Pool, metrics: BotMetrics, interval_seconds: float) -> None:
    """Publish when the last good backup finished (the backup job runs elsewhere)."""
    while True:
        try:
            async with pool.acquire() as connection:
                finished_at = await last_good_backup_at(connection)
            if finished_at is not None:
                metrics.last_backup.set(finished_at.timestamp())
        except Exception as error:
            log.warning("backup log could not be read", extra={"error": type(error).__name__})
        await asyncio.sleep(interval_seconds)
