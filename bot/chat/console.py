"""Console adapter: alerts printed to stdout when no chat token is set (and in the demo)."""

from __future__ import annotations

import sys
from typing import TextIO

from bot.delivery import Limits, SendResult
from bot.format import AlertMessage

CONSOLE_CHAT = "stdout"


class ConsoleAdapter:
    platform = "console"
    limits = Limits(per_second=1000, per_chat_interval=0, group_interval=0, concurrency=1)

    def __init__(self, out: TextIO | None = None):
        self.out = out or sys.stdout
        self.count = 0

    async def send(self, chat_id: str, message: AlertMessage) -> SendResult:
        """Print one alert as a framed block."""
        bar = "─" * 72
        print(f"{bar}\n{message.to_text()}\n{bar}", file=self.out, flush=True)
        self.count += 1
        return SendResult("ok")
