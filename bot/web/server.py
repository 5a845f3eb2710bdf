"""A listener of its own for the dashboard, when WEB_PORT differs from HEALTH_PORT: the same
aiohttp limits as the health server (capped bodies, bounded header and keep-alive waits)."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from bot.health import HealthServer, RouteInstaller


class WebServer:
    """Serves only what `routes` install (the dashboard), on WEB_HOST:WEB_PORT."""

    def __init__(self, host: str, port: int, routes: Sequence[RouteInstaller], max_body: int = 1024):
        self.host, self.port, self._routes, self._max_body = host, port, tuple(routes), max_body
        self._runner: web.AppRunner | None = None

    async def start(self) -> int:
        """Listen; returns the port (the one the OS chose for port 0 in tests)."""
        app = web.Application(client_max_size=self._max_body)
        for install in self._routes:
            install(app)
        self._runner = web.AppRunner(app, access_log=None, keepalive_timeout=HealthServer.HEADER_TIMEOUT,
                                     handler_cancellation=True)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port, reuse_address=True).start()
        self.port = self._runner.addresses[0][1]
        return self.port

    async def stop(self) -> None:
        """Close the listener."""
        if self._runner:
            await self._runner.cleanup()
