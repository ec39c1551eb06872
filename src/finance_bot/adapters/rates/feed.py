"""The daily feed of official rates: today's at start, then each day shortly after the
household's midnight, retried with backoff until the day's rates are in. It runs beside the
chat and never in its way: an outage of the source only delays the rates (SPEC §8)."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from finance_bot.adapters.observability.metrics import BotMetrics
from finance_bot.adapters.rates.nbu import OfficialRates, RatesUnavailable

log = logging.getLogger(__name__)

FetchRates = Callable[[date], Awaitable[OfficialRates]]
StoreRates = Callable[[OfficialRates], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]
Now = Callable[[], datetime]

# The National Bank sets a day's rates the afternoon before, so they are there at midnight;
# a few minutes' margin keeps clear of the service's own day change.
RUN_AT = time(0, 10)
# Long sleeps are taken in slices and the wall clock re-read, so a suspended host or a
# clock step still wakes the feed at the right local time.
MAX_SLEEP_SECONDS = 900.0


def utc_now() -> datetime:
    return datetime.now(UTC)


def next_run(now: datetime, timezone: ZoneInfo, run_at: time = RUN_AT) -> datetime:
    """When the next day's rates are fetched: run_at on the household's next local day,
    in UTC (the local day is 23 or 25 hours long across a DST change)."""
    tomorrow = now.astimezone(timezone).date() + timedelta(days=1)
    return datetime.combine(tomorrow, run_at, tzinfo=timezone).astimezone(UTC)


@dataclass(frozen=True)
class Backoff:
    """Exponential, capped, with jitter so that restarts do not retry in step: the n-th
    delay is uniform in [½, 1] × min(cap, first × 2ⁿ)."""

    first_seconds: float = 30.0
    cap_seconds: float = 1800.0
    jitter: Callable[[], float] = random.random  # in [0, 1)

    def delay(self, attempt: int) -> float:
        ceiling = min(self.cap_seconds, self.first_seconds * 2.0 ** min(attempt, 32))
        return ceiling * (0.5 + 0.5 * self.jitter())


@dataclass(frozen=True)
class RatesFeed:
    fetch: FetchRates
    store: StoreRates
    timezone: ZoneInfo
    metrics: BotMetrics
    backoff: Backoff = Backoff()
    now: Now = utc_now
    sleep: Sleep = asyncio.sleep

    async def run(self) -> None:
        """Until cancelled. Nothing it meets, but cancellation, leaves the loop."""
        while True:
            day = self._today()
            if await self.fetch_day(day):
                await self._sleep_until(next_run(self.now(), self.timezone))
            # Otherwise the household's day changed while retrying: go on with the new one.

    async def fetch_day(self, day: date) -> bool:
        """Fetch and store the day's rates, retrying until they are in (True) or the
        household's day is over (False)."""
        attempt = 0
        while True:
            if await self._attempt(day):
                return True
            delay = self.backoff.delay(attempt)
            attempt += 1
            wake = min(self.now() + timedelta(seconds=delay), next_run(self.now(), self.timezone))
            await self._sleep_until(wake)
            if self._today() != day:
                return False

    async def _attempt(self, day: date) -> bool:
        try:
            rates = await self.fetch(day)
        except RatesUnavailable as error:
            return self._failed("official rates not fetched", error.reason)
        except Exception as error:
            return self._failed("official rates not fetched", type(error).__name__)
        try:
            await self.store(rates)
        except Exception as error:  # the database may be away; the next attempt stores them
            return self._failed("official rates not stored", type(error).__name__)
        self.metrics.fx_rates_fetched(ok=True)
        # The day and how many currencies: no rate, no amount.
        log.info(
            "official rates fetched",
            extra={"rates_day": day.isoformat(), "currencies": len(rates.rates)},
        )
        return True

    def _failed(self, message: str, reason: str) -> bool:
        self.metrics.fx_rates_fetched(ok=False)
        log.warning(message, extra={"error": reason})
        return False

    def _today(self) -> date:
        return self.now().astimezone(self.timezone).date()

    async def _sleep_until(self, wake: datetime) -> None:
        while (remaining := (wake - self.now()).total_seconds()) > 0:
            await self.sleep(min(remaining, MAX_SLEEP_SECONDS))
