"""The sources' release calendar (US/Eastern) as APScheduler triggers.

Each source is polled often inside its release windows, until the series the window waits
for have new data, and slowly (BACKGROUND) at all times. POLL_SECONDS replaces all of this
with one fixed interval.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.calendar import add_business_days
from bot.catalog import SeriesDef
from bot.release import DEFAULT_EVERY, RELEASES, Release, expected_at, phase, poll_times
from bot.sources import Rows, Source

if TYPE_CHECKING:  # the runtime imports this module
    from bot.runtime.jobs import Jobs

ET = ZoneInfo("America/New_York")
BACKGROUND = CronTrigger(hour="*/2", minute=20, timezone=ET)  # a slow poll outside the release windows
# Series a release window fetches once its own series arrive (the H.4.1 factors): twice a day in the
# background is enough to catch a late or failed follow fetch, at 24 requests a day instead of 144.
FOLLOW_BACKGROUND = CronTrigger(hour="8,20", minute=40, timezone=ET)


def poll_trigger(seconds: float) -> IntervalTrigger:
    return IntervalTrigger(seconds=seconds)


# Precise polling around each release (bot/release.py).
log = logging.getLogger("bot.schedule")


@dataclass
class _ReleaseDay:
    day: date
    arrived: set[str] = field(default_factory=set)
    done: bool = False
    last_poll: datetime | None = None
    last_empty: datetime | None = None
    backoff_logged: bool = False


class ReleasePoller:
    """One source's release windows: sleeps until the next planned poll, fetches only the series
    of the releases due then, and stops a release for the day once all its series brought news.

    Everything outside is injected (clock, sleep, fetch, observations), so the benchmark and tests
    run it on a fake clock. `fetch(series)` returns the series that got new rows; `sleep(seconds)`
    returns True when the bot is stopping; `observed(key)` gives past ET arrival times;
    `record(release, day, seen_at, delay_seconds)` stores a new observation."""

    def __init__(self, source: str, fetch: Callable[[tuple[str, ...]], Awaitable[set[str]]],
                 now: Callable[[], datetime], sleep: Callable[[float], Awaitable[bool]],
                 observed: Callable[[str], list[time]] = lambda key: [],
                 record: Callable[[Release, date, datetime, float | None], None] = lambda *a: None,
                 every: float = DEFAULT_EVERY, releases: tuple[Release, ...] = RELEASES) -> None:
        self.source = source
        self.releases = [r for r in releases if r.source == source]
        self._fetch, self._now, self._sleep = fetch, now, sleep
        self._observed, self._record = observed, record
        self.every = every
        self._days: dict[tuple[str, date], _ReleaseDay] = {}
        self._seen_cache: dict[str, list[time]] = {}
        self.last_delay: float | None = None  # seconds: last publication-to-fetch delay (upper bound)

    def _state(self, r: Release, day: date) -> _ReleaseDay:
        key = (r.key, day)
        if key not in self._days:
            self._days[key] = _ReleaseDay(day)
        return self._days[key]

    def _done(self, r: Release, day: date) -> bool:
        st = self._days.get((r.key, day))
        return bool(st and st.done)

    def expected(self, r: Release, day: date) -> datetime | None:
        """When `r` is expected on `day`, learned from observations (cached until a new one)."""
        if r.key not in self._seen_cache:
            self._seen_cache[r.key] = self._observed(r.key)
        return expected_at(r, day, self._seen_cache[r.key])

    def next_poll(self, now: datetime) -> tuple[datetime, list[Release]] | None:
        """The next planned poll at or after `now` and the releases due then (None: none within 8 days)."""
        today = now.astimezone(ET).date()
        best: datetime | None = None
        group: list[Release] = []
        for offset in range(8):
            day = today + timedelta(days=offset)
            for r in self.releases:
                exp = self.expected(r, day)
                if exp is None or ((r.key, day) in self._days and self._days[(r.key, day)].done):
                    continue
                st = self._days.get((r.key, day))
                floor = max(now - timedelta(seconds=1), st.last_poll + timedelta(milliseconds=1)) \
                    if st and st.last_poll else now - timedelta(seconds=1)
                t = next((t for t in poll_times(exp, r.every or self.every) if t >= floor), None)
                if t is None:
                    continue
                if best is None or t < best - timedelta(milliseconds=500):
                    best, group = t, [r]
                elif abs((t - best).total_seconds()) < 0.5:
                    group.append(r)
            if best is not None:
                return best, group
        return None

    def next_publication(self, now: datetime) -> datetime | None:
        """The next expected publication among releases not yet arrived (for /healthz)."""
        today = now.astimezone(ET).date()
        for offset in range(8):
            day = today + timedelta(days=offset)
            times = [e for r in self.releases if (e := self.expected(r, day)) is not None
                     and not self._done(r, day) and phase(e, now) != "over"]
            if times:
                return min(times)
        return None

    def note(self, new_series: set[str], now: datetime) -> None:
        """New data for `new_series` arrived at `now` (from any poll): finish the releases it completes."""
        day = now.astimezone(ET).date()
        for r in self.releases:
            exp = self.expected(r, day)
            if exp is None or now < exp - timedelta(minutes=2) or not new_series & set(r.series):
                continue
            st = self._state(r, day)
            if st.done:
                continue
            st.arrived |= new_series & set(r.series)
            if st.arrived >= set(r.series):
                st.done = True
                if st.last_empty is None:
                    continue  # no poll saw it missing (e.g. the first fetch at start-up): not an observation
                delay = (now - st.last_empty).total_seconds()
                self.last_delay = delay
                self._record(r, day, now, delay)
                self._seen_cache.pop(r.key, None)

    async def poll(self, group: list[Release], at: datetime) -> set[str]:
        """Fetch the series of `group` once; mark arrivals; log once when a window falls back to slow polls."""
        series = tuple(dict.fromkeys(s for r in group for s in r.series))
        yesterday = at.astimezone(ET).date() - timedelta(days=1)
        self._days = {k: v for k, v in self._days.items() if k[1] >= yesterday}  # bounded memory
        new = await self._fetch(series)
        now = self._now()
        was_done = {r.key for r in group if self._done(r, at.astimezone(ET).date())}
        self.note(new, now)
        # A release just complete: the series published with it (H.4.1 factors) once, now.
        follow = tuple(dict.fromkeys(s for r in group if r.key not in was_done
                                     and self._done(r, at.astimezone(ET).date()) for s in r.follow))
        if follow:
            new |= await self._fetch(follow)
        for r in group:
            st = self._state(r, at.astimezone(ET).date())
            st.last_poll = at
            if st.done:
                continue
            st.last_empty = now
            exp = self.expected(r, st.day)
            if exp is not None and phase(exp, now) != "fast" and not st.backoff_logged:
                st.backoff_logged = True
                log.info("%s: %s not out by %s; polling every 30 s, then every 5 min, until %s (logged once)",
                         self.source, r.why, now.astimezone(ET).strftime("%H:%M:%S %Z"),
                         (exp + timedelta(hours=2)).strftime("%H:%M %Z"))
        return new

    async def run(self) -> None:
        """Poll until `sleep` says the bot is stopping."""
        while True:
            now = self._now()
            nxt = self.next_poll(now)
            if nxt is None:
                if await self._sleep(3600):
                    return
                continue
            at, group = nxt
            if await self._sleep(max(0.0, (at - now).total_seconds())):
                return
            await self.poll(group, at)


class SeriesSubset:
    """A source restricted to some of its series (same name, so the fetch log and store agree)."""

    def __init__(self, source: Source, series: tuple[str, ...]) -> None:
        self._source, self._series = source, set(series)
        self.name = source.name

    def series(self) -> list[SeriesDef]:
        return [s for s in self._source.series() if s.id in self._series]

    def fetch(self, sdef: SeriesDef, start: date | None) -> Rows:
        return self._source.fetch(sdef, start)


def brings_release(sdef: SeriesDef | None, newest: str | None, today: date) -> bool:
    """Whether new rows whose newest date is `newest` are today's release of a daily or weekly
    series: they must reach its own data date (today less the series' lag in business days). A
    history load at start-up inside a window, or yesterday's print after a day down, is not the
    release, and must not stop the window's polls. Monthly series are not judged (their lag is a bound)."""
    if sdef is None or newest is None or sdef.frequency not in ("daily", "weekly"):
        return True
    return newest >= add_business_days(today, -sdef.lag).isoformat()


def _et_time(iso: str) -> time:
    return datetime.fromisoformat(iso).astimezone(ET).time().replace(microsecond=0)


def release_poller(app: Jobs, src: Source) -> ReleasePoller:
    """A ReleasePoller wired to the running bot: fetch through `app.poll`, real clock, the store's
    observations, sleep that wakes on shutdown. Poll interval from RELEASE_POLL_SECONDS."""
    import asyncio
    from datetime import timezone

    async def fetch(series: tuple[str, ...]) -> set[str]:
        report = await app.poll(src, series)
        today = datetime.now(timezone.utc).astimezone(ET).date()
        return {r.series for r in report.results
                if r.added and brings_release(app.catalog.series.get(r.series), r.last_date, today)} if report else set()

    async def sleep(seconds: float) -> bool:
        try:
            await asyncio.wait_for(app.stop_event.wait(), seconds)
            return True
        except asyncio.TimeoutError:
            return app.stop_event.is_set()

    def observed(key: str) -> list[time]:
        return [_et_time(o["seen_at"]) for o in app.store.release_seen(key)]

    def record(r: Release, day: date, seen_at: datetime, delay: float | None) -> None:
        app.store.record_release_seen(r.key, day.isoformat(), seen_at.isoformat(timespec="seconds"), delay)

    every = parse_every(getattr(app.settings, "release_poll_seconds", "") or "").get(src.name, DEFAULT_EVERY)
    return ReleasePoller(src.name, fetch, lambda: datetime.now(timezone.utc), sleep, observed, record, every)


def parse_every(text: str) -> dict[str, float]:
    """RELEASE_POLL_SECONDS: "5" for every source or "nyfed=5,fred=10" per source."""
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.rpartition("=")
        seconds = float(value)
        if seconds < 1:
            raise ValueError(f"RELEASE_POLL_SECONDS: {part!r} is under 1 s")
        for src in ([name] if name else ["fred", "nyfed", "fiscaldata"]):
            out[src] = seconds
    return out
