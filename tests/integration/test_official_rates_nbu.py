"""The National Bank of Ukraine's rates against a local fake of its statistics service on
127.0.0.1: the request, the answer's shape, failures retried, an outage that blocks nothing,
and the composition root's wiring behind FX_RATES_SOURCE."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web

from finance_bot.adapters.observability.metrics import BotMetrics
from finance_bot.adapters.rates.feed import Backoff, RatesFeed
from finance_bot.adapters.rates.nbu import EXCHANGE_PATH, NbuRates, OfficialRates, RatesUnavailable
from finance_bot.bootstrap import official_rates_feed
from finance_bot.config import Settings

KYIV = ZoneInfo("Europe/Kyiv")
DAY = date(2026, 12, 2)
QUICK = 0.3  # the client's timeout in these tests, seconds


def answer(day: date) -> list[dict[str, object]]:
    published = f"{day:%d.%m.%Y}"
    return [
        {"r030": 840, "txt": "Долар США", "rate": 41.4984, "cc": "USD", "exchangedate": published},
        {"r030": 978, "txt": "Євро", "rate": 48.0271, "cc": "EUR", "exchangedate": published},
        {"r030": 985, "txt": "Злотий", "rate": 11.3562, "cc": "PLN", "exchangedate": published},
        {"r030": 392, "txt": "Єна", "rate": 0.27651, "cc": "JPY", "exchangedate": published},
    ]


@dataclass
class FakeNbu:
    """Serves the documented answer for the asked date; `script` says how the next requests
    fail first: an HTTP status, "timeout", "garbage", "empty" (an empty array) or "blank"."""

    script: list[int | str] = field(default_factory=list)
    fail_always: int | str | None = None
    asked: list[dict[str, str]] = field(default_factory=list)
    base_url: str = ""

    async def exchange(self, request: web.Request) -> web.StreamResponse:
        self.asked.append(dict(request.query))
        step = self.script.pop(0) if self.script else self.fail_always
        if isinstance(step, int):
            return web.Response(status=step, text="<html>Service Unavailable</html>")
        if step == "timeout":
            await asyncio.sleep(QUICK * 10)
        if step == "garbage":
            return web.Response(text='[{"r030":840,"rate":', content_type="application/json")
        if step == "empty":
            return web.json_response([])
        if step == "blank":
            return web.Response(body=b"", content_type="application/json")
        day = datetime.strptime(request.query["date"], "%Y%m%d").date()
        return web.Response(
            text=json.dumps(answer(day), ensure_ascii=False), content_type="application/json"
        )


@pytest.fixture
async def nbu() -> AsyncIterator[FakeNbu]:
    fake = FakeNbu()
    app = web.Application()
    app.router.add_get(EXCHANGE_PATH, fake.exchange)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    fake.base_url = f"http://{host}:{port}"
    try:
        yield fake
    finally:
        await runner.cleanup()


async def test_the_days_rates_are_fetched_and_parsed_exactly(nbu: FakeNbu) -> None:
    rates = await NbuRates(nbu.base_url, QUICK).fetch(DAY)
    assert rates.day == DAY
    assert dict(rates.rates) == {
        "USD": Decimal("41.4984"),
        "EUR": Decimal("48.0271"),
        "PLN": Decimal("11.3562"),
        "JPY": Decimal("0.27651"),
    }
    assert nbu.asked == [{"json": "", "date": "20261202"}]


async def test_a_trailing_slash_in_the_base_url_is_harmless(nbu: FakeNbu) -> None:
    rates = await NbuRates(nbu.base_url + "/", QUICK).fetch(date(2027, 1, 5))
    assert rates.day == date(2027, 1, 5)
    assert nbu.asked == [{"json": "", "date": "20270105"}]


@pytest.mark.parametrize(
    ("step", "reason"),
    [
        (500, "http_status"),
        (503, "http_status"),
        (404, "http_status"),
        ("timeout", "timeout"),
        ("garbage", "malformed"),
        ("empty", "malformed"),
        ("blank", "malformed"),
    ],
)
async def test_each_failure_is_an_error_not_an_empty_result(
    nbu: FakeNbu, step: int | str, reason: str
) -> None:
    nbu.script = [step]
    with pytest.raises(RatesUnavailable) as raised:
        await NbuRates(nbu.base_url, QUICK).fetch(DAY)
    assert raised.value.reason == reason


async def test_an_unreachable_source_is_a_network_error(nbu: FakeNbu) -> None:
    closed = "http://127.0.0.1:9"  # discard: nothing listens there
    with pytest.raises(RatesUnavailable) as raised:
        await NbuRates(closed, QUICK).fetch(DAY)
    assert raised.value.reason in {"network", "timeout"}


class FakeClock:
    """The feed's clock and sleep: waits take no time, the clock moves by what was waited."""

    def __init__(self, start: datetime) -> None:
        self.current = start.astimezone(UTC)
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.current += timedelta(seconds=seconds)
        await asyncio.sleep(0)


def sample(metrics: BotMetrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    assert value is not None
    return value


async def test_failures_are_retried_with_backoff_and_the_rates_stored_once(nbu: FakeNbu) -> None:
    nbu.script = [500, "timeout", "garbage", "empty"]
    clock = FakeClock(datetime(2026, 12, 2, 9, 0, tzinfo=KYIV))
    stored: list[OfficialRates] = []
    metrics = BotMetrics()

    async def store(rates: OfficialRates) -> None:
        stored.append(rates)

    feed = RatesFeed(
        fetch=NbuRates(nbu.base_url, QUICK).fetch,
        store=store,
        timezone=KYIV,
        metrics=metrics,
        backoff=Backoff(jitter=lambda: 1.0),
        now=clock.now,
        sleep=clock.sleep,
    )
    assert await feed.fetch_day(DAY) is True
    assert clock.slept == [30, 60, 120, 240]
    assert [asked["date"] for asked in nbu.asked] == ["20261202"] * 5
    assert [rates.day for rates in stored] == [DAY]
    assert stored[0].rates["USD"] == Decimal("41.4984")
    total = "finance_bot_fx_rates_fetches_total"
    assert sample(metrics, total, outcome="error") == 4
    assert sample(metrics, total, outcome="ok") == 1
    assert sample(metrics, "finance_bot_fx_rates_last_success_timestamp_seconds") > 0


async def test_an_outage_never_blocks_and_stops_cleanly(nbu: FakeNbu) -> None:
    nbu.fail_always = 503
    clock = FakeClock(datetime(2026, 12, 2, 9, 0, tzinfo=KYIV))
    stored: list[OfficialRates] = []
    metrics = BotMetrics()

    async def store(rates: OfficialRates) -> None:
        stored.append(rates)

    feed = RatesFeed(
        fetch=NbuRates(nbu.base_url, QUICK).fetch,
        store=store,
        timezone=KYIV,
        metrics=metrics,
        now=clock.now,
        sleep=clock.sleep,
    )
    task = asyncio.create_task(feed.run())
    # Meanwhile the rest of the bot goes on: work that needs the loop's turns gets them.
    turns = 0
    async with asyncio.timeout(10):
        while len(nbu.asked) < 12:
            turns += 1
            await asyncio.sleep(0.001)
    assert turns > 0
    assert not task.done()  # nothing escaped the loop
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stored == []
    assert sample(metrics, "finance_bot_fx_rates_fetches_total", outcome="ok") == 0
    # The last request may have been cancelled before its answer came.
    assert sample(metrics, "finance_bot_fx_rates_fetches_total", outcome="error") >= 11
    assert sample(metrics, "finance_bot_fx_rates_last_success_timestamp_seconds") == 0


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def test_the_running_bot_feeds_the_rates_to_the_store_when_asked(nbu: FakeNbu) -> None:
    got: asyncio.Queue[OfficialRates] = asyncio.Queue()
    metrics = BotMetrics()
    configured = settings(fx_rates_source="nbu", fx_rates_url=nbu.base_url)
    before = datetime.now(configured.timezone).date()
    async with official_rates_feed(configured, metrics, store=got.put) as task:
        assert task is not None
        rates = await asyncio.wait_for(got.get(), timeout=10)
    assert task.cancelled()  # stopped with the bot
    assert rates.day in {before, datetime.now(configured.timezone).date()}  # the household's today
    assert rates.rates["USD"] == Decimal("41.4984")
    assert nbu.asked == [{"json": "", "date": f"{rates.day:%Y%m%d}"}]
    assert sample(metrics, "finance_bot_fx_rates_fetches_total", outcome="ok") == 1


async def test_with_the_default_setting_nothing_is_fetched(nbu: FakeNbu) -> None:
    async def store(rates: OfficialRates) -> None:
        raise AssertionError("no rates when FX_RATES_SOURCE is off")

    configured = settings(fx_rates_url=nbu.base_url)
    assert configured.fx_rates_source == "off"
    async with official_rates_feed(configured, BotMetrics(), store=store) as task:
        assert task is None
        await asyncio.sleep(0.05)
    assert nbu.asked == []


@pytest.mark.parametrize("value", ["ecb", "yes", "1", "nbu,ecb"])
def test_an_unknown_source_stops_the_bot_at_start(value: str) -> None:
    with pytest.raises(ValueError, match="fx_rates_source"):
        settings(fx_rates_source=value)


@pytest.mark.parametrize("value", ["bank.gov.ua", "ftp://bank.gov.ua", "https://", "x?y=1"])
def test_a_url_that_is_no_base_url_stops_the_bot_at_start(value: str) -> None:
    with pytest.raises(ValueError, match="fx_rates_url"):
        settings(fx_rates_url=value)


def test_the_defaults_are_off_and_the_national_banks_host() -> None:
    configured = settings()
    assert configured.fx_rates_source == "off"
    assert configured.fx_rates_url == "https://bank.gov.ua"
    assert settings(fx_rates_source="NBU").fx_rates_source == "nbu"
    assert settings(fx_rates_source="").fx_rates_source == "off"
    assert settings(fx_rates_url="").fx_rates_url == "https://bank.gov.ua"
