"""Pull new observations from sources into the store: incremental, per-series error isolation."""

from __future__ import annotations

import asyncio
import logging
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.catalog import SeriesDef
from bot.clock import eastern_tomorrow
from bot.redact import redact
from bot.screen import screen
from bot.sources import Source, SourceError
from bot.store.errors import is_database_error
from bot.store.sqlite import FetchRecord, Store
from bot.units import UnitError

log = logging.getLogger(__name__)

# Re-ask for a little history each time so revisions are caught.
OVERLAP_DAYS = {"daily": 10, "weekly": 35}


@dataclass
class SeriesResult:
    series: str
    added: int = 0
    last_date: str | None = None
    error: str | None = None
    refused: int = 0
    first_new: str | None = None   # the earliest date with a new or revised value


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
    ratios = [v / known[d] for d, v in rows if d in known and known[d] and v]
    if not ratios:
        return
    r = statistics.median(ratios)
    if r > 50 or r < 0.02:
        raise UnitError(f"values are {r:.3g}x the stored ones for the same dates: "
                        f"did the unit change from {sdef.unit}? Nothing stored.")


def _plan(store: Store, sdef: SeriesDef, today: date) -> tuple[bool, date | None]:
    """Whether to fetch a series, and from which date (never from a future date: a poisoned
    row stored by an older version must not freeze the series)."""
    last = store.last_date(sdef.id)
    if last and last > today.isoformat():
        last = today.isoformat()
    if sdef.until and last and last >= sdef.until:
        return False, None  # a discontinued series already complete
    return True, _start(sdef, last)


def _apply(store: Store, source: Source, sdef: SeriesDef, rows, vintage: str, res: SeriesResult,
           tomorrow: date) -> None:
    known = store.latest_map(sdef.id)
    stored = [(d, v) for d, v in known.items() if d <= tomorrow.isoformat()]
    rows, refused = screen(sdef, rows, max(stored) if stored else None, tomorrow)
    for r in refused:
        log.warning("source %s series %s: refused %s", source.name, sdef.id, r)
    res.refused = len(refused)
    check_scale(sdef, rows, known)
    dates = store.add_observations(sdef.id, rows, source=source.name, vintage=vintage, known=known)
    res.added, res.first_new = len(dates), min(dates) if dates else None


def _guard(res: SeriesResult, fn, *args):
    """Run one step; any failure becomes res.error (one source's bad day never stops the others)."""
    try:
        return fn(*args)
    except (SourceError, UnitError) as exc:
        res.error = str(exc)
    except Exception as exc:
        if is_database_error(exc):  # our disk, not the source: the caller reports it as such
            raise
        res.error = f"unexpected {type(exc).__name__}: {exc}"
    return None


def _finish(store: Store, source: Source, report: SourceReport, started: datetime, now) -> SourceReport:
    errors = "; ".join(f"{r.series}: {r.error}" for r in report.errors) or None
    store.log_fetch(FetchRecord(source.name, started.isoformat(timespec="seconds"),
                                now().isoformat(timespec="seconds"), report.added, report.last_date, errors))
    return report


def ingest_source(store: Store, source: Source, now: Callable[[], datetime],
                  secrets: list[str] | tuple[str, ...] = ()) -> SourceReport:
    """Fetch every series of one source into the store (blocking; for the CLI and tests)."""
    return asyncio.run(ingest_source_async(store, source, now, secrets))


async def ingest_source_async(store: Store, source: Source, now: Callable[[], datetime],
                              secrets: list[str] | tuple[str, ...] = ()) -> SourceReport:
    """Fetch every series of one source into the store and record the fetch in the log.

    Network calls run in a worker thread; the store is only touched from the loop's thread.
    """
    report, started = SourceReport(source.name), now()
    vintage = started.isoformat(timespec="seconds")
    tomorrow = eastern_tomorrow(started)
    for sdef in source.series():
        res = SeriesResult(sdef.id)
        go, start = _plan(store, sdef, tomorrow - timedelta(days=1))
        if go:
            rows = await asyncio.to_thread(_guard, res, source.fetch, sdef, start)
            if res.error is None:
                _guard(res, _apply, store, source, sdef, rows, vintage, res, tomorrow)
        if res.error:
            res.error = redact(res.error, secrets)  # before it is logged, stored or shown
        res.last_date = store.last_date(sdef.id)
        report.results.append(res)
    return _finish(store, source, report, started, now)
