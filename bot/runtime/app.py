"""`App`: the running bot's lifecycle. Start adapters, jobs, health and delivery; follow
leadership on replicas; print the start-up summary; shut down in bounded time."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from bot.commands import CHART_POOL
from bot.health import HealthServer
from bot.health import RouteInstaller as HealthRoute
from bot.runtime.jobs import Jobs
from bot.runtime.parts import StartupError
from bot.release import RELEASES
from bot.schedule import BACKGROUND, FOLLOW_BACKGROUND, poll_trigger, release_poller
from bot.sources import Source
from bot.web.app import WebDeps, route_installers
from bot.web.server import WebServer

log = logging.getLogger("bot.runtime")


class App(Jobs):
    """The running bot's parts (made by `build`) and the jobs that drive them."""

    websrv: WebServer | None = None   # the dashboard's own listener (WEB_PORT other than HEALTH_PORT)

    async def start(self) -> None:
        """Claim the database, start the chat adapters, schedule the jobs, fetch at once."""
        if not self.store.shared:
            # A second `run` on one SQLite file: AlreadyRunning, exit 1 (the ignore: SQLite's own method).
            self.store.claim_instance()
        for a in self.adapters:
            if self.store.shared:
                a.await_leadership()  # updates only one consumer may take wait for _leadership
            try:
                await a.start()
            except Exception as exc:
                raise StartupError(f"{a.platform}: cannot start ({type(exc).__name__}: {exc})") from None
        for src in self.sources:
            for job_id, trigger, series in self._jobs(src):
                self.scheduler.add_job(self.poll, trigger, args=[src, series, True], id=job_id, replace_existing=True,
                                       coalesce=True, max_instances=1, misfire_grace_time=300)
        self.scheduler.add_job(self.evaluate, "interval", minutes=15, id="evaluate", coalesce=True,
                               max_instances=1, misfire_grace_time=300)
        self.scheduler.add_job(self.prune, "cron", hour=3, minute=17, id="prune", coalesce=True,
                               max_instances=1, misfire_grace_time=3600)
        self.scheduler.add_job(self.check_store, "interval", seconds=30, id="check-store", coalesce=True,
                               max_instances=1)
        self.scheduler.add_job(self.digests, "interval", seconds=60, id="digests", coalesce=True, max_instances=1)
        self.scheduler.add_job(self.auctions, "interval", hours=1, id="auctions", coalesce=True, max_instances=1,
                               next_run_time=datetime.now(timezone.utc) + timedelta(minutes=1))  # the scheduler's time is real
        self.scheduler.start()
        await self._start_health()
        self._tasks.append(asyncio.create_task(self.deliverer.run(self.stop_event), name="delivery"))
        if self.store.shared:
            self._tasks.append(asyncio.create_task(self.leader.run(self.stop_event, self._leadership), name="leader"))
        # Precise polling around each release (bot/schedule.py ReleasePoller)
        if not self.settings.poll_seconds:
            for src in self.sources:
                if src.poll_every is None:
                    self.pollers[src.name] = release_poller(self, src)
                    self._tasks.append(asyncio.create_task(self.pollers[src.name].run(), name=f"release-{src.name}"))
        self._summary()
        # First fetch right away, not at the first calendar slot.
        first = [asyncio.create_task(self.poll(src), name=f"first-fetch-{src.name}") for src in self.sources]
        self._tasks += first
        if any(a.local for a in self.adapters):
            self._tasks.append(asyncio.create_task(self._local_snapshot(first), name="first-snapshot"))

    async def _leadership(self, leader: bool) -> None:
        """Replicas: a new leader fetches at once and takes updates only one consumer may take
        (Telegram long polling); a follower lets go. Either way the engine forgets what it
        held: the other leader may have moved on since."""
        self.engine.forget()
        for a in self.adapters:
            try:
                await a.set_leader(leader)
            except Exception:
                log.exception("%s: switching long polling %s", a.platform, "on" if leader else "off")
        if leader:
            self._tasks += [asyncio.create_task(self.poll(src), name=f"leader-fetch-{src.name}")
                            for src in self.sources]

    def web_routes(self) -> list[HealthRoute]:
        """The dashboard (bot/web) and the Telegram Mini App (bot/miniapp) on the web server."""
        from bot.miniapp.routes import MiniAppDeps
        from bot.miniapp.routes import install as install_miniapp

        deps = WebDeps(self.catalog, self.store, self.commands.core.frames, lambda: self.engine.file_rules, self.clock,
                       lambda lang: self.commands.status.verdict(lang)[1])
        miniapp = MiniAppDeps.from_settings(self.settings, self.commands, self.clock)
        return [*route_installers(deps), functools.partial(install_miniapp, deps=miniapp)]

    async def _start_health(self) -> None:
        s = self.settings
        separate = s.web_listener()
        shared_routes = [] if separate or s.web_port == 0 else self.web_routes()
        if s.health_port:
            self.healthsrv = HealthServer(s.health_port, self.healthz, self.prometheus, s.health_host, shared_routes)
            try:
                await self.healthsrv.start()
            except OSError as exc:
                log.error("health endpoint: cannot listen on port %s (%s); continuing without it", s.health_port, exc)
                self.healthsrv = None
        if separate:
            self.websrv = WebServer(*separate, self.web_routes())
            try:
                await self.websrv.start()
            except OSError as exc:
                log.error("web dashboard: cannot listen on port %s (%s); continuing without it", separate[1], exc)
                self.websrv = None

    async def _local_snapshot(self, first_fetches: Sequence[asyncio.Task[Any]]) -> None:
        """Console mode: once the first fetches are done, show what the bot now knows."""
        await asyncio.wait(first_fetches)
        if not self.stop_event.is_set():
            reply = self.commands.status_text()
            self.say("liquidity-bot: latest data\n" + reply.text)

    def _jobs(self, src: Source) -> list[tuple[str, object, tuple[str, ...] | None]]:
        """(job id, trigger, series or None for all) for one source: a fixed interval with POLL_SECONDS
        (and for a source without a calendar, --data files), else the slow background poll, which leaves
        the series a release fetches after itself (H.4.1 factors) to a twice-daily job; release windows
        are polled by ReleasePoller tasks."""
        every = self.settings.poll_seconds or src.poll_every
        if every:
            return [(f"fetch-{src.name}", poll_trigger(every), None)]
        ids = tuple(s.id for s in src.series())
        follow = tuple(s for r in RELEASES if r.source == src.name for s in r.follow if s in ids)
        if not follow:
            return [(f"fetch-{src.name}", BACKGROUND, None)]
        rest = tuple(s for s in ids if s not in follow)
        return [(f"fetch-{src.name}", BACKGROUND, rest), (f"fetch-{src.name}-follow", FOLLOW_BACKGROUND, follow)]

    def _next_fetch(self, src: Source) -> str:
        times = [j.next_run_time for j in self.scheduler.get_jobs()
                 if j.id.startswith(f"fetch-{src.name}") and j.next_run_time]
        return min(times).isoformat(timespec="minutes") if times else "n/a"

    def _summary(self) -> None:
        s, loaded = self.settings, self.loaded
        self.say(f"liquidity-bot: database {self.store.describe()} ({self.store.observation_count()} observations stored)")
        self.say(f"liquidity-bot: {len(loaded.rules)} rules from {s.rules_dir}"
                 + (f" ({len(loaded.problems)} problem(s) skipped)" if loaded.problems else ""))
        names = ", ".join(a.describe() for a in self.adapters)
        local_only = bool(self.adapters) and all(a.local for a in self.adapters)
        extra = " (no chat token set: alerts print here)" if local_only else ""
        self.say(f"liquidity-bot: chat adapters: {names}{extra}")
        for src in self.sources:
            nxt = self._next_fetch(src)
            how = f"every {self.settings.poll_seconds:g}s" if self.settings.poll_seconds else (
                f"every {src.poll_every:g}s" if src.poll_every else "release calendar (US/Eastern)")
            where = f" from {src.location()}" if src.location() else ""
            self.say(f"liquidity-bot: source {src.name}{where}: {how}; fetching now, next scheduled {nxt}")
        port = self.healthsrv.port if self.healthsrv else None
        self.say(f"liquidity-bot: health on http://{self.settings.health_host}:{port}/healthz" if port
                 else "liquidity-bot: health endpoint off")
        web = (self.websrv.host, self.websrv.port) if self.websrv else (
            (self.settings.health_host, port) if port and self.settings.web_port != 0 else None)
        self.say(f"liquidity-bot: web dashboard on http://{web[0]}:{web[1]}/" if web else "liquidity-bot: web dashboard off")
        if self.adapters and any(r.chart for r in self.engine.file_rules):  # alert charts: no start-up wait
            CHART_POOL.start()
        self.say("liquidity-bot: ready")

    async def run_until_stopped(self) -> None:
        """Wait for SIGTERM / SIGINT (or a test) to set the stop event."""
        await self.stop_event.wait()

    async def shutdown(self) -> None:
        """Stop taking updates, let in-flight deliveries finish (bounded), close the database."""
        self.stop_event.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        for a in self.adapters:
            try:
                await asyncio.wait_for(a.stop(), 5)
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
        if self.websrv:
            await self.websrv.stop()
        # An evaluation in progress stops at its next rule (its finished rules are saved).
        self.engine.stop_requested = True
        self.engine_thread.submit(self.engine.store.close)
        self.engine_thread.shutdown(wait=False)
        CHART_POOL.shutdown()
        self.store.close()
