"""Refuse poisoned or absurd rows at the edge, before they reach the store. Pure.

A row is refused (and named in a log line by the caller) when its date is not a plain
YYYY-MM-DD calendar date, lies after tomorrow (US/Eastern) or before the series' start, when
its value is not a finite number, when a dollar amount is negative, or when it looks like a
unit change upstream (see `unit_change`). One bad row never stops the others.

The unit-change guard judges a print against the series' own recent range (every print in the
year before it), never only against the last value: ON RRP legitimately goes from $9.651B to
$0.001B overnight, a WRESBAL print in billions instead of millions does not.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from bot.catalog import SeriesDef

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
JUMP = 10.0                     # a unit change is at least this far outside the recent range...
JUMP_NEAR_ZERO = 100.0          # ...or this far above it, for a series that can be ~0 (from $0 to $50B is real)
FACTORS = {"usd": (1e3, 1e6), "percent": (1e2,), "bp": (1e2,)}  # ...by one of these factors
SLACK = 2.0                     # ...so that new/factor lands inside the range, give or take this
RANGE_DAYS = 366                # the "recent range": prints dated in the year before the new one
RANGE_MIN_PRINTS = 3            # a sparse series (ON RRP before 2013) uses its last few prints instead
# Below these magnitudes a ratio says nothing (a rate of 0.05% doubling, a tiny balance).
_JUMP_FLOOR = {"usd": 1e9, "percent": 0.25, "bp": 5.0}


@dataclass(frozen=True)
class Refusal:
    date: object
    value: object
    reason: str
    unit_change: bool = False   # a plausible number in the wrong unit (a "held print" when new)

    def __str__(self) -> str:
        return f"row {self.date!r},{self.value!r}: {self.reason}"


def _date(raw: object) -> date | None:
    if not isinstance(raw, str) or not _ISO.match(raw):
        return None  # "2026-W05-1" and "20260105" are ISO too, but not what any source sends
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def _value(raw: object) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return None
    v = float(raw)
    return v if math.isfinite(v) else None


def _basic(sdef: SeriesDef, d: date | None, v: float | None, tomorrow: date, start: date | None) -> str | None:
    if d is None:
        return "not a calendar date (YYYY-MM-DD)"
    if d > tomorrow:
        return f"dated after tomorrow ({tomorrow})"
    if start and d < start:
        return f"dated before the series starts ({sdef.start})"
    if v is None:
        return "not a finite number"
    if sdef.nonnegative and v < 0:
        return "a negative dollar amount"
    return None


class _History:
    """The series' prints by date (stored ones plus those kept so far), for range look-ups."""

    def __init__(self, stored: Mapping[str, float], tomorrow: date):
        cut = tomorrow.isoformat()
        self.values = dict((d, v) for d, v in stored.items() if d <= cut)  # a poisoned future row is no yardstick
        self.dates = sorted(self.values)

    def add(self, d: str, v: float) -> None:
        if d not in self.values:
            bisect.insort(self.dates, d)
        self.values[d] = v

    def near_previous(self, d: date, v: float) -> bool:
        """Within JUMP x of the print just before `d`: then it cannot be JUMP x outside a range
        holding that print, and the range need not be looked at (the common case, made cheap)."""
        i = bisect.bisect_left(self.dates, d.isoformat())
        p = abs(self.values[self.dates[i - 1]]) if i else 0.0
        return p / JUMP < abs(v) < p * JUMP

    def before(self, d: date) -> list[float]:
        """Prints in the year before `d` (or the last few, for a sparse series)."""
        end = bisect.bisect_left(self.dates, d.isoformat())
        begin = bisect.bisect_left(self.dates, (d - timedelta(days=RANGE_DAYS)).isoformat(), 0, end)
        begin = min(begin, max(0, end - RANGE_MIN_PRINTS))
        return [self.values[x] for x in self.dates[begin:end]]


def screen(sdef: SeriesDef, rows: Sequence[tuple[object, object]], stored: Mapping[str, float],
           tomorrow: date) -> tuple[list[tuple[str, float]], list[Refusal]]:
    """Split rows into (kept, refused). `stored` is {date: value} of the series as stored (at
    least its last year or so); `tomorrow` is tomorrow's date in US/Eastern (no source
    publishes later than that). A new date is judged against the prints of the year before it
    (stored, or kept from this answer); a revised date against its own stored value."""
    kept: list[tuple[str, float]] = []
    refused: list[Refusal] = []
    start = date.fromisoformat(sdef.start) if sdef.start else None
    hist = _History(stored, tomorrow)
    dups = _duplicates(rows)
    seen: set[str] = set()
    for raw_d, raw_v in sorted(rows, key=lambda r: str(r[0])):
        d, v = _date(raw_d), _value(raw_v)
        reason = _basic(sdef, d, v, tomorrow, start) or _duplicate(dups, seen, str(raw_d))
        unit = False
        if reason is None and d is not None and v is not None:
            reason = _unit(sdef, hist, d, v)
            unit = reason is not None
        if reason:
            refused.append(Refusal(raw_d, raw_v, reason, unit))
            continue
        kept.append((str(raw_d), float(v)))  # type: ignore[arg-type]
        hist.add(str(raw_d), float(v))  # type: ignore[arg-type]
    return kept, refused


def _duplicate(dups: dict[str, str], seen: set[str], day: str) -> str | None:
    """Why this row of a date listed more than once is refused (None: the first of agreeing rows)."""
    if day not in dups:
        return None
    first = day not in seen
    seen.add(day)
    if dups[day]:
        return dups[day]
    return None if first else "the same date again with the same value (kept once)"


def _unit(sdef: SeriesDef, hist: _History, d: date, v: float) -> str | None:
    """A revised date is judged against its own stored value, a new one against the range before it."""
    old = hist.values.get(d.isoformat())
    if old is not None:
        return revision_change(sdef, old, v)
    if hist.near_previous(d, v):
        return None
    return unit_change(sdef, hist.before(d), v)


def _duplicates(rows: Sequence[tuple[object, object]]) -> dict[str, str]:
    """Dates listed more than once in one answer -> why a row of them is refused: all of them
    when their values differ (which one is right is unknown), "" when they agree (kept once)."""
    by_date: dict[str, list[object]] = {}
    for raw_d, raw_v in rows:
        by_date.setdefault(str(raw_d), []).append(raw_v)
    out = {}
    for d, values in by_date.items():
        if len(values) > 1:
            differ = len({repr(v) for v in values}) > 1
            out[d] = (f"the same date {len(values)} times in one answer with different values"
                      if differ else "")
    return out


def unit_change(sdef: SeriesDef, recent: list[float], new: float) -> str | None:
    """Why `new` looks like a unit change against the series' `recent` prints, or None.

    Only a print far (JUMP x) outside the recent range AND one known unit factor away from
    inside it is refused. Upwards the range's top must be above a meaningful floor; downwards
    its bottom must be too, and a series that can be ~0 (`near_zero`: ON RRP, repo take-up)
    is never refused for falling: $0.001B after $9.651B is a real print.
    """
    if not recent or new == 0:
        return None
    lo, hi = min(abs(x) for x in recent), max(abs(x) for x in recent)
    a, floor = abs(new), _JUMP_FLOOR.get(sdef.base_unit, 0.0)
    up = JUMP_NEAR_ZERO if sdef.can_be_zero else JUMP
    for f in FACTORS.get(sdef.base_unit, (1e3,)):
        if hi >= floor and a >= up * hi and lo / SLACK <= a / f <= hi * SLACK:
            return _why(a / hi, lo, hi, sdef)
        if not sdef.can_be_zero and lo >= floor and a * JUMP <= lo and lo / SLACK <= a * f <= hi * SLACK:
            return _why(a / lo, lo, hi, sdef)
    return None


def revision_change(sdef: SeriesDef, old: float, new: float) -> str | None:
    """Why a revision of a stored date looks like a unit change (x1000 its stored value), or None."""
    floor = _JUMP_FLOOR.get(sdef.base_unit, 0.0)
    if old == 0 or new == 0 or max(abs(old), abs(new)) < floor:
        return None
    ratio = abs(new / old)
    for f in FACTORS.get(sdef.base_unit, (1e3,)):
        if f / SLACK <= ratio <= f * SLACK or 1 / (f * SLACK) <= ratio <= SLACK / f:
            return (f"a revision to {ratio:.3g}x the stored value ({old:g}): "
                    f"probable unit change from {sdef.unit}")
    return None


def _why(ratio: float, lo: float, hi: float, sdef: SeriesDef) -> str:
    return (f"{ratio:.3g}x outside the last year's range ({lo:g} to {hi:g}): "
            f"probable unit change from {sdef.unit}")
