"""One place for HTTP GETs to JSON/CSV sources: timeouts, status checks, clear errors."""

from __future__ import annotations

import httpx

from bot import __version__
from bot.sources import SourceError

USER_AGENT = f"liquidity-bot/{__version__}"


def make_client(timeout: float) -> httpx.Client:
    """A client with a timeout on every phase and our user agent; no retries (the scheduler retries)."""
    return httpx.Client(timeout=httpx.Timeout(timeout), headers={"User-Agent": USER_AGENT},
                        follow_redirects=True)


def get(client: httpx.Client, url: str, params: dict | None, what: str) -> httpx.Response:
    """GET or raise SourceError naming `what` (never the full URL: it may carry a key)."""
    try:
        resp = client.get(url, params=params)
    except httpx.TimeoutException:
        raise SourceError(f"{what}: timed out") from None
    except httpx.HTTPError as exc:
        raise SourceError(f"{what}: network error ({type(exc).__name__}: {exc})") from None
    if resp.status_code >= 400:
        raise SourceError(f"{what}: HTTP {resp.status_code} {resp.reason_phrase}")
    return resp


def get_json(client: httpx.Client, url: str, params: dict | None, what: str) -> dict:
    """GET a JSON object or raise SourceError."""
    resp = get(client, url, params, what)
    try:
        body = resp.json()
    except ValueError:
        raise SourceError(f"{what}: response is not JSON ({resp.text[:80]!r})") from None
    if not isinstance(body, dict):
        raise SourceError(f"{what}: expected a JSON object, got {type(body).__name__}")
    return body
