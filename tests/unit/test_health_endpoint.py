"""/healthz answers 503 while the database or the way updates come in (polling, or the webhook
endpoint) is down, and /metrics serves."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from finance_bot.adapters.observability.http_endpoints import Endpoints, HealthProbe
from finance_bot.adapters.observability.metrics import BotMetrics


async def _health(probe: HealthProbe) -> tuple[int, Any]:
    endpoints = Endpoints(BotMetrics(), probe)
    await endpoints.start("127.0.0.1", 0)
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{endpoints.port}/healthz") as response,
        ):
            return response.status, await response.json()
    finally:
        await endpoints.stop()


@pytest.mark.parametrize(
    ("checks", "status"),
    [
        ({"database": True, "polling": True}, 200),
        ({"database": False, "polling": True}, 503),
        ({"database": True, "polling": False}, 503),
    ],
)
async def test_health_follows_the_probe(checks: dict[str, bool], status: int) -> None:
    async def probe() -> dict[str, bool]:
        return checks

    answered, body = await _health(probe)
    assert answered == status
    assert body["checks"] == checks


async def test_a_probe_that_fails_is_unhealthy() -> None:
    async def probe() -> dict[str, bool]:
        raise ConnectionRefusedError

    answered, _ = await _health(probe)
    assert answered == 503
