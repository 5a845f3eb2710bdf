"""The Mini App over HTTP: `install(app, deps)` adds its page and API to any aiohttp Application.

GET /app/ (the page), GET /app/static/<file>, GET /app/api/state, POST /app/api/<action>.
Every API request carries `Authorization: tma <initData>`; without valid initData it is 401 and
nothing changes. Per-IP rate limit, capped bodies, a strict Content-Security-Policy, no secret
and no other chat's data in any answer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.commands import CommandService
from bot.miniapp import api
from bot.miniapp.initdata import InitDataError, WebAppIdentity, validate
from bot.throttle import Throttle

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)
MAX_BODY = 2048    # the largest edit is a few dozen bytes of JSON
STATIC = {"index.html": "text/html", "app.js": "text/javascript", "app.css": "text/css",
          "icon.svg": "image/svg+xml"}   # the page names its icon, or browsers ask for /favicon.ico (a 404)
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors https://web.telegram.org")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "Cache-Control": "no-store"}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class MiniAppDeps:
    """What the Mini App needs: the command services, the bot token that signs initData, a clock."""

    commands: CommandService
    bot_token: Callable[[], str | None]
    now: Callable[[], datetime]            # naive UTC
    throttle: Throttle = field(default_factory=lambda: Throttle(burst=30, every=2.0, notice_every=0.0))

    @classmethod
    def from_settings(cls, settings: Settings, commands: CommandService, now: Callable[[], datetime]) -> MiniAppDeps:
        """The composition root's one line: the token from TELEGRAM_BOT_TOKEN (none: every request is 401)."""
        return cls(commands, lambda: settings.secret("telegram_bot_token"), now)


def install(app: web.Application, deps: MiniAppDeps) -> None:
    """Add the Mini App's page and API to `app` (before it starts)."""
    routes = MiniAppRoutes(deps)
    app.router.add_get("/app", routes.redirect)
    app.router.add_get("/app/", routes.limited(routes.page))
    app.router.add_get("/app/static/{name}", routes.limited(routes.static))
    app.router.add_get("/app/api/state", routes.limited(routes.authed(routes.get_state)))
    app.router.add_post("/app/api/{action}", routes.limited(routes.authed(routes.post_change)))


def _json(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body, ensure_ascii=False), status=status,
                        content_type="application/json", headers=HEADERS)


class MiniAppRoutes:
    """The handlers; the identity of a request comes from its initData only."""

    def __init__(self, deps: MiniAppDeps):
        self.deps = deps

    def limited(self, handler: Handler) -> Handler:
        """Per-IP rate limit (429) and body cap (413) before anything else runs."""
        async def run(request: web.Request) -> web.StreamResponse:
            if self.deps.throttle.check(request.remote or "?") != "ok":
                return _json({"error": "rate_limited"}, 429)
            if (request.content_length or 0) > MAX_BODY:
                return _json({"error": "too_large"}, 413)
            return await handler(request)
        return run

    def authed(self, handler: Callable[[web.Request, WebAppIdentity], Awaitable[web.StreamResponse]]) -> Handler:
        """401 unless the request carries initData Telegram signed for this bot within a day."""
        async def run(request: web.Request) -> web.StreamResponse:
            scheme, _sep, raw = request.headers.get("Authorization", "").partition(" ")
            try:
                if scheme.lower() != "tma":
                    raise InitDataError("no initData")
                who = validate(raw.strip(), self.deps.bot_token() or "", self.deps.now())
            except InitDataError as exc:
                log.debug("mini app: refused a request: %s", exc)   # the reason only, never the data
                return _json({"error": "unauthorized"}, 401)
            return await handler(request, who)
        return run

    async def redirect(self, request: web.Request) -> web.StreamResponse:
        """/app -> /app/ (the page's relative paths need the slash; relative, so a proxy's path prefix
        stays); the fragment with initData stays with the browser."""
        raise web.HTTPFound("app/")

    async def page(self, request: web.Request) -> web.StreamResponse:
        """The Mini App's page."""
        return self._file("index.html")

    async def static(self, request: web.Request) -> web.StreamResponse:
        """The page's script, style sheet and icon (only the files listed in STATIC)."""
        name = request.match_info["name"]
        if name not in STATIC or name == "index.html":
            raise web.HTTPNotFound()
        return self._file(name)

    def _file(self, name: str) -> web.Response:
        body = files("bot.miniapp").joinpath("static", name).read_bytes()
        return web.Response(body=body, headers={**HEADERS, "Content-Type": f"{STATIC[name]}; charset=utf-8"})

    async def get_state(self, request: web.Request, who: WebAppIdentity) -> web.StreamResponse:
        """The user's chat: alerts, mutes, settings, and the page's words in its language."""
        return _json(api.state(self.deps.commands, who))

    async def post_change(self, request: web.Request, who: WebAppIdentity) -> web.StreamResponse:
        """One edit through the chat commands' services; the reply text and the new state."""
        raw = await request.content.read(MAX_BODY + 1)
        if len(raw) > MAX_BODY:
            return _json({"error": "too_large"}, 413)
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise api.BadRequest("expected a JSON object")
            change = api.change_for(request.match_info["action"], body)
        except (ValueError, api.BadRequest) as exc:
            return _json({"error": "bad_request", "detail": str(exc)[:100]}, 400)
        message = await api.apply(self.deps.commands, who, change)
        return _json({"message": message, "state": api.state(self.deps.commands, who)})
