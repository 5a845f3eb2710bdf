"""The scheduled jobs: fetch a source, evaluate rules, queue digests, prune, check the store,
reload rules. The loop only awaits them; database work runs on the engine thread."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta, timezone
from typing import cast

from bot.digest import queue_due_digests
from bot.ingest import SourceReport, ingest_source_async
from bot.rules.loader import load_rules
from bot.runtime.checks import Checks
from bot.runtime.parts import SourceHealth
from bot.schedule import SeriesSubset
from bot.sources import Source
from bot.store.errors import NotLeader

log = logging.getLogger("bot.runtime")


class Jobs(Checks):
    """The jobs the scheduler, the release pollers, signals and commands run."""

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

    async def poll(self, src: Source, series: tuple[str, ...] | None = None,
                   background: bool | None = None) -> SourceReport | None:
        """Fetch one source, or only `series` of it (a release poll, or a background job's part),
        respecting its outage backoff; evaluate rules if data is new. `background` (default: a whole-source
        poll) tells the release pollers of news they did not fetch themselves."""
        background = series is None if background is None else background
        h = self.health[src.name]
        if not self.leader.is_leader:  # replicas: followers neither fetch nor evaluate
            return None
        if time.monotonic() < h.next_try or self.stop_event.is_set():
            return None
        # A release poll asks only for its series (a subset serves as its source)
        fetched = cast(Source, SeriesSubset(src, series)) if series else src
        try:
            # The database work runs on the engine thread with its connection: never a bulk read on the loop.
            report = await ingest_source_async(self.engine.store, fetched, self.clock, self.settings.secrets(),
                                               db=self.in_engine)
        except Exception as exc:
            if self._store_trouble(exc, f"fetch {src.name}"):
                src.forget()  # a source that skips what it read (files) must read again what was lost
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
        if added and background and src.name in self.pollers:  # news from a background poll
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

    async def auctions(self) -> None:
        """Hourly (leader, network sources only): FiscalData's upcoming auctions into the store for
        /calendar, at most every 6 hours; the fetch runs off the loop and off the engine thread."""
        from bot.sources.auctions import due, fetch_upcoming, save
        from bot.sources.http import make_client

        if not self.leader.is_leader or not any(s.name == "fiscaldata" for s in self.sources):
            return  # offline (--data): the calendar shows its rule-based events only
        now = self.clock()
        try:
            if not await self.in_engine(due, self.engine.store, now):
                return
            client = make_client(self.settings.http_timeout)   # the process's shared budget and pace
            rows = await asyncio.to_thread(fetch_upcoming, client, self.settings.fiscaldata_api_url,
                                           now.date() - timedelta(days=1))
            n = await self.in_engine(save, self.engine.store, rows, now)
        except asyncio.CancelledError:  # shutdown during a fetch: nothing half-written, nothing to report
            log.debug("upcoming auctions: fetch cancelled by shutdown")
            return
        except Exception as exc:  # the calendar keeps the stored auctions; the next hour retries
            log.warning("upcoming auctions: not refreshed (%s: %s)", type(exc).__name__, str(exc)[:200])
            return
        log.info("upcoming auctions: %d stored", n)

    async def prune(self) -> None:
        """Daily: delete sent outbox rows, alert events and fetch log rows past RETENTION_DAYS."""
        if not self.leader.is_leader:
            return
        cutoff = (self.clock() - timedelta(days=self.settings.retention_days)).isoformat(timespec="seconds")
        counts = await self.in_engine(self.engine.store.prune, cutoff)
        log.info("pruned rows older than %s: %s", cutoff[:10], counts)

    async def check_store(self) -> None:
        """Every 30 s: log new store problems once; redo an evaluation a write failure stopped."""
        self.store.probe_write()  # the loop's connection may have nothing else to write
        self.problems()
        if self._unevaluated is not None:
            await self.evaluate()


def _earliest(a: dict[str, str] | None, b: dict[str, str] | None) -> dict[str, str] | None:
    """Two `changed` maps as one (the earliest first-new date per series); None if both are."""
    if a is None or b is None:
        return b if a is None else a
    return {s: min(d for d in (a.get(s), b.get(s)) if d) for s in {*a, *b}}
