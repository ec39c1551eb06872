"""The National Bank of Ukraine's official daily rates, from its public JSON statistics
service (SPEC §8): `GET {base}/NBUStatService/v1/statdirectory/exchange?json&date=YYYYMMDD`
answers a JSON array of `{"r030": 840, "txt": "Долар США", "rate": 41.4984, "cc": "USD",
"exchangedate": "02.12.2026"}`, each rate in hryvnias per one unit of the currency."""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import aiohttp

EXCHANGE_PATH = "/NBUStatService/v1/statdirectory/exchange"
DEFAULT_TIMEOUT_SECONDS = 30.0
MAX_BODY_BYTES = 1 << 20  # the real answer is ~6 KB; a body this large is not that answer
_CODE = re.compile(r"[A-Z]{3}")


class RatesUnavailable(Exception):
    """The source gave no usable rates for the day. `reason` is a fixed word for logs and
    metrics: http_status, network, timeout, malformed."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class OfficialRates:
    """One day's official rates: hryvnias per 1 unit of each currency, exactly as published."""

    day: date
    rates: Mapping[str, Decimal]


def exchange_url(base_url: str, day: date) -> str:
    return f"{base_url.rstrip('/')}{EXCHANGE_PATH}?json&date={day:%Y%m%d}"


def _money_codes() -> Callable[[str], bool]:
    """Which codes are money: the ISO 4217 table of the `iso4217` package (the one the
    currencies table is filled from) when it is installed; otherwise any three capitals."""
    try:
        currency: Any = importlib.import_module("iso4217").Currency
    except ImportError:
        return lambda code: True

    def known(code: str) -> bool:
        try:
            # Metals and drawing rights (XAU, XDR…) have no minor unit: they are not money here.
            return currency(code).exponent is not None
        except ValueError:
            return False

    return known


_is_money = _money_codes()


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a rate")


def parse_rates(body: bytes | str, day: date) -> OfficialRates:
    """The day's rates from the service's answer. An empty, malformed or other day's answer
    raises RatesUnavailable("malformed"); entries for codes that are no money are skipped."""
    try:
        # Decimal from the raw text: 41.4984 stays 41.4984, never a binary float's neighbour.
        entries = json.loads(body, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as error:
        raise RatesUnavailable("malformed", "not JSON") from error
    if not isinstance(entries, list):
        raise RatesUnavailable("malformed", "not a JSON array")
    if not entries:
        raise RatesUnavailable("malformed", "no rates")
    rates: dict[str, Decimal] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise RatesUnavailable("malformed", "an entry is not an object")
        code, rate, published = entry.get("cc"), entry.get("rate"), entry.get("exchangedate")
        if not isinstance(code, str):
            raise RatesUnavailable("malformed", "an entry has no currency code")
        if _published_day(published) != day:
            raise RatesUnavailable("malformed", "an entry is for another day")
        code = code.strip()
        if not _CODE.fullmatch(code) or not _is_money(code):
            continue
        if isinstance(rate, bool) or not isinstance(rate, int | Decimal):
            raise RatesUnavailable("malformed", f"{code}: the rate is not a number")
        value = Decimal(rate)
        if not value.is_finite() or value <= 0:
            raise RatesUnavailable("malformed", f"{code}: the rate is not positive")
        if rates.setdefault(code, value) != value:
            raise RatesUnavailable("malformed", f"{code}: two different rates")
    if not rates:
        raise RatesUnavailable("malformed", "no currency the books know")
    return OfficialRates(day=day, rates=MappingProxyType(rates))


def _published_day(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip(), "%d.%m.%Y").date()
    except ValueError:
        return None


@dataclass(frozen=True)
class NbuRates:
    """Fetches one day's rates; each call its own short-lived session (once a day or so)."""

    base_url: str
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    async def fetch(self, day: date) -> OfficialRates:
        timeout = aiohttp.ClientTimeout(total=self.timeout_seconds)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(
                    exchange_url(self.base_url, day), headers={"Accept": "application/json"}
                ) as response,
            ):
                if response.status != 200:
                    raise RatesUnavailable("http_status", str(response.status))
                body = await response.content.read(MAX_BODY_BYTES + 1)
        except TimeoutError as error:
            raise RatesUnavailable("timeout") from error
        except aiohttp.ClientError as error:
            raise RatesUnavailable("network", type(error).__name__) from error
        if len(body) > MAX_BODY_BYTES:
            raise RatesUnavailable("malformed", "too large")
        return parse_rates(body, day)
