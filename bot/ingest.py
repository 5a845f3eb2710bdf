"""Pull new observations from sources into the store: incremental, per-series error isolation."""

from __future__ import annotations

import logging
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.catalog import SeriesDef
from bot.sources import Source, SourceError
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


def ingest_series(store: Store, source: Source, sdef: SeriesDef, vintage: str) -> SeriesResult:
    """Fetch and store one series; every failure becomes a SeriesResult.error, never an exception."""
    res = SeriesResult(sdef.id)
    last = store.last_date(sdef.id)
    if sdef.until and last and last >= sdef.until:
        res.last_date = last
        return res  # discontinued series already complete
    try:
        rows = source.fetch(sdef, _start(sdef, last))
        known = store.latest_map(sdef.id)
        check_scale(sdef, rows, known)
        added = store.add_observations(sdef.id, rows, source=source.name, vintage=vintage, known=known)
    except (SourceError, UnitError) as exc:
        res.error = str(exc)
    except Exception as exc:  # a bug or an unforeseen body must not stop the other series
        res.error = f"unexpected {type(exc).__name__}: {exc}"
    else:
        res.added = len(added)
    res.last_date = store.last_date(sdef.id)
    return res


def ingest_source(store: Store, source: Source, now: Callable[[], datetime],
                  only: set[str] | None = None) -> SourceReport:
    """Fetch every series of one source; log one line per failing series and record the fetch."""
    report = SourceReport(source.name)
    started = now()
    vintage = started.isoformat(timespec="seconds")
    for sdef in source.series():
        if only and sdef.id not in only:
            continue
        res = ingest_series(store, source, sdef, vintage)
        if res.error:
            log.warning("source %s series %s: %s", source.name, sdef.id, res.error)
        report.results.append(res)
    errors = "; ".join(f"{r.series}: {r.error}" for r in report.errors) or None
    store.log_fetch(FetchRecord(source.name, started.isoformat(timespec="seconds"),
                                now().isoformat(timespec="seconds"), report.added, report.last_date, errors))
    return report
