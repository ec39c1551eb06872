"""The official daily rates without a network: the service's answer parsed exactly, the
daily schedule across DST, the backoff, and the feed's loop on a fake clock."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from finance_bot.adapters.observability.logs import JsonFormatter
from finance_bot.adapters.observability.metrics import BotMetrics
from finance_bot.adapters.rates.feed import Backoff, RatesFeed, next_run
from finance_bot.adapters.rates.nbu import (
    OfficialRates,
    RatesUnavailable,
    exchange_url,
    parse_rates,
)

KYIV = ZoneInfo("Europe/Kyiv")
DAY = date(2026, 12, 2)


def entry(cc: str, rate: object, day: str = "02.12.2026", r030: int = 840) -> dict[str, object]:
    return {"r030": r030, "txt": "Долар США", "rate": rate, "cc": cc, "exchangedate": day}


def body(*entries: dict[str, object]) -> str:
    return json.dumps(list(entries), ensure_ascii=False)


# --- parsing ---


def test_the_documented_answer_is_parsed_exactly() -> None:
    text = (
        '[{"r030":840,"txt":"Долар США","rate":41.4984,"cc":"USD","exchangedate":"02.12.2026"},'
        '{"r030":978,"txt":"Євро","rate":48.1234567891234,"cc":"EUR","exchangedate":"02.12.2026"},'
        '{"r030":392,"txt":"Єна","rate":0.27651,"cc":"JPY","exchangedate":"02.12.2026"},'
        '{"r030":999,"txt":"Ціле","rate":3,"cc":"CHF","exchangedate":"02.12.2026"}]'
    )
    rates = parse_rates(text.encode(), DAY)
    assert rates.day == DAY
    assert dict(rates.rates) == {
        "USD": Decimal("41.4984"),
        "EUR": Decimal("48.1234567891234"),
        "JPY": Decimal("0.27651"),
        "CHF": Decimal(3),
    }
    assert str(rates.rates["USD"]) == "41.4984"  # the published digits, no float in between


def test_the_url_asks_for_the_day() -> None:
    assert exchange_url("https://bank.gov.ua", DAY) == (
        "https://bank.gov.ua/NBUStatService/v1/statdirectory/exchange?json&date=20261202"
    )
    assert exchange_url("http://127.0.0.1:8080/", date(2027, 1, 5)).endswith("date=20270105")


@pytest.mark.parametrize("code", ["usd", "US", "USDT", "U$D", "", " "])
def test_entries_whose_code_is_no_currency_are_skipped(code: str) -> None:
    rates = parse_rates(body(entry("USD", 41.5), entry(code, 1.5)), DAY)
    assert dict(rates.rates) == {"USD": Decimal("41.5")}


def test_the_rates_cannot_be_changed_by_their_reader() -> None:
    rates = parse_rates(body(entry("USD", 41.5)), DAY)
    with pytest.raises(TypeError):
        rates.rates["USD"] = Decimal(1)  # type: ignore[index]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "[]",
        "{}",
        '{"error": "Wrong parameters format"}',
        "<html><body>Service Unavailable</body></html>",
        '[{"r030":840,"txt":"Долар США","rate":41.4984,"cc":"USD"',  # cut short
        "[1, 2]",
        body(entry("USD", 0)),
        body(entry("USD", -41.5)),
        body(entry("USD", "41.5")),
        body(entry("USD", None)),
        body(entry("USD", True)),
        '[{"rate": NaN, "cc": "USD", "exchangedate": "02.12.2026"}]',
        '[{"rate": Infinity, "cc": "USD", "exchangedate": "02.12.2026"}]',
        body({"rate": 41.5, "exchangedate": "02.12.2026"}),
        body(entry("USD", 41.5, day="01.12.2026")),  # another day's rates
        body(entry("USD", 41.5, day="2026-12-02")),
        body(entry("USD", 41.5), entry("USD", 41.6)),  # two rates for one currency
        body(entry("usd", 41.5)),  # nothing the books know
    ],
)
def test_an_empty_or_malformed_answer_is_an_error(text: str) -> None:
    with pytest.raises(RatesUnavailable) as raised:
        parse_rates(text.encode(), DAY)
    assert raised.value.reason == "malformed"


def test_with_the_iso_table_metals_drawing_rights_and_unknown_codes_are_skipped() -> None:
    pytest.importorskip("iso4217")
    rates = parse_rates(
        body(entry("USD", 41.5), entry("XAU", 170000.5), entry("XDR", 56.1), entry("ZZZ", 2)),
        DAY,
    )
    assert dict(rates.rates) == {"USD": Decimal("41.5")}


def test_the_same_rate_twice_is_one_rate() -> None:
    rates = parse_rates(body(entry("USD", 41.5), entry("USD", 41.50)), DAY)
    assert dict(rates.rates) == {"USD": Decimal("41.5")}


# --- the schedule ---


def kyiv(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=KYIV)


@pytest.mark.parametrize(
    ("now", "expected", "hours"),
    [
        # Spring forward (29 March 2026, 03:00 → 04:00): a 23-hour local day.
        (kyiv(2026, 3, 29, 0, 10), kyiv(2026, 3, 30, 0, 10), 23),
        # Fall back (25 October 2026, 04:00 → 03:00): a 25-hour local day.
        (kyiv(2026, 10, 25, 0, 10), kyiv(2026, 10, 26, 0, 10), 25),
        # An ordinary day.
        (kyiv(2026, 12, 2, 0, 10), kyiv(2026, 12, 3, 0, 10), 24),
    ],
)
def test_the_next_run_is_after_the_next_local_midnight_across_dst(
    now: datetime, expected: datetime, hours: int
) -> None:
    wake = next_run(now.astimezone(UTC), KYIV)
    assert wake.tzinfo is UTC
    assert wake == expected
    assert wake.astimezone(KYIV).time() == time(0, 10)
    assert wake - now.astimezone(UTC) == timedelta(hours=hours)


def test_the_next_run_follows_the_households_day_not_utcs() -> None:
    # 23:30 UTC on 1 December is already 2 December in Kyiv (UTC+2).
    now = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    assert next_run(now, KYIV) == datetime(2026, 12, 2, 22, 10, tzinfo=UTC)
    # One minute before the run time: the next run is today's.
    assert next_run(kyiv(2026, 12, 2, 23, 59), KYIV) == kyiv(2026, 12, 3, 0, 10)
    # Just after midnight (the start fetched today's already): tomorrow's.
    assert next_run(kyiv(2026, 12, 3, 0, 5), KYIV) == kyiv(2026, 12, 4, 0, 10)


def test_the_backoff_doubles_from_30_seconds_to_half_an_hour_with_jitter() -> None:
    top = Backoff(jitter=lambda: 1.0)
    assert [top.delay(n) for n in range(8)] == [30, 60, 120, 240, 480, 960, 1800, 1800]
    assert top.delay(10_000) == 1800
    bottom = Backoff(jitter=lambda: 0.0)
    assert [bottom.delay(n) for n in range(3)] == [15, 30, 60]


# --- the feed on a fake clock ---


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.current = start.astimezone(UTC)
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.current += timedelta(seconds=seconds)
        await asyncio.sleep(0)


def counter(metrics: BotMetrics, outcome: str) -> float:
    value = metrics.registry.get_sample_value(
        "finance_bot_fx_rates_fetches_total", {"outcome": outcome}
    )
    assert value is not None
    return value


def last_success(metrics: BotMetrics) -> float:
    value = metrics.registry.get_sample_value("finance_bot_fx_rates_last_success_timestamp_seconds")
    assert value is not None
    return value


class Source:
    """Fails `failures` times, then answers; remembers which days were asked for and when."""

    def __init__(self, clock: FakeClock, failures: int = 0, error: Exception | None = None):
        self.clock = clock
        self.failures = failures
        self.error = error or RatesUnavailable("http_status", "500")
        self.asked: list[tuple[date, datetime]] = []

    async def fetch(self, day: date) -> OfficialRates:
        self.asked.append((day, self.clock.now()))
        if self.failures:
            self.failures -= 1
            raise self.error
        return OfficialRates(day, {"USD": Decimal("41.4984")})


async def until(condition: Callable[[], bool]) -> None:
    """Let the feed run (on the fake clock, every wait is a bare yield) until condition."""
    for _ in range(100_000):
        if condition():
            return
        await asyncio.sleep(0)
    pytest.fail("the feed did not get there")


def feed(
    clock: FakeClock,
    source: Source,
    stored: list[OfficialRates],
    metrics: BotMetrics,
    jitter: Callable[[], float] = lambda: 1.0,
) -> RatesFeed:
    async def store(rates: OfficialRates) -> None:
        stored.append(rates)

    return RatesFeed(
        fetch=source.fetch,
        store=store,
        timezone=KYIV,
        metrics=metrics,
        backoff=Backoff(jitter=jitter),
        now=clock.now,
        sleep=clock.sleep,
    )


async def test_failures_are_retried_with_backoff_and_the_rates_stored_once() -> None:
    clock = FakeClock(kyiv(2026, 12, 2, 9, 0))
    source, metrics = Source(clock, failures=4), BotMetrics()
    stored: list[OfficialRates] = []
    assert await feed(clock, source, stored, metrics).fetch_day(DAY) is True
    assert clock.slept == [30, 60, 120, 240]
    assert [day for day, _ in source.asked] == [DAY] * 5
    assert stored == [OfficialRates(DAY, {"USD": Decimal("41.4984")})]
    assert counter(metrics, "error") == 4
    assert counter(metrics, "ok") == 1
    assert last_success(metrics) > 0


async def test_the_logs_name_the_day_and_the_count_never_a_rate(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(kyiv(2026, 12, 2, 9, 0))
    source, metrics = Source(clock, failures=1), BotMetrics()
    stored: list[OfficialRates] = []
    with caplog.at_level(logging.INFO, logger="finance_bot.adapters.rates.feed"):
        await feed(clock, source, stored, metrics).fetch_day(DAY)
    lines = [json.loads(JsonFormatter().format(record)) for record in caplog.records]
    assert [(line["message"], line.get("error")) for line in lines] == [
        ("official rates not fetched", "http_status"),
        ("official rates fetched", None),
    ]
    assert lines[1]["rates_day"] == "2026-12-02"
    assert lines[1]["currencies"] == 1
    # The clock's digits may hold any number; only the fields the code chose count.
    chosen = [{key: value for key, value in line.items() if key != "time"} for line in lines]
    assert "41" not in json.dumps(chosen)


@pytest.mark.parametrize("error", [RuntimeError("bug"), OSError("down"), ValueError("odd")])
async def test_any_error_of_the_source_is_retried(error: Exception) -> None:
    clock = FakeClock(kyiv(2026, 12, 2, 9, 0))
    source, metrics = Source(clock, failures=1, error=error), BotMetrics()
    stored: list[OfficialRates] = []
    assert await feed(clock, source, stored, metrics).fetch_day(DAY) is True
    assert len(stored) == 1
    assert counter(metrics, "error") == 1


async def test_a_failed_store_is_an_error_and_retried() -> None:
    clock = FakeClock(kyiv(2026, 12, 2, 9, 0))
    source, metrics = Source(clock), BotMetrics()
    stored: list[OfficialRates] = []
    calls = 0

    async def store(rates: OfficialRates) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionRefusedError("the database is away")
        stored.append(rates)

    daily = RatesFeed(
        fetch=source.fetch,
        store=store,
        timezone=KYIV,
        metrics=metrics,
        backoff=Backoff(jitter=lambda: 1.0),
        now=clock.now,
        sleep=clock.sleep,
    )
    assert await daily.fetch_day(DAY) is True
    assert len(stored) == 1
    assert (counter(metrics, "error"), counter(metrics, "ok")) == (1, 1)
    assert clock.slept == [30]


async def test_retries_stop_at_the_households_midnight_and_the_new_day_is_fetched() -> None:
    clock = FakeClock(kyiv(2026, 12, 2, 23, 50))
    source, metrics = Source(clock, failures=5), BotMetrics()
    stored: list[OfficialRates] = []
    daily = feed(clock, source, stored, metrics)
    # 30 + 60 + 120 + 240 s of waits, then the next wait crosses midnight: the day is over.
    assert await daily.fetch_day(DAY) is False
    assert clock.now().astimezone(KYIV).date() == date(2026, 12, 3)
    assert stored == []
    task = asyncio.create_task(daily.run())
    await until(lambda: bool(stored))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [rates.day for rates in stored] == [date(2026, 12, 3)]
    assert [day for day, _ in source.asked] == [DAY] * 5 + [date(2026, 12, 3)]


async def test_the_feed_fetches_at_start_then_once_a_day_after_midnight() -> None:
    clock = FakeClock(kyiv(2026, 3, 28, 15, 0))  # the day before spring forward
    source, metrics = Source(clock), BotMetrics()
    stored: list[OfficialRates] = []
    task = asyncio.create_task(feed(clock, source, stored, metrics).run())
    await until(lambda: len(source.asked) >= 4)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [day for day, _ in source.asked] == [
        date(2026, 3, 28),
        date(2026, 3, 29),
        date(2026, 3, 30),
        date(2026, 3, 31),
    ]
    times = [at.astimezone(KYIV) for _, at in source.asked]
    assert times[0] == kyiv(2026, 3, 28, 15, 0)
    assert all(at.time() == time(0, 10) for at in times[1:])
    assert len(stored) == 4
    # Long waits are slept in slices, re-reading the clock.
    assert max(clock.slept) <= 900


async def test_an_outage_only_delays_the_rates_and_is_cancelled_cleanly() -> None:
    clock = FakeClock(kyiv(2026, 12, 2, 9, 0))
    source = Source(clock, failures=10**9)
    stored: list[OfficialRates] = []
    metrics = BotMetrics()
    task = asyncio.create_task(feed(clock, source, stored, metrics, jitter=lambda: 0.5).run())
    others = 0
    while len(source.asked) < 200:
        others += 1  # the event loop keeps serving everything else
        await asyncio.sleep(0)
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stored == []
    assert others >= 200
    assert counter(metrics, "ok") == 0
    assert counter(metrics, "error") >= 200
    # The wait grows and is capped at half an hour (jitter 0.5 → ¾ of each step)...
    times = [at for _, at in source.asked]
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)]
    assert gaps[:3] == [22.5, 45, 90]
    assert max(gaps) == pytest.approx(1800 * 0.75)
    # ...and days that passed in the outage are left for the day now due.
    asked = sorted({day for day, _ in source.asked})
    assert asked[0] == DAY
    assert len(asked) > 1
    assert asked == [DAY + timedelta(days=n) for n in range(len(asked))]
