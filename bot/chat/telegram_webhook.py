"""Telegram webhook receiver on aiohttp: the secret header is checked first (403), bodies over
1 MB are refused before they are read (413), a body that is not an Update is a 400 - never a
500 or a traceback. Accepted updates go to python-telegram-bot's update queue."""

from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web
from telegram import Update
from telegram.ext import Application

log = logging.getLogger(__name__)
MAX_BODY = 1_000_000


class WebhookServer:
    def __init__(self, application: Application, secret: str, port: int, path: str = "/telegram",
                 host: str = "0.0.0.0"):
        self.application, self.secret, self.port, self.path, self.host = application, secret, port, path, host
        self._runner: web.AppRunner | None = None

    async def start(self) -> int:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(self.path, self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]
        return self.port

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            return web.Response(status=403, text="forbidden")
        if (request.content_length or 0) > MAX_BODY:
            return web.Response(status=413, text="too large")
        try:
            data = json.loads(await request.read())
            update = Update.de_json(data, self.application.bot) if isinstance(data, dict) else None
        except web.HTTPRequestEntityTooLarge:
            return web.Response(status=413, text="too large")
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("telegram webhook: refused a body that is not an update (%s)", type(exc).__name__)
            return web.Response(status=400, text="not an update")
        if update is None:
            return web.Response(status=400, text="not an update")
        await self.application.update_queue.put(update)
        return web.Response(text="ok")
