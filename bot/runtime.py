"""`liquidity-bot run`: scheduler, sources, rule evaluation, delivery, chat adapters, health.

`build()` is the one composition root (used by `run`, and by tests that run the app in
process): it creates every part from the settings. The asyncio loop only schedules, talks to
chat platforms and serves health; network fetches run in worker threads, and rule evaluation,
history replay, rule loading, pruning and outbox fan-out run in ONE engine thread with its
own store connection, so a long evaluation never delays a command reply or SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, TextIO

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.catalog import Catalog, default_catalog
from bot.chat.console import CONSOLE_CHAT, ConsoleAdapter
from bot.clock import utcnow
from bot.commands import CHART_POOL, CommandService
from bot.digest import queue_due_digests
from bot.config import Settings
from bot.delivery import Adapter, Deliverer
from bot.engine import Engine
from bot.health import HealthServer, Metrics
from bot.ingest import SourceReport, ingest_source_async
from bot.rules.loader import LoadedRules, load_rules
from bot.schedule import BACKGROUND, poll_trigger
from bot.schedule import ReleasePoller, SeriesSubset, release_poller  # --- polling ---
from bot.sources import Source, SourceError
from bot.leader import PgLeader, Solo
from bot.redact import is_personal
from bot.store import AlreadyRunning, ObservationStore, Storage, StoreError, open_store
from bot.store.errors import NotLeader, is_database_error
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
    attempted: bool = False  # the first fetch attempt in this process has finished
    series_errors: dict[str, str] = field(default_factory=dict)  # series failing on their own


@dataclass
class App:
    """The running bot's parts (made by `build`) and the jobs that drive them."""

    settings: Settings
    catalog: Catalog
    loaded: LoadedRules
    store: Storage               # the loop's connection (commands, delivery, health)
    engine: Engine               # runs only on `engine_thread`, with its own connection
    sources: list[Source]
    commands: CommandService
    adapters: list[Adapter]
    deliverer: Deliverer
    out: TextIO
    clock: Callable[[], datetime] = utcnow
    metrics: Metrics = field(default_factory=Metrics)

    def __post_init__(self) -> None:
        self.started = time.monotonic()
        self.health: dict[str, SourceHealth] = {src.name: SourceHealth() for src in self.sources}
        self.stop_event = asyncio.Event()
        self.engine_thread = ThreadPoolExecutor(1, thread_name_prefix="engine")
        self.scheduler = AsyncIOScheduler(timezone="America/New_York")
        self.healthsrv: HealthServer | None = None
        self._tasks: list[asyncio.Task] = []
        self._eval_lock = asyncio.Lock()
        self._told: list[str] = []  # the problems /healthz last logged (each logged once)
        self._unevaluated: dict[str, str] | None = None  # changes an evaluation could not store, to redo
        self.pollers: dict[str, ReleasePoller] = {}  # --- polling --- release windows per source
        served = {s.id for src in self.sources for s in src.series()}
        self._unserved = set(self.catalog.series) - served  # nothing will ever come for these
        self._settled: set[str] = set(self._unserved)
        self.engine.settled = lambda: set(self._settled)
        # Replicas on PostgreSQL: one leader (advisory lock) fetches and evaluates; all deliver.
        self.leader = PgLeader(self.settings.secret("database_url") or "") if self.store.shared else Solo()
        if isinstance(self.leader, PgLeader):  # leader-only writes commit only under the lock
            self.store.fence = self.engine.store.fence = self.leader.holder_pid

    # ---- engine thread -------------------------------------------------------------------
    async def in_engine(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run `fn` on the engine thread (evaluation, replay, rule loading, pruning)."""
        return await asyncio.get_running_loop().run_in_executor(self.engine_thread, fn, *args)

    # ---- rules ---------------------------------------------------------------------------
    async def reload_rules(self) -> str:
        """Reload rules off the loop; on errors keep the last good set. Returns a one-line report."""
        try:
            loaded = await self.in_engine(load_rules, self.settings.rules_dir, self.catalog)
        except Exception as exc:  # the loader reports path:line problems; anything else is one line too
            log.error("rules: reload failed: %s: %s", type(exc).__name__, exc)
            return f"kept the {len(self.engine.rules)} current rules: reload failed ({type(exc).__name__}: {exc})"
        for p in loaded.problems:
            log.error("rules: %s", p)
        if loaded.problems:
            return (f"kept the {len(self.engine.rules)} current rules: {len(loaded.problems)} problem(s), "
                    f"first: {loaded.problems[0]}")
        await self.in_engine(self.engine.set_rules, loaded.rules)
        self.commands.invalidate()
        asyncio.get_running_loop().create_task(self.evaluate(), name="evaluate-after-reload")
        return f"reloaded {len(loaded.rules)} rules"

    # ---- lifecycle -----------------------------------------------------------------------
    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    async def start(self) -> None:
        if not self.store.shared:
            self.store.claim_instance()  # a second `run` on one SQLite file: AlreadyRunning, exit 1
        for a in self.adapters:
            if a.platform == "telegram" and self.store.shared and not self.settings.telegram_webhook_url:
                a.poll_updates = False  # Telegram allows one long poller: the leader's (_leadership)
            start = getattr(a, "start", None)
            if start:
                try:
                    await start()
                except Exception as exc:
                    raise StartupError(f"{a.platform}: cannot start ({type(exc).__name__}: {exc})") from None
        for src in self.sources:
            for job_id, trigger in self._jobs(src):
                self.scheduler.add_job(self.poll, trigger, args=[src], id=job_id, replace_existing=True,
                                       coalesce=True, max_instances=1, misfire_grace_time=300)
        self.scheduler.add_job(self.evaluate, "interval", minutes=15, id="evaluate", coalesce=True,
                               max_instances=1, misfire_grace_time=300)
        self.scheduler.add_job(self.prune, "cron", hour=3, minute=17, id="prune", coalesce=True,
                               max_instances=1, misfire_grace_time=3600)
        self.scheduler.add_job(self.check_store, "interval", seconds=30, id="check-store", coalesce=True,
                               max_instances=1)
        self.scheduler.add_job(self.digests, "interval", seconds=60, id="digests", coalesce=True, max_instances=1)
        self.scheduler.start()
        await self._start_health()
        self._tasks.append(asyncio.create_task(self.deliverer.run(self.stop_event), name="delivery"))
        if self.store.shared:
            self._tasks.append(asyncio.create_task(self.leader.run(self.stop_event, self._leadership), name="leader"))
        # --- polling --- precise polling around each release (bot/schedule.py ReleasePoller)
        if not self.settings.poll_seconds:
            for src in self.sources:
                if src.name != "files":
                    self.pollers[src.name] = release_poller(self, src)
                    self._tasks.append(asyncio.create_task(self.pollers[src.name].run(), name=f"release-{src.name}"))
        self._summary()
        # First fetch right away, not at the first calendar slot.
        first = [asyncio.create_task(self.poll(src), name=f"first-fetch-{src.name}") for src in self.sources]
        self._tasks += first
        if any(a.platform == "console" for a in self.adapters):
            self._tasks.append(asyncio.create_task(self._console_snapshot(first), name="first-snapshot"))

    async def _leadership(self, leader: bool) -> None:
        """Replicas: a new leader fetches at once and takes Telegram long polling; a follower lets go.
        Either way the engine forgets what it held: the other leader may have moved on since."""
        self.engine.forget()
        for a in self.adapters:
            if a.platform == "telegram" and hasattr(a, "set_polling") and not self.settings.telegram_webhook_url:
                try:
                    await a.set_polling(leader)
                except Exception:
                    log.exception("telegram: switching long polling %s", "on" if leader else "off")
        if leader:
            self._tasks += [asyncio.create_task(self.poll(src), name=f"leader-fetch-{src.name}")
                            for src in self.sources]

    async def _start_health(self) -> None:
        s = self.settings
        if not s.health_port:
            return
        self.healthsrv = HealthServer(s.health_port, self.healthz, self.prometheus, s.health_host)
        try:
            await self.healthsrv.start()
        except OSError as exc:
            log.error("health endpoint: cannot listen on port %s (%s); continuing without it", s.health_port, exc)
            self.healthsrv = None

    async def _console_snapshot(self, first_fetches: list[asyncio.Task]) -> None:
        """Console mode: once the first fetches are done, show what the bot now knows."""
        await asyncio.wait(first_fetches)
        if not self.stop_event.is_set():
            reply = self.commands.status_text()
            self.say("liquidity-bot: latest data\n" + reply.text)

    def _jobs(self, src: Source) -> list[tuple[str, object]]:
        """(job id, trigger) for one source: a fixed interval with POLL_SECONDS (and for --data
        files), else the slow background poll; release windows are polled by ReleasePoller tasks."""
        if self.settings.poll_seconds or src.name == "files":
            return [(f"fetch-{src.name}", poll_trigger(self.settings.poll_seconds or FILE_POLL_SECONDS))]
        return [(f"fetch-{src.name}", BACKGROUND)]

    def _next_fetch(self, src: Source) -> str:
        times = [j.next_run_time for j in self.scheduler.get_jobs()
                 if j.id.startswith(f"fetch-{src.name}") and j.next_run_time]
        return min(times).isoformat(timespec="minutes") if times else "n/a"

    def _summary(self) -> None:
        s, loaded = self.settings, self.loaded
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
        self.say(f"liquidity-bot: health on http://{self.settings.health_host}:{port}/healthz" if port
                 else "liquidity-bot: health endpoint off")
        if self.adapters and any(r.chart for r in self.engine.file_rules):  # alert charts: no start-up wait
            CHART_POOL.start()
        self.say("liquidity-bot: ready")

    async def run_until_stopped(self) -> None:
        await self.stop_event.wait()

    async def shutdown(self) -> None:
        """Stop taking updates, let in-flight deliveries finish (bounded), close the database."""
        self.stop_event.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        for a in self.adapters:
            stop = getattr(a, "stop", None)
            if stop:
                try:
                    await asyncio.wait_for(stop(), 5)
                except asyncio.TimeoutError:  # replies still queued (a flood): they are dropped, not an error
                    log.warning("stopping %s: still answering after 5 s; stopped anyway", a.platform)
                except Exception:
                    log.exception("stopping %s", a.platform)
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=5)
            for t in pending:
                t.cancel()
        if self.healthsrv:
            await self.healthsrv.stop()
        # An evaluation in progress stops at its next rule (its finished rules are saved).
        self.engine.stop_requested = True
        self.engine_thread.submit(self.engine.store.close)
        self.engine_thread.shutdown(wait=False)
        CHART_POOL.shutdown()
        self.store.close()

    # ---- jobs ----------------------------------------------------------------------------
    async def poll(self, src: Source, series: tuple[str, ...] | None = None) -> SourceReport | None:
        """Fetch one source, or only `series` of it (a release poll), respecting its outage
        backoff; evaluate rules if data is new."""
        h = self.health[src.name]
        if not self.leader.is_leader:  # replicas: followers neither fetch nor evaluate
            return None
        if time.monotonic() < h.next_try or self.stop_event.is_set():
            return None
        fetched = SeriesSubset(src, series) if series else src  # --- polling --- a release poll asks only for its series
        try:
            # The database work runs on the engine thread with its connection: never a bulk read on the loop.
            report = await ingest_source_async(self.engine.store, fetched, self.clock, self.settings.secrets(),
                                               db=self.in_engine)
        except Exception as exc:
            if self._store_trouble(exc, f"fetch {src.name}"):
                getattr(src, "forget", lambda: None)()  # the file source must read again what was lost
                return None
            raise
        self.metrics.inc("fetches_total", source=src.name)
        first_attempt = not h.attempted
        h.attempted = True
        self._settled |= {s.id for s in src.series()}
        if report.down:
            self._record_outage(src, h, report)
        else:
            self._record_success(src, h, report)
        changed = {r.series: r.first_new for r in report.results if r.added and r.first_new}
        added = {r.series for r in report.results if r.added}
        if added and not series and src.name in self.pollers:  # --- polling --- news from a background poll
            self.pollers[src.name].note(added, datetime.now(timezone.utc))
        if changed or first_attempt:  # the first answer (even a failure) may let waiting rules start
            if changed:
                log.info("%s", report.summary())
            await self.evaluate(changed)
        return report

    def _record_outage(self, src: Source, h: SourceHealth, report: SourceReport) -> None:
        self.metrics.inc("fetch_errors_total", source=src.name)
        h.failures += 1
        h.last_error = report.errors[0].error
        base = min(self.settings.poll_seconds or 60.0, 60.0)
        h.next_try = time.monotonic() + min(1800.0, base * 2 ** (h.failures - 1))
        if h.failures == 1:
            log.warning("source %s unreachable: %s (retrying with backoff; logged once per outage)",
                        src.name, h.last_error)

    def _record_success(self, src: Source, h: SourceHealth, report: SourceReport) -> None:
        if h.failures:
            log.info("source %s is back after %d failed attempts", src.name, h.failures)
        self._log_series_errors(src.name, h, report)
        h.failures, h.next_try, h.last_error = 0, 0.0, None
        h.last_success = self.clock().isoformat(timespec="seconds")
        h.data_date = report.last_date or h.data_date

    def _log_series_errors(self, source: str, h: SourceHealth, report: SourceReport) -> None:
        """A series failing while its source works: one line when it starts, one when it recovers."""
        now_failing = {r.series: r.error or "" for r in report.errors}
        for series, error in now_failing.items():
            if series not in h.series_errors:
                log.warning("source %s series %s: %s (logged once until it recovers)", source, series, error)
        for series in set(h.series_errors) - set(now_failing):
            log.info("source %s series %s recovered", source, series)
        h.series_errors = now_failing

    async def evaluate(self, changed: dict[str, str] | None = None) -> None:
        """Evaluate on the engine thread: `changed` maps series -> first new date ({} or None:
        only staleness and rules still waiting for their first evaluation)."""
        if not self.leader.is_leader:
            return
        async with self._eval_lock:
            t0 = time.monotonic()
            changed, self._unevaluated = _earliest(self._unevaluated, changed), None
            try:
                ids = await self.in_engine(self.engine.evaluate, self.clock(), changed or {})
            except NotLeader as exc:
                log.warning("rule evaluation: %s (the new leader evaluates)", exc)
                return
            except Exception as exc:
                if self._store_trouble(exc, "rule evaluation"):
                    self._unevaluated = changed or {}  # redone by check_store once writes work
                else:
                    log.exception("rule evaluation failed; the next fetch retries")
                return
            if changed:  # one line per pass on new data (operators see how long a pass takes)
                log.info("rules evaluated on new data in %.1f s: %d alert(s) queued", time.monotonic() - t0, len(ids))
        if ids:
            self.metrics.inc("alerts_total", len(ids))
            self.deliverer.wake.set()

    async def digests(self) -> None:
        """Every minute (leader only): queue the digests whose local time has come."""
        if not self.leader.is_leader:
            return
        try:
            n = queue_due_digests(self.commands, {a.platform for a in self.adapters}, self.clock())
        except NotLeader as exc:
            log.warning("digests: %s (the new leader sends them)", exc)
            return
        except Exception as exc:
            if not self._store_trouble(exc, "digests"):
                log.exception("digests: could not queue; the next minute retries")
            return
        if n:
            log.info("digests: %d queued", n)
            self.deliverer.wake.set()

    async def prune(self) -> None:
        """Daily: delete sent outbox rows, alert events and fetch log rows past RETENTION_DAYS."""
        if not self.leader.is_leader:
            return
        cutoff = (self.clock() - timedelta(days=self.settings.retention_days)).isoformat(timespec="seconds")
        counts = await self.in_engine(self.engine.store.prune, cutoff)
        log.info("pruned rows older than %s: %s", cutoff[:10], counts)

    # ---- health --------------------------------------------------------------------------
    def problems(self) -> list[str]:
        """What is wrong with the store or delivery now; each new problem is logged once, loudly."""
        found = (self.store.problem(), self.engine.store.problem(), self.deliverer.degraded, self.deliverer._loop_error)
        problems = list(dict.fromkeys(p for p in found if p))  # both connections may report the same file
        problems += held_problems(self.store)
        if problems != self._told:
            for p in problems:
                if p not in self._told:
                    log.error("health: %s", p)
            for p in self._told:
                if p not in problems:
                    log.info("health: resolved: %s", p)
            self._told = problems
        return problems

    async def check_store(self) -> None:
        """Every 30 s: log new store problems once; redo an evaluation a write failure stopped."""
        self.store.probe_write()  # the loop's connection may have nothing else to write
        self.problems()
        if self._unevaluated is not None:
            await self.evaluate()

    def _store_trouble(self, exc: BaseException, what: str) -> bool:
        """A database error in a job: health reports it and logs it once per episode (no
        traceback per poll). False for any other error."""
        if not is_database_error(exc):
            return False
        log.debug("%s: database error: %s", what, exc)
        self.problems()
        return True

    def healthz(self) -> dict:
        problems = self.problems()
        try:
            counts = self.store.outbox_counts()
        except Exception as exc:
            problems = [*problems, f"the store cannot be read: {str(exc).splitlines()[0] if str(exc) else exc!r}"]
            counts = {"pending": None, "failed": None, "sent": None}
        failing = [n for n, h in self.health.items() if h.failures]
        firing = self.store.firing_rules()
        return {
            "status": "degraded" if failing or problems else "ok",
            "problems": problems,
            "uptime_seconds": round(time.monotonic() - self.started, 1),
            "sources": {n: {"last_success": h.last_success, "data_date": h.data_date, "failures": h.failures,
                            "last_error": h.last_error, **release_health(self.pollers.get(n))}
                        for n, h in self.health.items()},
            "outbox": {"pending": counts["pending"], "failed": counts["failed"], "sent": counts["sent"]},
            "rules_loaded": len(self.engine.rules),
            "rules_evaluated_at": self.engine.last_evaluated.isoformat(timespec="seconds")
            if self.engine.last_evaluated else None,
            "firing": [r for r in firing if not is_personal(r)],
            "personal_firing": sum(1 for r in firing if is_personal(r)),  # a count: whose and what are private
            "adapters": [a.platform for a in self.adapters],
            "store": self.store.kind,
            "role": "leader" if self.leader.is_leader else "follower",
            "outbox_claimed": self.store.claimed_count(self.clock().isoformat(timespec="seconds")),
        }

    def prometheus(self) -> str:
        counts = self.store.outbox_counts()
        return self.metrics.render({"outbox_pending": counts["pending"], "outbox_failed": counts["failed"],
                                    "deliveries_sent_total": self.deliverer.sent,
                                    "deliveries_failed_total": self.deliverer.failed,
                                    "rules_loaded": len(self.engine.rules),
                                    "uptime_seconds": round(time.monotonic() - self.started, 1)})


def held_problems(store: ObservationStore) -> list[str]:
    """One /healthz problem per series whose newest print was refused as a probable unit change."""
    try:
        held = store.held_prints()
    except Exception:  # an unreadable store is reported by healthz itself
        return []
    return [f"held print: {sid} {h['date']} refused ({h['reason']}); serving its older value" for sid, h in held.items()]


def _adapters(settings: Settings, commands: CommandService, out: TextIO) -> list[Adapter]:
    """Every chat adapter whose token is set; the console when none is."""
    adapters: list[Adapter] = []
    if settings.telegram_bot_token:
        from bot.chat.telegram import TelegramAdapter

        adapters.append(TelegramAdapter(commands, settings))
    if settings.slack_bot_token:
        from bot.chat.slack import SlackAdapter

        adapters.append(SlackAdapter(commands, settings))
    return adapters or [ConsoleAdapter(out)]


def build(settings: Settings, *, data_dirs: list[str] | None = None, skip_bad_rules: bool = False,
          out: TextIO | None = None, clock: Callable[[], datetime] = utcnow) -> App:
    """Make every part of the bot from the settings (nothing is started yet)."""
    out = out or sys.stdout
    catalog = default_catalog()
    loaded = load_rules(settings.rules_dir, catalog)
    for p in loaded.problems:
        log.error("rules: %s", p)
    if loaded.problems and not skip_bad_rules:
        raise StartupError(f"{len(loaded.problems)} problem(s) in rules at {settings.rules_dir} "
                           "(see above); fix them or start with --skip-bad-rules")
    if loaded.problems:
        log.warning("rules: --skip-bad-rules: starting with the %d valid rule(s); the problems above are skipped",
                    len(loaded.rules))
    holder: dict[str, App] = {}
    try:
        sources = build_sources(settings, catalog, data_dirs)
    except SourceError as exc:
        raise StartupError(str(exc)) from None
    store = open_store(settings)
    engine = Engine(open_store(settings), catalog, loaded.rules)
    commands = CommandService(store, catalog, lambda: engine.file_rules, clock, admin_ids=settings.admin_ids)
    commands.reload_rules = lambda: holder["app"].reload_rules()
    pending: set[asyncio.Task] = set()

    def personal_changed() -> None:  # a new personal alert learns its state (silently) right away
        task = asyncio.get_running_loop().create_task(holder["app"].evaluate(), name="evaluate-personal")
        pending.add(task)
        task.add_done_callback(pending.discard)
    commands.personal_changed = personal_changed
    adapters = _adapters(settings, commands, out)
    engine.feeds = [("console", CONSOLE_CHAT)] if any(a.platform == "console" for a in adapters) else []
    if settings.slack_feed_channel and any(a.platform == "slack" for a in adapters):
        engine.feeds.append(("slack", settings.slack_feed_channel))
    engine.platforms = {a.platform for a in adapters}
    # The engine's own frames (whole objects, swapped, never changed in place): no bulk read on the loop.
    engine.after_evaluation.append(lambda: commands.invalidate(engine.frames))
    app = App(settings, catalog, loaded, store, engine, sources, commands, adapters,
              Deliverer(store, adapters, clock), out, clock)
    holder["app"] = app
    return app


def _earliest(a: dict[str, str] | None, b: dict[str, str] | None) -> dict[str, str] | None:
    """Two `changed` maps as one (the earliest first-new date per series); None if both are."""
    if a is None or b is None:
        return b if a is None else a
    return {s: min(d for d in (a.get(s), b.get(s)) if d) for s in {*a, *b}}


# --- polling ---
def release_health(poller: ReleasePoller | None) -> dict:
    """/healthz fields per source: expected next publication, last publication-to-fetch delay."""
    if poller is None:
        return {}
    nxt = poller.next_publication(datetime.now(timezone.utc))
    return {"next_publication": nxt.isoformat(timespec="seconds") if nxt else None,
            "last_publication_delay_seconds": poller.last_delay}
# --- end polling ---


async def serve(settings: Settings, data_dirs: list[str] | None = None, skip_bad_rules: bool = False) -> int:
    try:
        app = build(settings, data_dirs=data_dirs, skip_bad_rules=skip_bad_rules)
    except StartupError as exc:
        log.error("%s", exc)
        return 2
    except StoreError as exc:
        log.error("%s", exc)
        return 1
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, app.stop_event.set)
        except (NotImplementedError, RuntimeError):
            pass

    async def sighup() -> None:
        log.info("SIGHUP: %s", await app.reload_rules())

    try:
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(sighup()))
    except (NotImplementedError, RuntimeError, AttributeError):
        pass
    try:
        await app.start()
    except AlreadyRunning as exc:  # a second `run` on the same SQLite file
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
    return asyncio.run(serve(settings, data_dirs, skip_bad_rules))
