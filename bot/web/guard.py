"""The web's middlewares: per-IP rate limit, security headers (a CSP without inline scripts),
ETag / 304 revalidation and a Server-Timing figure. /healthz and /metrics pass untouched, so
their answers stay byte-for-byte what they were before the dashboard."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from typing import cast

from aiohttp import web
from aiohttp.typedefs import Middleware

from bot.throttle import Throttle

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
UNGUARDED = frozenset({"/healthz", "/metrics"})
# No inline script or style anywhere: every script and stylesheet is a file under /static/.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "X-Frame-Options": "DENY", "Cross-Origin-Opener-Policy": "same-origin",
           "Permissions-Policy": "camera=(), microphone=(), geolocation=()"}
MAX_BODY = 1024          # bytes: the pages and the API read none; aiohttp caps what a route reads too
BURST, EVERY = 120, 0.1   # per IP: 120 requests in a row, then 10 a second (a page load is about 6)


def etag_of(body: bytes) -> str:
    """A strong validator for a response body."""
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def _matches(header: str | None, tag: str) -> bool:
    return header is not None and (header.strip() == "*" or tag in {t.strip().removeprefix("W/") for t in header.split(",")})


def make_guard(throttle: Throttle | None = None) -> Middleware:
    """The middleware: refuse a client over its rate (429), add the headers, answer 304 for an
    unchanged body. A route may set its own CSP (kept, and then no X-Frame-Options is added, so
    its `frame-ancestors` decides who may frame it) or any other of these headers."""
    limiter = throttle or Throttle(burst=BURST, every=EVERY, notice_every=0.0)

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in UNGUARDED:
            return await handler(request)
        started = time.perf_counter()
        # GET carries no body worth reading; other methods (routes of other surfaces) are capped by
        # the application's client_max_size when they read theirs.
        if request.method in ("GET", "HEAD") and request.body_exists and (
                request.content_length is None or request.content_length > MAX_BODY):
            resp: web.StreamResponse = web.Response(status=413, text="Request body too large.\n")
        elif limiter.check(request.remote or "?") != "ok":
            resp = web.Response(status=429, text="Too many requests: slow down.\n",
                                                    headers={"Retry-After": str(max(1, round(EVERY)))})
        else:
            try:
                resp = await handler(request)
            except web.HTTPException as exc:  # 404 / 405 from the router get the same headers
                resp = web.Response(status=exc.status, text=f"{exc.status}: {exc.reason}\n")
        own_policy = "Content-Security-Policy" in resp.headers   # e.g. a page meant to be framed
        for k, v in HEADERS.items():
            if not (own_policy and k == "X-Frame-Options"):
                resp.headers.setdefault(k, v)
        resp.headers.setdefault("Cache-Control", "no-store")
        if isinstance(resp, web.Response) and resp.status == 200 and resp.body is not None:
            resp = _revalidate(request, resp)
        resp.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        return resp

    return cast(Middleware, guard)


def _revalidate(request: web.Request, resp: web.Response) -> web.Response:
    """Tag the body; answer 304 (no body) when the client already has it."""
    body = resp.body
    tag = resp.headers.get("ETag") or etag_of(body if isinstance(body, bytes) else str(body).encode())
    resp.headers["ETag"] = tag
    if not _matches(request.headers.get("If-None-Match"), tag):
        return resp
    keep = {k: v for k, v in resp.headers.items() if k not in ("Content-Type", "Content-Length")}
    return web.Response(status=304, headers=keep)
