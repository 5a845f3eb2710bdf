"""/healthz and /metrics: loopback by default, Prometheus text with HELP/TYPE, and hostile clients
get a 4xx or are cut off, with no traceback in the log."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
import urllib.request

from bot.health import HealthServer, Telemetry


async def _server() -> tuple[HealthServer, Telemetry]:
    m = Telemetry()
    srv = HealthServer(0, lambda: {"status": "ok"}, lambda: m.render({"outbox_pending": 2, "rules_loaded": 15}))
    await srv.start()
    return srv, m


async def test_metrics_have_help_and_type_and_health_is_json():
    srv, m = await _server()
    try:
        m.inc("fetches_total", source="fred")
        m.inc("alerts_total", 3)
        text = await asyncio.to_thread(lambda: urllib.request.urlopen(
            f"http://127.0.0.1:{srv.port}/metrics", timeout=5).read().decode())
        assert "# HELP liquidity_bot_fetches_total" in text and "# TYPE liquidity_bot_fetches_total counter" in text
        assert 'liquidity_bot_fetches_total{source="fred"} 1.0' in text and "liquidity_bot_alerts_total 3.0" in text
        assert "# TYPE liquidity_bot_outbox_pending gauge" in text and "liquidity_bot_outbox_pending 2.0" in text
        health = await asyncio.to_thread(lambda: json.loads(urllib.request.urlopen(
            f"http://127.0.0.1:{srv.port}/healthz", timeout=5).read()))
        assert health == {"status": "ok"}
        assert srv.host == "127.0.0.1"
    finally:
        await srv.stop()


async def test_a_huge_request_line_gets_400_without_a_traceback(caplog):
    srv, _ = await _server()
    caplog.set_level(logging.DEBUG)

    def send() -> bytes:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
            s.sendall(b"GET /" + b"a" * 200_000 + b" HTTP/1.1\r\n\r\n")
            return s.recv(64)

    try:
        reply = await asyncio.to_thread(send)
    finally:
        await srv.stop()
    assert reply.startswith(b"HTTP/1.0 400") or reply.startswith(b"HTTP/1.1 400")
    assert "Traceback" not in caplog.text and "Error handling request" not in caplog.text


async def test_trickled_headers_do_not_hold_a_connection():
    srv, _ = await _server()

    def trickle() -> float:
        t0 = time.monotonic()
        with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as s:
            try:
                s.sendall(b"GET /healthz HTTP/1.1\r\n")
                for _ in range(60):
                    s.sendall(b"X-Slow: 1\r\n")
                    time.sleep(0.5)
            except OSError:
                return time.monotonic() - t0
        return time.monotonic() - t0

    try:
        held = await asyncio.to_thread(trickle)
    finally:
        await srv.stop()
    assert held < 15
