"""Pull new observations from sources into the store: incremental, per-series error isolation."""

from __future__ import annotations

import asyncio
import logging
import math
import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bot.catalog import SeriesDef
from bot.clock import eastern_tomorrow
from bot.redact import redact
from bot.screen import RANGE_DAYS, Refusal, screen
from bot.sources import Rows, Source, SourceError, Unreachable
from bot.store.errors import is_database_error
from bot.store import FetchRecord, ObservationStore
from bot.units import UnitError

log = logging.getLogger(__name__)

# Re-ask for a little history each time so revisions are caught.
OVERLAP_DAYS = {"daily": 10, "weekly": 35, "monthly": 100,  # monthly: the BoJ revises recent months
                "quarterly": 400}  # BEA revises GDP a month and two months later, and each July


@dataclass
class SeriesResult:
    series: str
    added: int = 0
    last_date: str | None = None
    error: str | None = None
    refused: int = 0
    first_new: str | None = None   # the earliest date with a new or revised value
    unreachable: bool = False      # the host did not answer at all (bot.sources.Unreachable)


@dataclass
class SourceReport:
    source: str
    results: list[SeriesResult] = field(default_factory=list)

    @property
    def added(self) -> int:
        return sum(r.added for r in self.results)

    @property
    def errors(self) -> list[SeriesResult]:
        return [r for r in self.results if r.error]

    @property
    def down(self) -> bool:
        """Every series failed: the source itself is unreachable or broken."""
        return bool(self.results) and len(self.errors) == len(self.results)

    @property
    def last_date(self) -> str | None:
        dates = [r.last_date for r in self.results if r.last_date]
        return max(dates) if dates else None

    def summary(self) -> str:
        """One progress line: rows added, newest data date, errors."""
        ok = len(self.results) - len(self.errors)
        text = f"{self.source}: {ok}/{len(self.results)} series ok, +{self.added} rows"
        if self.last_date:
            text += f", newest data {self.last_date}"
        if self.errors:
            text += f", {len(self.errors)} failed ({', '.join(r.series for r in self.errors)})"
        refused = sum(r.refused for r in self.results)
        if refused:
            text += f", {refused} row(s) refused (see log)"
        return text


def _start(sdef: SeriesDef, last: str | None) -> date | None:
    if last is None:
        return None
    return date.fromisoformat(last) - timedelta(days=OVERLAP_DAYS.get(sdef.frequency, 10))


def check_scale(sdef: SeriesDef, rows: list[tuple[str, float]], known: dict[str, float]) -> None:
    """Refuse rows that are off from stored values by ~1000x: a silent unit change upstream."""
    ratios = [v / known[d] for d, v in rows if d in known and known[d] and v and math.isfinite(v)]
    if not ratios:
        return
    r = statistics.median(ratios)
    if r > 50 or r < 0.02:
        raise UnitError(f"values are {r:.3g}x the stored ones for the same dates: "
                        f"did the unit change from {sdef.unit}? Nothing stored.")


def _plan(store: ObservationStore, sdef: SeriesDef, today: date) -> tuple[bool, date | None]:
    """Whether to fetch a series, and from which date (never from a future date: a poisoned
    row stored by an older version must not freeze the series)."""
    last = store.last_date(sdef.id)
    if last and last > today.isoformat():
        last = today.isoformat()
    if sdef.until and last and last >= sdef.until:
        return False, None  # a discontinued series already complete
    return True, _start(sdef, last)


def _screen_since(rows: Rows) -> str | None:
    """The first date whose stored value the screen needs: the fetched rows' overlap with the store
    and the year before it (the unit guard's range), not the whole series (38,000 rows for EFFR)."""
    try:
        first = date.fromisoformat(min(str(d) for d, _v in rows))
    except ValueError:
        return None  # a malformed date sorts first: read it all, the screen refuses that row
    return (first - timedelta(days=RANGE_DAYS + 7)).isoformat()


def _apply(store: ObservationStore, source: Source, sdef: SeriesDef, rows: Rows, vintage: str, res: SeriesResult,
           tomorrow: date) -> None:
    if not rows:
        return  # nothing fetched (a file unchanged since it was last read): no database work at all
    known = dict(store.series_since(sdef.id, _screen_since(rows)))
    # The whole answer 1000x off (every overlapping date) fails the series; one row alone is screened.
    check_scale(sdef, [(d, v) for d, v in rows if isinstance(v, (int, float)) and not isinstance(v, bool)], known)
    rows, refused = screen(sdef, rows, known, tomorrow)
    was = store.held_prints().get(sdef.id)  # one read per fetched answer: the hold, its repeat and its release
    for r in refused:
        # The print already held is refused again by every poll until a good one comes: said once.
        again = was is not None and r.unit_change and (str(r.date), r.value) == (was["date"], was["value"])
        log.log(logging.DEBUG if again else logging.WARNING, "source %s series %s: refused %s", source.name, sdef.id, r)
    res.refused = len(refused)
    held = _hold(store, sdef, refused, known, tomorrow, vintage, was)
    dates = store.add_observations(sdef.id, rows, source=source.name, vintage=vintage, known=known)
    res.added, res.first_new = len(dates), min(dates) if dates else None
    newest = max((d for d, _ in rows), default=None)
    if held and newest and newest >= held and store.release_held(sdef.id, newest):
        log.info("source %s series %s: held print of %s released by a good print", source.name, sdef.id, held)


def _hold(store: ObservationStore, sdef: SeriesDef, refused: list[Refusal], known: dict[str, float], tomorrow: date,
          now: str, was: dict[str, Any] | None) -> str | None:
    """A unit-change refusal newer than everything stored is a held print: status and /healthz
    name it (the series would otherwise silently keep serving its older value). `was`: the print
    held already (not written again). Returns the date of the print held now, if any."""
    newest = max((d for d in known if d <= tomorrow.isoformat()), default="")
    held = [r for r in refused if r.unit_change and str(r.date) > newest]
    if not held:
        return str(was["date"]) if was else None
    r = max(held, key=lambda x: str(x.date))
    if was is None or (str(r.date), r.value) != (was["date"], was["value"]):
        store.hold_print(sdef.id, str(r.date), float(r.value), r.reason, now)  # type: ignore[arg-type]
    return str(r.date)


def _guard(res: SeriesResult, fn: Callable[..., Any], *args: Any) -> Any:
    """Run one step; any failure becomes res.error (one source's bad day never stops the others)."""
    try:
        return fn(*args)
    except (SourceError, UnitError) as exc:
        res.error = str(exc)
        res.unreachable = isinstance(exc, Unreachable)
    except Exception as exc:
        if is_database_error(exc):  # our disk, not the source: the caller reports it as such
            raise
        res.error = f"unexpected {type(exc).__name__}: {exc}"
    return None


def _finish(store: ObservationStore, source: Source, report: SourceReport, started: datetime,
            now: Callable[[], datetime]) -> SourceReport:
    errors = "; ".join(f"{r.series}: {r.error}" for r in report.errors) or None
    store.log_fetch(FetchRecord(source.name, started.isoformat(timespec="seconds"),
                                now().isoformat(timespec="seconds"), report.added, report.last_date, errors))
    return report


def ingest_source(store: ObservationStore, source: Source, now: Callable[[], datetime],
                  secrets: list[str] | tuple[str, ...] = ()) -> SourceReport:
    """Fetch every series of one source into the store (blocking; for the CLI and tests)."""
    return asyncio.run(ingest_source_async(store, source, now, secrets))


async def _inline(fn: Callable[..., Any], *args: Any) -> Any:
    return fn(*args)


async def ingest_source_async(store: ObservationStore, source: Source, now: Callable[[], datetime],
                              secrets: list[str] | tuple[str, ...] = (),
                              db: Callable[..., Awaitable[Any]] = _inline) -> SourceReport:
    """Fetch every series of one source into the store and record the fetch in the log.

    Network calls run in a worker thread; every database call goes through `db(fn, *args)`, which
    runs it where `store` lives (the bot: the engine thread, off the event loop; default: here).
    """
    report, started = SourceReport(source.name), now()
    vintage = started.isoformat(timespec="seconds")
    tomorrow = eastern_tomorrow(started)
    silent: str | None = None  # the host gave no answer: the other series are not asked this time
    for sdef in source.series():
        res = SeriesResult(sdef.id)
        go, start = await db(_plan, store, sdef, tomorrow - timedelta(days=1))
        if go and silent:
            res.error, res.unreachable = f"not asked: {silent}", True
        elif go:
            rows = await asyncio.to_thread(_guard, res, source.fetch, sdef, start)
            if res.error is None:
                await db(_guard, res, _apply, store, source, sdef, rows, vintage, res, tomorrow)
            elif res.unreachable:
                silent = res.error
        if res.error:
            res.error = redact(res.error, secrets)  # before it is logged, stored or shown
        res.last_date = await db(store.last_date, sdef.id)
        report.results.append(res)
    finished: SourceReport = await db(_finish, store, source, report, started, now)
    return finished
