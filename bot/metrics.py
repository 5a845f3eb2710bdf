"""Metrics: source series converted and spliced, plus formula / spread / change metrics.

Pure: takes raw series (already in dollars or percent), returns for each metric a frame
indexed by data date with `value` and `known` (the first day the value was public), so
backtests can replay history without look-ahead.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from bot.calendar import busday_offset
from bot.catalog import Catalog, MetricDef, SeriesDef

Frames = dict[str, pd.DataFrame]


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"value": pd.Series(dtype=float), "known": pd.Series(dtype="datetime64[ns]")},
                        index=pd.DatetimeIndex([], name="date"))


def known_dates(index: pd.DatetimeIndex, lag: int) -> np.ndarray:
    """Data date + `lag` US federal business days (weekends and Fed holidays skipped), so a
    Monday-holiday Daily Treasury Statement is not "known" a day early in a backtest."""
    days = index.values.astype("datetime64[D]")
    return busday_offset(days, lag, roll="forward").astype("datetime64[ns]")


def source_frame(raw: pd.Series, sdef: SeriesDef) -> pd.DataFrame:
    s = raw.sort_index()
    return pd.DataFrame({"value": s.values.astype(float), "known": known_dates(s.index, sdef.lag)},
                        index=pd.DatetimeIndex(s.index, name="date"))


def splice(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """First frame from its first date on; each later one only fills dates before that."""
    out: list[pd.DataFrame] = []
    cutoff = None
    for f in frames:
        if f.empty:
            continue
        part = f if cutoff is None else f[f.index < cutoff]
        out.append(part)
        cutoff = f.index[0] if cutoff is None else min(cutoff, f.index[0])
    if not out:
        return _empty()
    return pd.concat(out).sort_index()


def asof(frame: pd.DataFrame, dates: pd.DatetimeIndex, tolerance_days: int, zero: bool = False) -> pd.DataFrame:
    """The newest row of `frame` at or before each date (within tolerance); NaN where none."""
    target = pd.DataFrame({"date": dates})
    if frame.empty:
        res = pd.DataFrame({"value": np.nan, "known": pd.NaT}, index=dates)
    else:
        src = frame.reset_index().rename(columns={"index": "date"})
        src["date"] = src["date"].astype("datetime64[ns]")
        target["date"] = target["date"].astype("datetime64[ns]")
        res = pd.merge_asof(target, src, on="date", direction="backward",
                            tolerance=pd.Timedelta(days=tolerance_days)).set_index("date")
    if zero:
        # No operation within the window: the volume was zero, and that was known that day.
        miss = res["value"].isna()
        res.loc[miss, "value"] = 0.0
        res.loc[miss, "known"] = res.index[miss]
    res.index = dates
    return res


def last_at(frame: pd.DataFrame | None, at: pd.Timestamp, tolerance_days: int) -> tuple[date, float] | None:
    """The newest (date, value) of `frame` at or before `at`, if within the tolerance."""
    if frame is None or frame.empty:
        return None
    i = frame.index.searchsorted(at, side="right") - 1
    if i < 0 or (at - frame.index[i]).days > tolerance_days:
        return None
    return frame.index[i].date(), float(frame["value"].iloc[i])


def _tolerance(m: MetricDef) -> int:
    return 2 * m.cadence_days + 7


def _formula(m: MetricDef, frames: Frames, catalog: Catalog) -> pd.DataFrame:
    base = frames[m.formula[0][1]]
    if base.empty:
        return _empty()
    value = pd.Series(0.0, index=base.index)
    known = base["known"].copy()
    for sign, name in m.formula:
        dep = catalog.metrics[name]
        part = asof(frames[name], base.index, _tolerance(dep), dep.absent_is_zero)
        value = value + sign * part["value"]
        known = np.maximum(known, part["known"])
    return pd.DataFrame({"value": value, "known": known}).dropna()


def _spread(m: MetricDef, frames: Frames, catalog: Catalog) -> pd.DataFrame:
    assert m.spread is not None
    a_name, b_name = m.spread
    a = frames[a_name]
    if a.empty:
        return _empty()
    b = asof(frames[b_name], a.index, _tolerance(catalog.metrics[b_name]))
    factor = 100.0 if m.unit == "bp" else 1.0
    return pd.DataFrame({"value": ((a["value"] - b["value"]) * factor).round(6),
                         "known": np.maximum(a["known"], b["known"])}).dropna()


def _change(m: MetricDef, frames: Frames, catalog: Catalog) -> pd.DataFrame:
    assert m.change is not None
    cur = frames[m.change]
    if cur.empty:
        return _empty()
    dep = catalog.metrics[m.change]
    past = asof(cur, cur.index - pd.Timedelta(days=m.window_days), _tolerance(dep))
    return pd.DataFrame({"value": cur["value"].values - past["value"].values,
                         "known": cur["known"].values}, index=cur.index).dropna()


def _ratio(m: MetricDef, frames: Frames, catalog: Catalog) -> pd.DataFrame:
    """100 x a / b on a's dates. Each a row takes the newest b print already public when a's row
    was (b's `known` <= a's `known`: a quarterly GDP print carried forward from its publication,
    never used before it), within b's tolerance; the ratio is known when a is."""
    assert m.ratio is not None
    a, b = frames[m.ratio[0]], frames[m.ratio[1]]
    if a.empty or b.empty:
        return _empty()
    order = np.lexsort((b.index.values, b["known"].values))   # by publication, then data date
    b_known = b["known"].values.astype("datetime64[ns]")[order]
    b_value = b["value"].values.astype(float)[order]
    a_known = a["known"].values.astype("datetime64[ns]")
    pos = np.searchsorted(b_known, a_known, side="right") - 1
    safe = np.maximum(pos, 0)
    ok = (pos >= 0) & (a_known - b_known[safe] <= np.timedelta64(_tolerance(catalog.metrics[m.ratio[1]]), "D"))
    den = np.where(ok & (b_value[safe] > 0), b_value[safe], np.nan)
    out = pd.DataFrame({"value": 100.0 * a["value"].values / den, "known": a["known"].values},
                       index=pd.DatetimeIndex(a.index, name="date"))
    return out.dropna()


def given_frame(values: pd.Series, m: MetricDef, catalog: Catalog) -> pd.DataFrame:
    """A metric supplied directly (rule tests), published with its first source's lag (a ratio:
    its numerator's, as when computed)."""
    while m.ratio:
        m = catalog.metrics[m.ratio[0]]
    lag = catalog.series[m.series[0]].lag if m.series else 0
    s = values.sort_index().astype(float)
    return pd.DataFrame({"value": s.values, "known": known_dates(pd.DatetimeIndex(s.index), lag)},
                        index=pd.DatetimeIndex(s.index, name="date"))


def compute_metrics(catalog: Catalog, raw: dict[str, pd.Series],
                    given: dict[str, pd.Series] | None = None, only: set[str] | None = None,
                    base: Frames | None = None) -> Frames:
    """Every catalog metric as a frame (value, known) indexed by data date; empty if no data.

    `given` supplies metrics directly (in dollars / percent / bp), e.g. from a rule test.
    `only` recomputes just those metrics, taking every other one from `base` (the live engine
    after a fetch: only what depends on the series that changed).
    """
    frames: Frames = dict(base or {})
    given = given or {}
    for name in catalog.metric_order():
        if only is not None and name not in only and name in frames:
            continue
        m = catalog.metrics[name]
        if name in given:
            frames[name] = given_frame(given[name], m, catalog)
        elif m.series:
            parts = [source_frame(raw[s], catalog.series[s]) for s in m.series if s in raw and len(raw[s])]
            frames[name] = splice(parts)
        elif m.formula:
            frames[name] = _formula(m, frames, catalog)
        elif m.spread:
            frames[name] = _spread(m, frames, catalog)
        elif m.convert:
            from bot.global_liquidity import convert_frame  # the foreign balance sheets (issue 23)

            amount, rate = m.convert
            frames[name] = convert_frame(frames[amount], frames[rate], catalog.metrics[rate].unit)
        elif m.ratio:
            frames[name] = _ratio(m, frames, catalog)
        else:
            frames[name] = _change(m, frames, catalog)
    return frames


def needed_series(catalog: Catalog) -> list[str]:
    """Every source series any metric uses."""
    return sorted({s for m in catalog.metrics.values() for s in m.series})
