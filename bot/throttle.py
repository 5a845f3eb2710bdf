"""Per-user command throttle: more than `limit` commands in `window` seconds earns one "slow
down" notice, then the user's commands are ignored for `quiet` seconds. Nobody else notices.
Pure apart from the clock it is given."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Literal

Verdict = Literal["ok", "warn", "drop"]


class Throttle:
    def __init__(self, limit: int = 10, window: float = 60.0, quiet: float = 60.0,
                 clock: Callable[[], float] = time.monotonic):
        self.limit, self.window, self.quiet, self.clock = limit, window, quiet, clock
        self._seen: dict[str, deque[float]] = {}
        self._muted_until: dict[str, float] = {}

    def check(self, user: str) -> Verdict:
        """Count one command from `user`: ok to answer, warn (answer with the notice only), or drop."""
        now = self.clock()
        if self._muted_until.get(user, 0.0) > now:
            return "drop"
        q = self._seen.setdefault(user, deque())
        while q and now - q[0] >= self.window:
            q.popleft()
        q.append(now)
        if len(q) > self.limit:
            self._muted_until[user] = now + self.quiet
            q.clear()
            return "warn"
        if len(self._seen) > 100_000:  # forget users not seen within the window
            self._seen = {u: d for u, d in self._seen.items() if d and now - d[-1] < self.window}
        return "ok"
