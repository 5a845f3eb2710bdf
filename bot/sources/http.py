"""One place for HTTP GETs to JSON/CSV sources: limits, politeness, conditional requests, clear errors.

Limits (issues 10, 19): HTTP_TIMEOUT bounds the whole request, connect, headers and body
together (bot/sources/transport.py bounds every socket operation by the deadline: a server
trickling its headers or body a byte at a time cannot hold a fetch); bodies over MAX_BYTES
after decompression are refused while decompressing, at every layer of the encoding chain;
redirects are followed only to the same scheme, host and port. A host that gives no answer
at all raises `Unreachable` (its source's other series are not asked in the same fetch).

Politeness (issues 16, 19): every request first waits for its slot in the client's `Pacer`
(bot/pace.py: FRED's per-second paces, Retry-After) and then asks its `Budget` (bot/budget.py).

Conditional requests: a `PoliteClient` remembers, per URL + query, the `ETag` / `Last-Modified`
of the last 200 and sends `If-None-Match` / `If-Modified-Since`. On `304 Not Modified`, `get`
returns the remembered body as a normal 200 response, so parsers need no change (the rows are
the stored ones, so ingest adds nothing); `not_modified(resp)` tells a caller that it was a 304.
A source that never sends validators, or says `Cache-Control: no-store` (the NY Fed), gets
no conditional request.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from bot import __version__
from bot.budget import LOOPBACK, Budget
from bot.pace import Pacer, shared_pacer
from bot.sources import SourceError, Unreachable, transport
from bot.sources.transport import ACCEPT_ENCODING, Inflater

USER_AGENT = f"liquidity-bot/{__version__} (+https://github.com/liquidity-bot; Fed liquidity alerts)"
MAX_BYTES = 20 * 1024 * 1024  # after decompression
MAX_REDIRECTS = 5
CACHE_BODY_MAX = 2 * 1024 * 1024  # larger bodies are not kept for 304 replay (narrow queries are small)
NOT_MODIFIED = "liquidity_bot_not_modified"
_BUDGET = Budget(exempt=LOOPBACK)  # the process's: shared by every client made without one
WIRE_BYTES = "liquidity_bot_wire_bytes"


@dataclass
class _Cached:
    etag: str | None
    last_modified: str | None
    body: bytes
    headers: list[tuple[str, str]]


@dataclass
class HostStats:
    """Per-host counters: requests, 304s, bytes on the wire (status line + headers + body as received)."""

    requests: int = 0
    not_modified: int = 0
    bytes: int = 0
    last_bytes: int = 0


class PoliteClient(httpx.Client):
    """httpx.Client plus the politeness budget and pace, the validator cache and per-host counters."""

    def __init__(self, timeout: float, budget: Budget | None = None, pacer: Pacer | None = None, **kw: Any) -> None:
        kw.setdefault("headers", {"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING})
        super().__init__(timeout=httpx.Timeout(timeout), follow_redirects=False, **kw)
        transport.bound_by_deadline(self)
        self.total_timeout = timeout
        self.budget = budget or _BUDGET
        self.pacer = pacer or shared_pacer()
        self.validators: dict[str, _Cached] = {}
        self.stats: dict[str, HostStats] = defaultdict(HostStats)


def make_client(timeout: float, budget: Budget | None = None, pacer: Pacer | None = None) -> PoliteClient:
    """A client with our user agent, the politeness budget and pace, and no retries (the
    scheduler retries).

    Without `budget` / `pacer`, every client of the process shares one of each (so `fetch`
    and the pollers never double a pace): 60/minute and 1,500/day per remote host, loopback
    exempt (local mirrors and test fakes), and FRED's per-second paces (bot/pace.py)."""
    return PoliteClient(timeout, budget, pacer)


def not_modified(resp: httpx.Response) -> bool:
    """True when `resp` replays a cached body because the server answered 304 Not Modified."""
    return bool(resp.extensions.get(NOT_MODIFIED))


def _key(url: str, params: Mapping[str, str] | None) -> str:
    return url + "?" + urlencode(sorted((params or {}).items()))


def _same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


def _storable(resp: httpx.Response) -> bool:
    """`Cache-Control: no-store` (the NY Fed's API sends it) forbids keeping the body to replay."""
    return "no-store" not in resp.headers.get("Cache-Control", "").lower()


def _head_bytes(resp: httpx.Response) -> int:
    return len(f"HTTP/1.1 {resp.status_code} {resp.reason_phrase}\r\n") + sum(
        len(k) + len(v) + 4 for k, v in resp.headers.raw) + 2


def _read(resp: httpx.Response, what: str) -> bytes:
    """The decoded body, refused past MAX_BYTES (checked while decompressing, at every layer
    of the encoding chain; the deadline is enforced below, on every socket read)."""
    declared = resp.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > MAX_BYTES:
        raise SourceError(f"{what}: response of {int(declared) / 2**20:.0f} MB refused (limit {MAX_BYTES / 2**20:.0f} MB)")
    inflater = Inflater(resp.headers.get("Content-Encoding", ""), MAX_BYTES, what)
    chunks, size, wire = [], 0, 0
    for raw in resp.iter_raw():
        wire += len(raw)
        for chunk in inflater.feed(raw):
            size += len(chunk)
            if size > MAX_BYTES:
                raise SourceError(f"{what}: response over {MAX_BYTES / 2**20:.0f} MB refused")
            chunks.append(chunk)
    resp.extensions[WIRE_BYTES] = wire
    return b"".join(chunks)


def _request(client: httpx.Client, url: str, params: Mapping[str, str] | None, what: str) -> httpx.Response:
    timeout = getattr(client, "total_timeout", None) or (client.timeout.read or 20.0)
    deadline = time.monotonic() + timeout
    budget: Budget | None = getattr(client, "budget", None)
    cache: dict[str, _Cached] | None = getattr(client, "validators", None)
    stats = getattr(client, "stats", None)
    key = _key(url, params)
    cached = cache.get(key) if cache is not None else None
    headers = {}
    if cached and cached.etag:
        headers["If-None-Match"] = cached.etag
    if cached and cached.last_modified:
        headers["If-Modified-Since"] = cached.last_modified
    target = httpx.URL(url, params=params) if params else httpx.URL(url)  # params=None would drop a query in url
    pacer: Pacer | None = getattr(client, "pacer", None)
    for _ in range(MAX_REDIRECTS + 1):
        if pacer is not None:  # before the budget: the budget counts the moment it is sent
            pacer.wait(target.host, target.port, what)
        if budget is not None:
            budget.acquire(target.host)
        remaining = max(0.1, deadline - time.monotonic())
        head = False
        try:  # each phase gets at most what is left of the whole request's time (bot/sources/transport.py)
            with transport.deadline(deadline), \
                    client.stream("GET", target, headers=headers, timeout=httpx.Timeout(remaining)) as resp:
                head = True
                body = _read(resp, what)
        except (httpx.TimeoutException, httpx.NetworkError) as exc:
            if head:
                raise
            raise Unreachable(_network_error(client, what, exc)) from None
        if stats is not None:
            s = stats[target.host]
            s.requests += 1
            s.last_bytes = _head_bytes(resp) + resp.extensions.get(WIRE_BYTES, len(body))
            s.bytes += s.last_bytes
        if pacer is not None:
            pacer.answered(target.host, target.port, resp.status_code, resp.headers.get("Retry-After"))
        if resp.status_code in (301, 302, 303, 307, 308):
            nxt = resp.next_request.url if resp.next_request else None
            if nxt is None or not _same_origin(target, nxt):
                where = nxt.host if nxt is not None else "nowhere"
                raise SourceError(f"{what}: redirect to another host ({where}) not followed")
            target = nxt
            continue
        if resp.status_code == 304 and cached is not None:
            if stats is not None:
                stats[target.host].not_modified += 1
            return httpx.Response(200, headers=cached.headers, content=cached.body, request=resp.request,
                                  extensions={NOT_MODIFIED: True})
        out = httpx.Response(resp.status_code, headers=[(k, v) for k, v in resp.headers.items()
                                                         if k.lower() not in ("content-encoding", "content-length",
                                                                              "transfer-encoding")],
                             content=body, request=resp.request)
        if resp.status_code == 200 and cache is not None and len(body) <= CACHE_BODY_MAX and _storable(resp):
            etag, lm = resp.headers.get("ETag"), resp.headers.get("Last-Modified")
            if etag or lm:
                cache[key] = _Cached(etag, lm, body, list(out.headers.items()))
        return out
    raise SourceError(f"{what}: more than {MAX_REDIRECTS} redirects")


def _network_error(client: httpx.Client, what: str, exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        limit = getattr(client, "total_timeout", None)
        return f"{what}: timed out" + (f" (no complete answer within {limit:g} s)" if limit else "")
    return f"{what}: network error ({type(exc).__name__}: {exc})"


def get(client: httpx.Client, url: str, params: Mapping[str, str] | None, what: str,
        raise_for_status: bool = True) -> httpx.Response:
    """GET or raise SourceError naming `what` (never the full URL: it may carry a key).

    A 304 comes back as the remembered 200 body (see `not_modified`). With
    `raise_for_status=False` a 4xx/5xx answer is returned for the caller to explain."""
    try:
        resp = _request(client, url, params, what)
    except httpx.HTTPError as exc:
        raise SourceError(_network_error(client, what, exc)) from None
    if raise_for_status and resp.status_code >= 400:
        raise SourceError(f"{what}: HTTP {resp.status_code} {resp.reason_phrase}")
    return resp


def get_json(client: httpx.Client, url: str, params: Mapping[str, str] | None, what: str) -> dict[str, Any]:
    """GET a JSON object or raise SourceError."""
    resp = get(client, url, params, what)
    try:
        body = resp.json()
    except ValueError:
        raise SourceError(f"{what}: response is not JSON ({resp.text[:80]!r})") from None
    if not isinstance(body, dict):
        raise SourceError(f"{what}: expected a JSON object, got {type(body).__name__}")
    return body
