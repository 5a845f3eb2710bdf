"""Pure rule evaluation: a rule plus metric frames -> a signal per observation.

A signal frame is indexed by data date with `value` (the number the message shows),
`holds` (the condition is true), `cleared` (a firing alert may resolve: past `clear`, or
simply not holding) and `known` (first day it was public). Nothing here reads a clock,
the environment or a database; staleness takes `now` as an argument.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from bot.metrics import Frames, asof
from bot.rules.model import Band, Rule, Window, parse_duration

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _frame(value: pd.Series, holds: pd.Series, known: pd.Series, cleared: pd.Series | None = None) -> pd.DataFrame:
    f = pd.DataFrame({"value": value, "holds": holds.astype(bool), "known": known})
    f["cleared"] = ~f["holds"] if cleared is None else cleared.astype(bool)
    return f[f["value"].notna()]


def windowed(f: pd.DataFrame, window: Window) -> pd.DataFrame:
    """For each row, the row `window` back (value and known), NaN where there is none."""
    if window.observations:
        return f[["value", "known"]].shift(window.observations)
    if window.days:
        back = f.index - pd.Timedelta(days=window.days)
    else:
        back = pd.DatetimeIndex(np.busday_offset(f.index.values.astype("datetime64[D]"), -window.business_days,
                                                 roll="backward").astype("datetime64[ns]"))
    # Tolerate a holiday or two at the far end of the window, not a missing month.
    past = asof(f, back, tolerance_days=5)
    past.index = f.index
    return past


def change_series(f: pd.DataFrame, window: Window, percent: bool) -> pd.Series:
    past = windowed(f, window)["value"]
    if percent:
        return (f["value"] / past - 1.0) * 100.0
    return f["value"] - past


def _clear(rule: Rule, value: pd.Series, op: str, holds: pd.Series) -> pd.Series:
    if rule.clear is None:
        return ~holds
    return ~OPS[op](value, rule.clear)


def signal(rule: Rule, frames: Frames, units: dict[str, str]) -> pd.DataFrame:
    """Vectorised signal for every observation of the rule's metric(s). Not for `stale` rules.

    `units` maps metric -> unit; a spread of two percent metrics is in basis points.
    """
    kind, c = rule.condition.kind, rule.condition.body
    if kind == "spread":
        a, b = frames[c.a], frames[c.b]
        if a.empty or b.empty:
            return _frame(pd.Series(dtype=float), pd.Series(dtype=bool), pd.Series(dtype="datetime64[ns]"))
        other = asof(b, a.index, tolerance_days=10)
        factor = 100.0 if units.get(c.a) == "percent" else 1.0
        value = ((a["value"] - other["value"]) * factor).round(6)
        holds = OPS[c.op](value, c.value)
        return _frame(value, holds, np.maximum(a["known"], other["known"]), _clear(rule, value, c.op, holds))
    f = frames[c.metric]
    if kind == "level":
        holds = OPS[c.op](f["value"], c.value)
        return _frame(f["value"], holds, f["known"], _clear(rule, f["value"], c.op, holds))
    if kind == "crossing":
        prev = f["value"].shift(1)
        if c.direction == "below":
            holds = (prev >= c.value) & (f["value"] < c.value)
        else:
            holds = (prev <= c.value) & (f["value"] > c.value)
        return _frame(f["value"], holds, f["known"])
    if kind == "change":
        value = change_series(f, c.window, c.percent)
        holds = OPS[c.op](value, c.value)
        return _frame(value, holds, f["known"], _clear(rule, value, c.op, holds))
    if kind == "spike":
        median = f["value"].shift(1).rolling(c.window, min_periods=max(2, c.window // 2)).median()
        holds = (f["value"] >= c.floor) & (f["value"] > c.multiple * median)
        if c.above is not None:
            holds = holds | (f["value"] >= c.above)
        out = _frame(f["value"], holds.fillna(False), f["known"])
        out["median"] = median.reindex(out.index)
        return out
    if kind == "regime":
        value = change_series(f, c.change, c.percent) if c.change else f["value"]
        return _frame(value, pd.Series(False, index=f.index), f["known"])
    raise ValueError(f"rule {rule.id}: {kind} conditions are evaluated with stale_verdict()")


def classify(value: float, bands: list[Band]) -> str:
    """The band a value falls in (bands ordered by rising `below`)."""
    for band in bands:
        if band.below is None or value < band.below:
            return band.name
    return bands[-1].name


def regime_with_hysteresis(value: float, bands: list[Band], current: str | None, hysteresis: float) -> str:
    """Stay in `current` unless the value is more than `hysteresis` past its edge."""
    raw = classify(value, bands)
    if current is None or raw == current or hysteresis <= 0:
        return raw
    if classify(value + hysteresis, bands) != current and classify(value - hysteresis, bands) != current:
        return raw
    return current


@dataclass(frozen=True)
class StaleVerdict:
    holds: bool
    last_date: str | None
    age_days: float | None


def stale_verdict(rule: Rule, frames: Frames, now: datetime) -> StaleVerdict:
    """Is the metric's newest observation older than `max_age` at `now`?"""
    c = rule.condition.body
    f = frames.get(c.metric)
    if f is None or f.empty:
        return StaleVerdict(True, None, None)
    last = f.index[-1].to_pydatetime()
    age = now.replace(tzinfo=None) - last
    return StaleVerdict(age > parse_duration(c.max_age), last.date().isoformat(), age.total_seconds() / 86400)
