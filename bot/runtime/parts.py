"""The running bot's parts and the state its jobs share (the base of `App`)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.catalog import Catalog
from bot.chat.adapter import ChatAdapter
from bot.clock import utcnow
from bot.commands import CommandService
from bot.config import Settings
from bot.delivery import Deliverer
from bot.engine import Engine
from bot.health import HealthServer, Telemetry
from bot.leader import PgLeader, Solo
from bot.rules.loader import LoadedRules
from bot.schedule import ReleasePoller
from bot.sources import Source
from bot.store import Storage

log = logging.getLogger("bot.runtime")


class StartupError(Exception):
    """The bot cannot start (invalid rules, unusable settings); the message says why."""


@dataclass
class SourceHealth:
    """Outage bookkeeping: log once per outage, back off between attempts."""

    failures: int = 0
    next_try: float = 0.0
    last_success: str | None = None
    data_date: str | None = None
    last_error: str | None = None
    attempted: bool = False  # the first fetch attempt in this process has finished
    series_errors: dict[str, str] = field(default_factory=dict)  # series failing on their own


@dataclass
class AppParts:
    """The running bot's parts (made by `build`) and the state its jobs share."""

    settings: Settings
    catalog: Catalog
    loaded: LoadedRules
    store: Storage               # the loop's connection (commands, delivery, health)
    engine: Engine               # runs only on `engine_thread`, with its own connection
    sources: list[Source]
    commands: CommandService
    adapters: list[ChatAdapter]
    deliverer: Deliverer
    out: TextIO
    clock: Callable[[], datetime] = utcnow
    metrics: Telemetry = field(default_factory=Telemetry)

    def __post_init__(self) -> None:
        self.started = time.monotonic()
        self.health: dict[str, SourceHealth] = {src.name: SourceHealth() for src in self.sources}
        self.stop_event = asyncio.Event()
        self.engine_thread = ThreadPoolExecutor(1, thread_name_prefix="engine")
        self.scheduler = AsyncIOScheduler(timezone="America/New_York")
        self.healthsrv: HealthServer | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._eval_lock = asyncio.Lock()
        self._told: list[str] = []  # the problems /healthz last logged (each logged once)
        self._unevaluated: dict[str, str] | None = None  # changes an evaluation could not store, to redo
        self.pollers: dict[str, ReleasePoller] = {}  # release windows per source
        served = {s.id for src in self.sources for s in src.series()}
        self._unserved = set(self.catalog.series) - served  # nothing will ever come for these
        self._settled: set[str] = set(self._unserved)
        self.engine.settled = lambda: set(self._settled)
        # Replicas on PostgreSQL: one leader (advisory lock) fetches and evaluates; all deliver.
        self.leader: PgLeader | Solo = PgLeader(self.settings.secret("database_url") or "") \
            if self.store.shared else Solo()
        if isinstance(self.leader, PgLeader):  # leader-only writes commit only under the lock
            self.store.fence = self.engine.store.fence = self.leader.holder_pid

    async def in_engine(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run `fn` on the engine thread (evaluation, replay, rule loading, pruning)."""
        return await asyncio.get_running_loop().run_in_executor(self.engine_thread, fn, *args)

    def say(self, line: str) -> None:
        """One line of start-up / shutdown output for the operator."""
        print(line, file=self.out, flush=True)
