"""/metrics for Prometheus and /healthz for the container's health check."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from finance_bot.adapters.observability.metrics import BotMetrics

log = logging.getLogger(__name__)

HealthProbe = Callable[[], Awaitable[dict[str, bool]]]


class Endpoints:
    def __init__(self, metrics: BotMetrics, probe: HealthProbe) -> None:
        self._metrics = metrics
        self._probe = probe
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self, host: str, port: int) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._serve_metrics)
        app.router.add_get("/healthz", self._serve_health)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.port = int(self._runner.addresses[0][1])  # the real one when port 0 was asked
        log.info("metrics endpoint listening", extra={"port": self.port})

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _serve_metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self._metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _serve_health(self, request: web.Request) -> web.Response:
        try:
            checks = await asyncio.wait_for(self._probe(), timeout=5)
        except Exception:  # a probe that cannot answer is a failing probe
            checks = {"probe": False}
        healthy = all(checks.values())
        return web.json_response(
            {"status": "ok" if healthy else "unhealthy", "checks": checks},
            status=200 if healthy else 503,
        )
