"""Per-host pace: the least time between two request starts to one host, and Retry-After holds.

FRED's API answers 429 above about 2 requests a second and rejects micro-bursts; the keyless
CSV host's robots.txt asks `Crawl-delay: 1` and bursts there go unanswered. So requests to
those hosts are spaced, not bursted: a caller waits for its slot (at most `max_wait`), it is
not refused. A 429 or 503 with `Retry-After` (seconds or an HTTP date, any source) holds the
host until then (capped at an hour): requests within `max_wait` of the end wait for it, later
ones are refused without being sent. The wait is logged once per host per episode.

One `Pacer` per process (`shared_pacer`), so `fetch`, the release pollers and the background
polls share it. Across processes on one database the slots are reserved in the store
(`StoreSlots`); when the store cannot answer, this process keeps its own pace at half speed.
Clock and sleep are injected; thread-safe.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from bot.sources import SourceError

log = logging.getLogger(__name__)

FRED_CSV_HOST = "fred.stlouisfed.org"
FRED_API_HOST = "api.stlouisfed.org"
# Least seconds between two request starts to a host (others: no pace, only the budget).
INTERVALS = {FRED_CSV_HOST: 1.0, FRED_API_HOST: 0.5}
MAX_WAIT = 10.0  # longer waits are refused: a fetch thread must not outlive SIGTERM by much
RETRY_AFTER_CAP = 3600.0

# (key, now, interval) -> the reserved start time; atomic across processes (the store).
SlotFn = Callable[[str, float, float], float]


class Held(SourceError):
    """A request was not sent: its host asked us to wait (Retry-After) or its pace is booked further ahead."""


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a `Retry-After` value (delta-seconds or HTTP date), capped at
    RETRY_AFTER_CAP; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        seconds = float(text)
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT
            when = when.replace(tzinfo=timezone.utc)
        seconds = when.timestamp() - now
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


def _key(host: str, port: int | None) -> str:
    return host if port is None else f"{host}:{port}"  # holds per port: local fakes share a host


def _utc(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%H:%M:%S UTC")


class Pacer:
    """Spaces request starts per host and keeps Retry-After holds. Thread-safe."""

    def __init__(self, intervals: dict[str, float] | None = None, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep, max_wait: float = MAX_WAIT,
                 shared: SlotFn | None = None) -> None:
        self.intervals = dict(INTERVALS if intervals is None else intervals)
        self.max_wait = max_wait
        self.shared = shared
        self._clock, self._sleep = clock, sleep  # epoch seconds: holds come as HTTP dates
        self._next: dict[str, float] = {}
        self._held: dict[str, float] = {}
        self._told: set[str] = set()
        self._fallback_told = False
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._clock()

    def wait(self, host: str, port: int | None, what: str) -> None:
        """Block until this request's slot to `host` (at most max_wait), or raise Held."""
        key, interval, now = _key(host, port), self.intervals.get(host, 0.0), self._clock()
        with self._lock:
            held = self._held.get(key, 0.0)
        if held - now > self.max_wait:
            raise Held(f"{what}: not sent: {host} asked us to wait until {_utc(held)} (Retry-After), "
                       f"{held - now:.0f} s from now")
        if not interval and held <= now:
            return
        at = self._reserve(key, max(now, held), interval)
        if at - now > self.max_wait:  # booked ahead by another process sharing the store
            with self._lock:
                self._held[key] = max(self._held.get(key, 0.0), at)  # later requests refused at once
            raise Held(f"{what}: not sent: the next request slot to {host} is {at - now:.0f} s away")
        if at > now:
            self._sleep(at - now)

    def _reserve(self, key: str, now: float, interval: float) -> float:
        if self.shared is not None:
            try:
                return self.shared(key, now, interval)
            except Exception as exc:  # the store is busy or down: this process keeps its own half pace
                if not self._fallback_told:
                    log.warning("request pace: the store cannot share it (%s); keeping this process's "
                                "own pace at half speed", exc)
                    self._fallback_told = True
                interval *= 2
        with self._lock:
            at = max(self._next.get(key, 0.0), now)
            self._next[key] = at + interval
            return at

    def answered(self, host: str, port: int | None, status: int, retry_after_value: str | None) -> None:
        """Note a response: a 429/503 with Retry-After holds the host; a success ends an episode."""
        key = _key(host, port)
        if status in (429, 503):
            seconds = retry_after(retry_after_value, self._clock())
            if seconds is not None:
                self.hold(key, host, status, seconds)
        elif status < 400:
            with self._lock:
                self._told.discard(key)

    def hold(self, key: str, host: str, status: int, seconds: float) -> None:
        until = self._clock() + seconds
        with self._lock:
            self._held[key] = max(self._held.get(key, 0.0), until)
            first = key not in self._told
            self._told.add(key)
        if first:
            log.warning("%s answered HTTP %d with Retry-After: no request to it before %s (%.0f s; "
                        "logged once until it answers again)", host, status, _utc(until), seconds)
        if self.shared is not None:
            try:  # a slot at `until` with no width: other processes' next slots come after it
                self.shared(key, until, 0.0)
            except Exception:
                pass  # this process holds anyway; the fallback is logged by _reserve


class StoreSlots:
    """Slots reserved in the store (the `send_pace` table, keyed `http <host:port>`), through a
    connection of its own opened on first use, so processes on one database share one pace."""

    def __init__(self, open_store: Callable[[], Any]) -> None:
        self._open = open_store
        self._store: Any = None
        self._lock = threading.Lock()

    def __call__(self, key: str, now: float, interval: float) -> float:
        with self._lock:
            if self._store is None:
                self._store = self._open()
            return float(self._store.reserve_send_slot("http " + key, now, interval))

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None


_shared = Pacer()


def shared_pacer() -> Pacer:
    """The process's pacer: every client made by bot.sources.http.make_client uses it."""
    return _shared
