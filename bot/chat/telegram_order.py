"""Telegram update processing: chats run concurrently, one chat's updates one after another.

PTB's own processor runs updates concurrently with no per-chat order. Ours admits each command
first (the per-user throttle, and at most MAX_PENDING of a user's commands running or waiting),
then queues it on its chat's lock, so a chat's replies keep arrival order. A command over the
limit is answered with the slow-down notice at once, not behind the replies already queued.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import BaseUpdateProcessor

from bot.throttle import Throttle


class ChatOrderedProcessor(BaseUpdateProcessor):
    """`user_of(update)` names who is throttled (None: not a command or button, never throttled);
    `warn(update)` sends the notice."""

    def __init__(self, max_concurrent_updates: int, throttle: Throttle,
                 user_of: Callable[[Update], str | None], warn: Callable[[Update], Awaitable[None]]):
        super().__init__(max_concurrent_updates)
        self.throttle, self._user_of, self._warn = throttle, user_of, warn
        self._locks: dict[str, asyncio.Lock] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        user = self._user_of(update) if isinstance(update, Update) else None
        if user is not None:
            verdict = self.throttle.enter(user)
            if verdict != "ok":
                _close(coroutine)
                if verdict == "warn":
                    await self._warn(update)  # type: ignore[arg-type]
                elif isinstance(update, Update) and update.callback_query is not None:
                    with contextlib.suppress(TelegramError):  # a skipped press still stops the button's spinner
                        await update.callback_query.answer()
                return
        try:
            await self._in_order(update, coroutine)
        finally:
            if user is not None:
                self.throttle.leave(user)

    async def _in_order(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        key = str(chat.id)
        lock = self._locks.get(key) or self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:  # asyncio locks are FIFO: waiters queue in arrival order
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
