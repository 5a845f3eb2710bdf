"""Per-user command throttle: a token bucket. A user may send `burst` commands (and chart buttons)
in a row, then one every `every` seconds: browsing a few charts a minute never notices it. A command
over the limit is answered with one "slow down" notice (at most one per `notice_every` seconds);
the ones after it in the same flood are skipped. Nobody else notices. Pure apart from the clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from bot.i18n import tr

Admission = Literal["ok", "warn", "drop"]
MAX_PENDING = 3   # a user's commands running or waiting at once (one runs, two wait); more are over the limit


class Throttle:
    def __init__(self, burst: int = 20, every: float = 6.0, notice_every: float = 60.0,
                 clock: Callable[[], float] = time.monotonic):
        self.burst, self.every, self.notice_every, self.clock = burst, every, notice_every, clock
        self._tokens: dict[str, tuple[float, float]] = {}   # user -> (tokens, when counted)
        self._noticed: dict[str, float] = {}                  # user -> when the last notice went
        self._pending: dict[str, int] = {}                    # user -> commands running or waiting

    def enter(self, user: str) -> Admission:
        """A command from `user` arrives: `check` it, and refuse it while MAX_PENDING of the user's
        commands are still running or waiting. After "ok", call `leave(user)` once it is answered."""
        verdict = self.refuse(user) if self._pending.get(user, 0) >= MAX_PENDING else self.check(user)
        if verdict == "ok":
            self._pending[user] = self._pending.get(user, 0) + 1
        return verdict

    def leave(self, user: str) -> None:
        """One of `user`'s admitted commands is answered."""
        left = self._pending.pop(user, 1) - 1
        if left > 0:
            self._pending[user] = left

    def check(self, user: str) -> Admission:
        """Count one command from `user`: ok to answer, warn (answer with the notice only), or drop."""
        now = self.clock()
        tokens, then = self._tokens.get(user, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) / self.every)
        if tokens >= 1.0:
            self._tokens[user] = (tokens - 1.0, now)
            if len(self._tokens) > 100_000:  # forget users whose bucket is full again
                self._forget(now)
            return "ok"
        self._tokens[user] = (tokens, now)
        return self.refuse(user)

    def refuse(self, user: str) -> Admission:
        """A command over the limit (no token, or too many of the user's commands waiting):
        the notice if the user has not had one lately, else skip it."""
        now = self.clock()
        if now - self._noticed.get(user, -float("inf")) < self.notice_every:
            return "drop"
        self._noticed[user] = now
        return "warn"

    def notice(self, lang: str) -> str:
        """The "slow down" notice in the chat's language."""
        _ = tr(lang)
        return _("Slow down: I answer {n} commands in a row, then one every {s} seconds. "
                 "Commands sent faster are skipped.").format(n=self.burst, s=f"{self.every:g}")

    def _forget(self, now: float) -> None:
        full = self.burst * self.every
        self._tokens = {u: (t, w) for u, (t, w) in self._tokens.items() if now - w < full}
        self._noticed = {u: w for u, w in self._noticed.items() if now - w < self.notice_every}
