"""`liquidity-bot run`: scheduler, sources, rule evaluation, delivery, chat adapters, health.

Everything runs on one asyncio loop; the store is only used from the loop's thread
(network fetches run in worker threads and hand their rows back).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TextIO

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.catalog import default_catalog
from bot.chat.console import CONSOLE_CHAT, ConsoleAdapter
from bot.commands import CommandService
from bot.clock import utcnow
from bot.config import Settings
from bot.delivery import Adapter, Deliverer
from bot.engine import Engine
from bot.health import HealthServer, Metrics
from bot.ingest import SourceReport, ingest_source_async
from bot.rules.loader import LoadedRules, load_rules
from bot.schedule import BACKGROUND, CALENDAR, Window, poll_trigger, window_done, window_trigger
from bot.sources import Source
from bot.store import AlreadyRunning, open_store  # --- pg ---
from bot.leader import PgLeader, Solo  # --- pg ---
from bot.wiring import build_sources

log = logging.getLogger("bot.runtime")
FILE_POLL_SECONDS = 60.0


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
    new_data_at: dict[str, datetime] = field(default_factory=dict)  # series -> when it last brought news
    series_errors: dict[str, str] = field(default_factory=dict)  # series failing on their own


@dataclass
class App:
    settings: Settings
    data_dirs: list[str] | None = None
    skip_bad_rules: bool = False
    out: TextIO = field(default_factory=lambda: sys.stdout)

    def __post_init__(self) -> None:
        self.catalog = default_catalog()
        self.metrics = Metrics()
        self.started = time.monotonic()
        self.health: dict[str, SourceHealth] = {}
        self.stop_event = asyncio.Event()
        self.adapters: list[Adapter] = []
        self._tasks: list[asyncio.Task] = []
        self._eval_lock = asyncio.Lock()

    # ---- rules ---------------------------------------------------------------------------
    def load_rules(self, initial: bool) -> LoadedRules:
        loaded = load_rules(self.settings.rules_dir, self.catalog)
        for p in loaded.problems:
            log.error("rules: %s", p)
        if loaded.problems and initial and not self.skip_bad_rules:
            raise StartupError(f"{len(loaded.problems)} problem(s) in rules at {self.settings.rules_dir} "
                               "(see above); fix them or start with --skip-bad-rules")
        return loaded

    def reload_rules(self) -> str:
        """Reload rules; on errors keep the last good set. Returns a one-line report."""
        loaded = self.load_rules(initial=False)
        if loaded.problems:
            return f"kept the {len(self.engine.rules)} current rules: {len(loaded.problems)} problem(s), first: {loaded.problems[0]}"
        self.engine.rules = loaded.rules
        return f"reloaded {len(loaded.rules)} rules"

    # ---- lifecycle -----------------------------------------------------------------------
    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    async def start(self) -> None:
        s = self.settings
        loaded = self.load_rules(initial=True)
        # --- pg --- (store from DATABASE_URL or DATABASE_PATH; one SQLite instance; leader election)
        self.store = open_store(s)
        if not self.store.shared:
            self.store.claim_instance()  # AlreadyRunning: serve() exits 1
        self.leader = PgLeader(s.database_url) if self.store.shared else Solo()
        # --- end pg ---
        self.sources: list[Source] = build_sources(s, self.catalog, self.data_dirs)
        self.commands = CommandService(self.store, self.catalog, lambda: self.engine.rules, utcnow)
        self.adapters = self._adapters()
        feeds = [("console", CONSOLE_CHAT)] if any(a.platform == "console" for a in self.adapters) else []
        if s.slack_feed_channel and any(a.platform == "slack" for a in self.adapters):
            feeds.append(("slack", s.slack_feed_channel))
        self.engine = Engine(self.store, self.catalog, loaded.rules, feeds, {a.platform for a in self.adapters})
        for a in self.adapters:
            if a.platform == "telegram" and self.store.shared and not s.telegram_webhook_url:
                a.poll_updates = False  # --- pg --- long polling on the leader only (_leadership)
            start = getattr(a, "start", None)
            if start:
                try:
                    await start()
                except Exception as exc:
                    raise StartupError(f"{a.platform}: cannot start ({type(exc).__name__}: {exc})") from None
        self.deliverer = Deliverer(self.store, self.adapters, utcnow)
        self.scheduler = AsyncIOScheduler(timezone="America/New_York")
        for src in self.sources:
            self.health[src.name] = SourceHealth()
            for job_id, trigger, window in self._jobs(src):
                self.scheduler.add_job(self.poll, trigger, args=[src, window], id=job_id, replace_existing=True,
                                       coalesce=True, max_instances=1, misfire_grace_time=300)
        self.scheduler.add_job(self.evaluate, "interval", minutes=15, id="evaluate", coalesce=True,
                               max_instances=1, misfire_grace_time=300)
        self.scheduler.start()
        self.healthsrv = None
        if s.health_port:
            self.healthsrv = HealthServer(s.health_port, self.healthz, self.prometheus)
            try:
                await self.healthsrv.start()
            except OSError as exc:
                log.error("health endpoint: cannot listen on port %s (%s); continuing without it", s.health_port, exc)
                self.healthsrv = None
        self._tasks.append(asyncio.create_task(self.deliverer.run(self.stop_event), name="delivery"))
        if self.store.shared:  # --- pg ---
            self._tasks.append(asyncio.create_task(self.leader.run(self.stop_event, self._leadership), name="leader"))
        self._summary(loaded)
        # First fetch right away, not at the first calendar slot.
        first = [asyncio.create_task(self.poll(src), name=f"first-fetch-{src.name}") for src in self.sources]
        self._tasks += first
        if any(a.platform == "console" for a in self.adapters):
            self._tasks.append(asyncio.create_task(self._console_snapshot(first), name="first-snapshot"))

    # --- pg ---
    async def _leadership(self, leader: bool) -> None:
        """Replicas: a new leader fetches at once and takes Telegram long polling; a follower lets go."""
        for a in self.adapters:
            if a.platform == "telegram" and hasattr(a, "set_polling") and not self.settings.telegram_webhook_url:
                try:
                    await a.set_polling(leader)
                except Exception:
                    log.exception("telegram: switching long polling %s", "on" if leader else "off")
        if leader:
            self._tasks += [asyncio.create_task(self.poll(src), name=f"leader-fetch-{src.name}")
                            for src in self.sources]
    # --- end pg ---

    async def _console_snapshot(self, first_fetches: list[asyncio.Task]) -> None:
        """Console mode: once the first fetches are done, show what the bot now knows."""
        await asyncio.wait(first_fetches)
        if not self.stop_event.is_set():
            reply = self.commands.status_text()
            self.say("liquidity-bot: latest data\n" + reply.text)

    def _jobs(self, src: Source) -> list[tuple[str, object, Window | None]]:
        """(job id, trigger, release window) for one source: a fixed interval with POLL_SECONDS
        (and for --data files), else each release window plus the slow background poll."""
        if self.settings.poll_seconds or src.name == "files":
            return [(f"fetch-{src.name}", poll_trigger(self.settings.poll_seconds or FILE_POLL_SECONDS), None)]
        jobs: list[tuple[str, object, Window | None]] = [(f"fetch-{src.name}", BACKGROUND, None)]
        for i, w in enumerate(CALENDAR.get(src.name, [])):
            jobs.append((f"fetch-{src.name}-window-{i}", window_trigger(w), w))
        return jobs

    def _next_fetch(self, src: Source) -> str:
        times = [j.next_run_time for j in self.scheduler.get_jobs()
                 if j.id.startswith(f"fetch-{src.name}") and j.next_run_time]
        return min(times).isoformat(timespec="minutes") if times else "n/a"

    def _adapters(self) -> list[Adapter]:
        """Every chat adapter whose token is set; the console when none is."""
        s = self.settings
        adapters: list[Adapter] = []
        if s.telegram_bot_token:
            from bot.chat.telegram import TelegramAdapter

            adapters.append(TelegramAdapter(self.commands, s, self.reload_rules))
        if s.slack_bot_token:
            from bot.chat.slack import SlackAdapter

            adapters.append(SlackAdapter(self.commands, s))
        return adapters or [ConsoleAdapter(self.out)]

    def _summary(self, loaded: LoadedRules) -> None:
        s = self.settings
        self.say(f"liquidity-bot: database {self.store.describe()} ({self.store.observation_count()} observations stored)")
        self.say(f"liquidity-bot: {len(loaded.rules)} rules from {s.rules_dir}"
                 + (f" ({len(loaded.problems)} problem(s) skipped)" if loaded.problems else ""))
        names = ", ".join(f"{a.platform} ({a.mode} mode)" if hasattr(a, "mode") else a.platform for a in self.adapters)
        extra = " (no chat token set: alerts print here)" if names == "console" else ""
        self.say(f"liquidity-bot: chat adapters: {names}{extra}")
        for src in self.sources:
            nxt = self._next_fetch(src)
            how = f"every {self.settings.poll_seconds:g}s" if self.settings.poll_seconds else (
                f"every {FILE_POLL_SECONDS:g}s" if src.name == "files" else "release calendar (US/Eastern)")
            where = f" from {', '.join(map(str, src.dirs))}" if src.name == "files" else ""
            self.say(f"liquidity-bot: source {src.name}{where}: {how}; fetching now, next scheduled {nxt}")
        port = self.healthsrv.port if self.healthsrv else None
        self.say(f"liquidity-bot: health on http://127.0.0.1:{port}/healthz" if port else "liquidity-bot: health endpoint off")
        self.say("liquidity-bot: ready")

    async def run_until_stopped(self) -> None:
        await self.stop_event.wait()

    async def shutdown(self) -> None:
        """Stop taking updates, let in-flight deliveries finish (bounded), close the database."""
        self.stop_event.set()
        if getattr(self, "scheduler", None) and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        for a in self.adapters:
            stop = getattr(a, "stop", None)
            if stop:
                try:
                    await asyncio.wait_for(stop(), 5)
                except Exception:
                    log.exception("stopping %s", a.platform)
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=5)
            for t in pending:
                t.cancel()
        if getattr(self, "healthsrv", None):
            await self.healthsrv.stop()
        if getattr(self, "store", None):
            self.store.close()

    # ---- jobs ----------------------------------------------------------------------------
    async def poll(self, src: Source, window: Window | None = None) -> SourceReport | None:
        """Fetch one source (respecting its outage backoff and, inside a release window, skipping
        once the window's series arrived); evaluate rules if data is new."""
        h = self.health[src.name]
        if not self.leader.is_leader:  # --- pg --- followers neither fetch nor evaluate
            return None
        if time.monotonic() < h.next_try or self.stop_event.is_set():
            return None
        if window and window_done(window, h.new_data_at, datetime.now(timezone.utc)):
            return None
        report = await ingest_source_async(self.store, src, utcnow)
        self.metrics.inc("fetches_total", source=src.name)
        if report.down:
            self.metrics.inc("fetch_errors_total", source=src.name)
            h.failures += 1
            h.last_error = report.errors[0].error
            base = min(self.settings.poll_seconds or 60.0, 60.0)
            h.next_try = time.monotonic() + min(1800.0, base * 2 ** (h.failures - 1))
            if h.failures == 1:
                log.warning("source %s unreachable: %s (retrying with backoff; logged once per outage)",
                            src.name, h.last_error)
            return report
        if h.failures:
            log.info("source %s is back after %d failed attempts", src.name, h.failures)
        self._log_series_errors(src.name, h, report)
        h.failures, h.next_try, h.last_error = 0, 0.0, None
        h.last_success = utcnow().isoformat(timespec="seconds")
        h.data_date = report.last_date or h.data_date
        if report.added:
            stamp = datetime.now(timezone.utc)
            h.new_data_at.update({r.series: stamp for r in report.results if r.added})
            log.info("%s", report.summary())
            await self.evaluate()
        return report

    def _log_series_errors(self, source: str, h: SourceHealth, report: SourceReport) -> None:
        """A series failing while its source works: one line when it starts, one when it recovers."""
        now_failing = {r.series: r.error or "" for r in report.errors}
        for series, error in now_failing.items():
            if series not in h.series_errors:
                log.warning("source %s series %s: %s (logged once until it recovers)", source, series, error)
        for series in set(h.series_errors) - set(now_failing):
            log.info("source %s series %s recovered", source, series)
        h.series_errors = now_failing

    async def evaluate(self) -> None:
        if not self.leader.is_leader:  # --- pg ---
            return
        async with self._eval_lock:
            ids = self.engine.evaluate(utcnow())
        if ids:
            self.metrics.inc("alerts_total", len(ids))
            self.deliverer.wake.set()

    # ---- health --------------------------------------------------------------------------
    def healthz(self) -> dict:
        counts = self.store.outbox_counts()
        failing = [n for n, h in self.health.items() if h.failures]
        return {
            "status": "degraded" if failing else "ok",
            "uptime_seconds": round(time.monotonic() - self.started, 1),
            "sources": {n: {"last_success": h.last_success, "data_date": h.data_date, "failures": h.failures,
                            "last_error": h.last_error} for n, h in self.health.items()},
            "outbox": {"pending": counts["pending"], "failed": counts["failed"], "sent": counts["sent"]},
            "rules_loaded": len(self.engine.rules),
            "firing": self.store.firing_rules(),
            "adapters": [a.platform for a in self.adapters],
            # --- pg ---
            "store": self.store.kind,
            "role": "leader" if self.leader.is_leader else "follower",
            "outbox_claimed": self.store.claimed_count(utcnow().isoformat(timespec="seconds")),
        }

    def prometheus(self) -> str:
        counts = self.store.outbox_counts()
        return self.metrics.render({"outbox_pending": counts["pending"], "outbox_failed": counts["failed"],
                                    "deliveries_sent_total": self.deliverer.sent,
                                    "deliveries_failed_total": self.deliverer.failed,
                                    "rules_loaded": len(self.engine.rules),
                                    "uptime_seconds": round(time.monotonic() - self.started, 1)})


async def serve(app: App) -> int:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, app.stop_event.set)
        except (NotImplementedError, RuntimeError):
            pass
    try:
        loop.add_signal_handler(signal.SIGHUP, lambda: log.info("SIGHUP: %s", app.reload_rules()))
    except (NotImplementedError, RuntimeError, AttributeError):
        pass
    try:
        await app.start()
    except AlreadyRunning as exc:  # --- pg --- a second `run` on the same SQLite file
        log.error("%s", exc)
        await app.shutdown()
        return 1
    except StartupError as exc:
        log.error("%s", exc)
        await app.shutdown()
        return 2
    await app.run_until_stopped()
    app.say("liquidity-bot: stopping")
    await app.shutdown()
    return 0


def run(settings: Settings, data_dirs: list[str] | None = None, skip_bad_rules: bool = False) -> int:
    """Run the bot until SIGTERM / SIGINT; exit code 0 on a clean stop."""
    return asyncio.run(serve(App(settings, data_dirs, skip_bad_rules)))
