"""Politeness budget: the one place that decides whether another request may go out.

Per host at most `per_minute` requests in any 60 s (FRED's API allows 120 a minute per key;
we stay at half), and per source at most `per_day` requests per US/Eastern calendar day.
The clock is injected so tests and the benchmark run on a fake one.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from bot.sources import SourceError

ET = ZoneInfo("America/New_York")
PER_MINUTE = 60
PER_DAY = 1500
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class BudgetExceeded(SourceError):
    """A request was refused locally because it would exceed the politeness budget."""


class Budget:
    """Sliding one-minute window per host, daily counter per source (US/Eastern day). Thread-safe."""

    def __init__(self, per_minute: int = PER_MINUTE, per_day: int = PER_DAY,
                 clock: Callable[[], float] = time.time, exempt: frozenset[str] = frozenset()) -> None:
        self.exempt = exempt  # hosts not counted (the bot's default exempts loopback: local mirrors, fakes)
        self.per_minute = per_minute
        self.per_day = per_day
        self._clock = clock  # seconds since the epoch (wall clock: the day counter needs the date)
        self._recent: dict[str, deque[float]] = defaultdict(deque)
        self._day: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()

    def _et_day(self, now: float) -> str:
        return datetime.fromtimestamp(now, timezone.utc).astimezone(ET).date().isoformat()

    def acquire(self, host: str, source: str | None = None) -> None:
        """Count one request to `host` for `source` (default: the host), or raise BudgetExceeded."""
        source = source or host
        if host in self.exempt:
            return
        with self._lock:
            now = self._clock()
            recent = self._recent[host]
            while recent and recent[0] <= now - 60.0:
                recent.popleft()
            if len(recent) >= self.per_minute:
                raise BudgetExceeded(f"{source}: politeness budget: {self.per_minute} requests a minute to {host} "
                                     f"used; next slot in {recent[0] + 60.0 - now:.0f}s")
            day = self._et_day(now)
            seen_day, used = self._day.get(source, (day, 0))
            if seen_day != day:
                used = 0
            if used >= self.per_day:
                raise BudgetExceeded(f"{source}: politeness budget: {self.per_day} requests today (US/Eastern) used")
            recent.append(now)
            self._day[source] = (day, used + 1)

    def used_today(self, source: str) -> int:
        """Requests counted for `source` on the current US/Eastern day."""
        with self._lock:
            day, used = self._day.get(source, ("", 0))
            return used if day == self._et_day(self._clock()) else 0
