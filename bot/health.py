"""Health endpoint: /healthz (JSON) and /metrics (Prometheus text via prometheus_client), served
by aiohttp on HEALTH_HOST (default 127.0.0.1): oversized request lines and headers get a 4xx
from aiohttp's parser, and a client that trickles its headers is cut off after a few seconds."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)
# No *_created series beside each counter (the ignore: prometheus_client leaves this function unannotated).
disable_created_metrics()  # type: ignore[no-untyped-call]


class QuietBadRequests(logging.Filter):
    """aiohttp answers a malformed or oversized request with a 4xx and then logs a traceback
    for it; that is noise an unauthenticated stranger could make at will, so drop it."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, HttpProcessingError)


logging.getLogger("aiohttp.server").addFilter(QuietBadRequests())

_COUNTERS = {
    "fetches": ("Fetch attempts per source.", ("source",)),
    "fetch_errors": ("Fetch attempts per source that failed entirely.", ("source",)),
    "alerts": ("Alert events recorded (firing, resolved, regime changes).", ()),
}
_GAUGES = {
    "outbox_pending": "Deliveries waiting to be sent.",
    "outbox_failed": "Deliveries given up (see `liquidity-bot outbox`).",
    "deliveries_sent": "Deliveries accepted by a platform since start.",
    "deliveries_failed": "Deliveries failed since start.",
    "rules_loaded": "Rules in the current rule set.",
    "uptime_seconds": "Seconds since the bot started.",
}


class Telemetry:
    """Counters and gauges for /metrics, with HELP and TYPE lines (prometheus_client)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._counters = {name: Counter(f"liquidity_bot_{name}", doc, labels, registry=self.registry)
                          for name, (doc, labels) in _COUNTERS.items()}
        self._gauges = {name: Gauge(f"liquidity_bot_{name}", doc, registry=self.registry)
                        for name, doc in _GAUGES.items()}

    def inc(self, name: str, n: int = 1, **labels: str) -> None:
        """Count `n` of a counter (`fetches_total` and `fetches` name the same counter)."""
        c = self._counters[name.removesuffix("_total")]
        (c.labels(**labels) if labels else c).inc(n)

    def render(self, gauges: dict[str, float]) -> str:
        for name, value in gauges.items():
            g = self._gauges.get(name.removesuffix("_total"))
            if g is not None:
                g.set(value)
        return generate_latest(self.registry).decode()


RouteInstaller = Callable[[web.Application], None]


class HealthServer:
    """Serves GET /healthz and GET /metrics, plus whatever `routes` add (the web dashboard,
    bot/web: each installer is called once on the application before it starts); anything else
    is 404. Request bodies are capped at `max_body` bytes (a 413 beyond)."""

    HEADER_TIMEOUT = 5.0

    def __init__(self, port: int, health: Callable[[], dict[str, Any]], metrics: Callable[[], str], host: str = "127.0.0.1",
                 routes: Sequence[RouteInstaller] = (), max_body: int = 1024):
        self.port, self.host = port, host
        self._health, self._metrics = health, metrics
        self._routes, self._max_body = tuple(routes), max_body
        self._runner: web.AppRunner | None = None

    async def start(self) -> int:
        app = web.Application(client_max_size=self._max_body)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._prometheus)
        for install in self._routes:
            install(app)
        # Slow or oversized requests: aiohttp's parser limits the request line and headers
        # (8 KB); keep-alive and header waits are bounded.
        self._runner = web.AppRunner(app, access_log=None, keepalive_timeout=self.HEADER_TIMEOUT,
                                     handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self.port

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        try:
            body = self._health()
        except Exception as exc:  # the endpoint must answer even when the store does not
            log.warning("health endpoint: %s", exc)
            body = {"status": "degraded", "error": str(exc)[:200]}
        return web.Response(text=json.dumps(body), content_type="application/json")

    async def _prometheus(self, request: web.Request) -> web.Response:
        text = self._metrics()
        return web.Response(body=text.encode(), headers={"Content-Type": CONTENT_TYPE_LATEST})
