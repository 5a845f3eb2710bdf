"""Telegram webhook receiver on aiohttp: the secret header is checked first (403), bodies over
1 MB are refused before they are read (413), a body that is not an Update is a 400 - never a
500 or a traceback. Accepted updates go to python-telegram-bot's update queue."""

from __future__ import annotations

import hmac
import logging
from typing import TYPE_CHECKING

from aiohttp import web
from telegram import Update

from bot.chat.inbound import RefusalLog, telegram_update_problem

if TYPE_CHECKING:
    from bot.chat.telegram import TelegramApp

log = logging.getLogger(__name__)
MAX_BODY = 1_000_000


class WebhookServer:
    def __init__(self, application: TelegramApp, secret: str, port: int, path: str = "/telegram",
                 host: str = "0.0.0.0"):
        self.application, self.secret, self.port, self.path, self.host = application, secret, port, path, host
        self._runner: web.AppRunner | None = None
        self._refusals = RefusalLog(log)

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
            self._refusals.refused("secret", "telegram webhook: refused a request without the secret header (403)")
            return web.Response(status=403, text="forbidden")
        try:
            if (request.content_length or 0) > MAX_BODY:
                raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length or 0)
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            self._refusals.refused("too-large", "telegram webhook: refused a body over 1 MB (413)")
            return web.Response(status=413, text="too large")
        data, problem = telegram_update_problem(body, request.content_type)
        try:
            update = Update.de_json(data, self.application.bot) if data is not None else None
        except Exception as exc:  # python-telegram-bot trips on a wrong-typed field with any error
            update, problem = None, f"not an update ({type(exc).__name__})"
        if update is None:
            self._refusals.refused("malformed", f"telegram webhook: refused a body: {problem} (400)")
            return web.Response(status=400, text="not an update")
        await self.application.update_queue.put(update)
        return web.Response(text="ok")
