"""Health endpoint: /healthz (JSON) and /metrics (Prometheus text), on a tiny asyncio server."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Callable

log = logging.getLogger(__name__)


class Metrics:
    """Counters for /metrics: fetches, fetch errors, alerts, deliveries."""

    def __init__(self) -> None:
        self.counters: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()

    def inc(self, name: str, n: int = 1, **labels: str) -> None:
        self.counters[(name, tuple(sorted(labels.items())))] += n

    def render(self, gauges: dict[str, float]) -> str:
        lines = []
        for (name, labels), v in sorted(self.counters.items()):
            lab = ",".join(f'{k}="{val}"' for k, val in labels)
            lines.append(f"liquidity_bot_{name}{{{lab}}} {v}" if lab else f"liquidity_bot_{name} {v}")
        lines += [f"liquidity_bot_{k} {v}" for k, v in sorted(gauges.items())]
        return "\n".join(lines) + "\n"


class HealthServer:
    """Serves GET /healthz and GET /metrics; anything else is 404."""

    def __init__(self, port: int, health: Callable[[], dict], metrics: Callable[[], str], host: str = "0.0.0.0"):
        self.port, self.host = port, host
        self._health, self._metrics = health, metrics
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass
            parts = request.decode("latin-1").split()
            path = parts[1].split("?")[0] if len(parts) > 1 else "/"
            if path == "/healthz":
                body, ctype, status = json.dumps(self._health()).encode(), "application/json", "200 OK"
            elif path == "/metrics":
                body, ctype, status = self._metrics().encode(), "text/plain; version=0.0.4", "200 OK"
            else:
                body, ctype, status = b"not found\n", "text/plain", "404 Not Found"
            writer.write(f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                         f"Connection: close\r\n\r\n".encode() + body)
            await writer.drain()
        except (asyncio.TimeoutError, ConnectionError):
            pass
        except Exception:
            log.exception("health endpoint error")
        finally:
            writer.close()
