"""Refuse poisoned or absurd rows at the edge, before they reach the store. Pure.

A row is refused (and named in a log line by the caller) when its date is not a plain
YYYY-MM-DD calendar date, lies after tomorrow (US/Eastern) or before the series' start, when
its value is not a finite number, when a dollar amount is negative, or when a new print is
100x away from the previous stored value (a probable unit change upstream). One bad row never
stops the others.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date

from bot.catalog import SeriesDef

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
JUMP = 100.0
# Below these magnitudes a ratio says nothing (a rate of 0.05% doubling, a tiny balance).
_JUMP_FLOOR = {"usd": 1e9, "percent": 0.25, "bp": 5.0}


@dataclass(frozen=True)
class Refusal:
    date: object
    value: object
    reason: str

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


def screen(sdef: SeriesDef, rows: list[tuple[object, object]], previous: tuple[str, float] | None,
           tomorrow: date) -> tuple[list[tuple[str, float]], list[Refusal]]:
    """Split rows into (kept, refused). `previous` is the newest stored (date, value) of the
    series; `tomorrow` is tomorrow's date in US/Eastern (no source publishes later than that)."""
    kept: list[tuple[str, float]] = []
    refused: list[Refusal] = []
    start = date.fromisoformat(sdef.start) if sdef.start else None
    last = previous  # only new prints (after the newest stored date) are checked for jumps
    for raw_d, raw_v in sorted(rows, key=lambda r: str(r[0])):
        d, v = _date(raw_d), _value(raw_v)
        reason = None
        if d is None:
            reason = "not a calendar date (YYYY-MM-DD)"
        elif d > tomorrow:
            reason = f"dated after tomorrow ({tomorrow})"
        elif start and d < start:
            reason = f"dated before the series starts ({sdef.start})"
        elif v is None:
            reason = "not a finite number"
        elif sdef.nonnegative and v < 0:
            reason = "a negative dollar amount"
        elif previous is not None and last is not None and str(raw_d) > previous[0] and _jumped(sdef, last[1], v):
            reason = (f"{abs(v / last[1]):.3g}x the previous print ({last[0]}: {last[1]:g}): "
                      f"probable unit change from {sdef.unit}")
        if reason:
            refused.append(Refusal(raw_d, raw_v, reason))
            continue
        kept.append((str(raw_d), float(v)))  # type: ignore[arg-type]
        if last is None or str(raw_d) > last[0]:
            last = (str(raw_d), float(v))  # type: ignore[arg-type]
    return kept, refused


def _jumped(sdef: SeriesDef, prev: float, new: float) -> bool:
    """A unit change multiplies by 1e3 / 1e6 (or 1e2 for percent vs fraction); an exact zero is a
    real reading (nothing taken up), and a tiny previous value gives no meaningful ratio."""
    if sdef.jumps or new == 0 or abs(prev) < _JUMP_FLOOR.get(sdef.base_unit, 0.0):
        return False
    ratio = abs(new / prev)
    return ratio >= JUMP or ratio <= 1 / JUMP
