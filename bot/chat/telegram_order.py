"""Telegram update processing: chats run concurrently, one chat's updates one after another.

PTB's own processor runs updates concurrently with no per-chat order. Ours admits each update
first (the per-user throttle), then queues it on its chat's lock. Both happen synchronously
when the update arrives, so a chat's replies, including the slow-down notice, keep arrival order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from telegram import Update
from telegram.ext import BaseUpdateProcessor

Verdict = Literal["ok", "warn", "drop"]


class ChatOrderedProcessor(BaseUpdateProcessor):
    """`admit(update)` decides ok / warn / drop; `warn(update)` sends the notice in order."""

    def __init__(self, max_concurrent_updates: int,
                 admit: Callable[[Update], Verdict], warn: Callable[[Update], Awaitable[None]]):
        super().__init__(max_concurrent_updates)
        self._admit, self._warn = admit, warn
        self._locks: dict[str, asyncio.Lock] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        verdict: Verdict = self._admit(update) if isinstance(update, Update) else "ok"
        if verdict == "drop":
            _close(coroutine)
            return
        if chat is None:
            await coroutine
            return
        key = str(chat.id)
        lock = self._locks.get(key) or self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:  # asyncio locks are FIFO: waiters queue in arrival order
                if verdict == "warn":
                    _close(coroutine)
                    await self._warn(update)  # type: ignore[arg-type]
                else:
                    await coroutine
        except asyncio.CancelledError:
            _close(coroutine)  # shut down while it waited its turn: it never ran (no "never awaited" warning)
            raise
        if len(self._locks) > 10_000:  # forget idle chats
            self._locks = {k: v for k, v in self._locks.items() if v.locked()}

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


def _close(coroutine: Awaitable[Any]) -> None:
    close = getattr(coroutine, "close", None)
    if close:  # never awaited on purpose: close it so Python does not warn
        close()
