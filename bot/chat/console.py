"""Console adapter: alerts printed to stdout when no chat token is set (and in the demo)."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import TextIO

from bot.delivery import Limits, RateLimiter, SendResult
from bot.format import AlertMessage

CONSOLE_CHAT = "stdout"


class ConsoleAdapter:
    """A ChatAdapter printing alerts as framed blocks; it connects to nothing."""

    platform = "console"
    limits = Limits(per_second=1000, per_chat_interval=0, group_interval=0, concurrency=1)
    local: bool = True          # the operator's terminal: start-up prints a first data snapshot here
    feed: str | None = CONSOLE_CHAT   # every rule alert prints here, no subscription needed

    def __init__(self, out: TextIO | None = None):
        self.out = out or sys.stdout
        self.count = 0
        self.limiter = RateLimiter(self.limits)
        self.next_slot: Callable[[str], Awaitable[None]] = self.limiter.acquire

    def describe(self) -> str:
        """The platform name: the console has no modes."""
        return self.platform

    async def start(self) -> None:
        """Nothing to connect."""

    async def stop(self) -> None:
        """Nothing to close."""

    def await_leadership(self) -> None:
        """Every replica may print."""

    async def set_leader(self, leader: bool) -> None:
        """Every replica may print."""

    async def send(self, chat_id: str, message: AlertMessage) -> SendResult:
        """Print one alert as a framed block."""
        bar = "─" * 72
        print(f"{bar}\n{message.to_text()}\n{bar}", file=self.out, flush=True)
        self.count += 1
        return SendResult("ok")
