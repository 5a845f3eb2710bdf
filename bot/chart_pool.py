"""Charts render in a separate process: matplotlib is pure Python and holds the GIL, so in a thread
a slow chart stalls the event loop's command replies; in a process it costs them nothing.

One worker by default (each holds ~70 MB with matplotlib loaded), started with 'spawn' (forking
a process that runs threads is unsafe) and warmed up by importing matplotlib before its first job.
A worker that dies (out of memory) is replaced on the next chart.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from bot.chart import ChartSpec

log = logging.getLogger(__name__)
S = TypeVar("S")


def _warm(parent: int) -> None:
    """Worker initializer: import what every chart needs, and look up the CJK font once."""
    # Ctrl-C reaches the whole process group: the bot stops its worker, which must not print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(parent,), daemon=True, name="parent-watch").start()
    from matplotlib.backends import backend_agg  # noqa: F401
    from matplotlib.figure import Figure  # noqa: F401

    from bot.chart import cjk_font

    cjk_font()


def _exit_with(parent: int) -> None:
    """A worker whose bot was killed (SIGKILL, OOM) would idle forever holding ~120 MB: leave too."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _render(spec: ChartSpec) -> bytes:
    from bot.chart import render_chart

    return render_chart(spec)


def _font() -> str | None:
    from bot.chart import cjk_font

    return cjk_font()


class ChartPool:
    """A lazily started process pool for render_chart."""

    def __init__(self, workers: int = 1):
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_warm, initargs=(os.getpid(),))
            return self._pool

    def start(self) -> None:
        """Start the workers now (at bot start-up), so the first chart does not wait for them."""
        pool = self._executor()
        for _ in range(self.workers):
            pool.submit(_font)

    async def render(self, spec: ChartSpec) -> bytes:
        """PNG bytes of `spec`, rendered in a worker process."""
        return await self.call(_render, spec)

    async def call(self, fn: Callable[[S], bytes], spec: S) -> bytes:
        """`fn(spec)` (a module-level renderer, picklable) in a worker process; one retry on a fresh
        pool if the worker died."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor(), fn, spec)
        except BrokenProcessPool:
            log.warning("chart worker died; starting a new one")
            self._discard()
            return await loop.run_in_executor(self._executor(), fn, spec)

    def _discard(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        """Stop the workers (at exit); a later chart starts new ones."""
        self._discard()
