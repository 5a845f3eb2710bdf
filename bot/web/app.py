"""Hang the dashboard on an aiohttp application: `install(app, deps)` adds the middleware, the
pages, the JSON API and the static files. `route_installers(deps)` is the one list of everything
the bot's web server carries (the runtime calls each on the application it serves)."""

from __future__ import annotations

import functools
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from aiohttp import web

from bot.catalog import Catalog
from bot.metrics import Frames
from bot.rules.model import Rule
from bot.store import Storage
from bot.web.guard import etag_of, make_guard
from bot.web.sections import SECTIONS, Section

STATIC = Path(__file__).parent / "static"
Installer = Callable[[web.Application], None]


@dataclass(frozen=True)
class WebDeps:
    """What the web surface reads: the store (the event loop's connection), the engine's frames,
    the shared rules, the clock, and chat /status's verdict (so the page says what chat says,
    stress score included). It holds no logic of its own."""

    catalog: Catalog
    store: Storage
    frames: Callable[[], Frames]
    rules: Callable[[], list[Rule]]
    now: Callable[[], datetime]
    verdict: Callable[[str], str]              # lang -> CommandService.status.verdict(lang)[1]
    sections: tuple[Section, ...] = SECTIONS   # bot/web/sections.py: stress score, /why, calendar


def install(app: web.Application, deps: WebDeps) -> None:
    """Add the guard middleware, the pages, /api/* and /static/* to `app` (before it starts)."""
    from bot.web.views import Views

    app.middlewares.append(make_guard())
    v = Views(deps)
    for path, handler in (("/", v.overview), ("/metric/{metric}", v.metric), ("/alerts", v.alerts),
                          ("/rules", v.rules), ("/api/status", v.api_status), ("/api/series/{metric}", v.api_series),
                          ("/api/alerts", v.api_alerts), ("/api/rules", v.api_rules)):
        app.router.add_get(path, handler)
    files = static_files()
    app.router.add_get("/static/{path:.+}", functools.partial(_static, files))


def route_installers(deps: WebDeps) -> list[Installer]:
    """Everything the bot's web server carries, in order: the public dashboard first (its
    middleware then guards later routes too). Another surface (bot.miniapp) adds its line here."""
    return [functools.partial(install, deps=deps)]


def static_files() -> dict[str, tuple[bytes, str, str]]:
    """Every file under static/ read once: {relative path: (bytes, content type, ETag)}."""
    out = {}
    for f in sorted(STATIC.rglob("*")):
        if f.is_file() and f.suffix in (".js", ".css", ".png", ".svg"):
            body = f.read_bytes()
            ctype = {".js": "text/javascript", ".css": "text/css"}.get(f.suffix) or mimetypes.guess_type(f.name)[0]
            out[f.relative_to(STATIC).as_posix()] = (body, ctype or "application/octet-stream", etag_of(body))
    return out


async def _static(files: dict[str, tuple[bytes, str, str]], request: web.Request) -> web.Response:
    """A shipped asset from memory (no filesystem path is ever built from the request)."""
    hit = files.get(request.match_info["path"])
    if hit is None:
        raise web.HTTPNotFound()
    body, ctype, tag = hit
    return web.Response(body=body, content_type=ctype, charset="utf-8" if ctype.startswith("text/") else None,
                        headers={"Cache-Control": "public, max-age=3600", "ETag": tag})
