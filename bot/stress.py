"""The liquidity stress score (issue 21): 0-100 per day, with a light, from the weighted components
of bot/stress.yaml. Pure: metric frames in, one DayScore per day out. Each day sees only the rows
published by then (each frame's `known` column, from the catalog's release lags), so the history
is a backtest. Words for people (lights, drivers) are in bot/stress_text.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import itertools

import numpy as np
import pandas as pd
from ruamel.yaml import YAML

from bot.catalog import Catalog
from bot.metrics import Frames, asof

STRESS_PATH = Path(__file__).with_name("stress.yaml")
Points = tuple[tuple[float, float], ...]
RECENT_DAYS = 400   # latest() reads this much history: 4-week changes and 2-week peaks need far less


@dataclass(frozen=True)
class Light:
    name: str      # calm, watch, strained, stress
    emoji: str
    below: float   # scores under this (and over the previous light's bound) get this light


@dataclass(frozen=True)
class ComponentDef:
    """One weighted component: its inputs in order of preference, each with its scoring points."""

    name: str
    weight: float
    reason: str
    inputs: tuple[tuple[str, Points], ...] = ()
    window_days: int = 0     # score the input's largest value over this many days (SRF take-up)
    change_days: int = 0     # score the input's change over this many days (momentum)
    peak_of: tuple[str, ...] = ()   # the highest score of these components over window_days
    zero_before: str = ""    # before this date no print meant nothing taken up, not stale data


@dataclass(frozen=True)
class StressModel:
    lights: tuple[Light, ...]
    components: dict[str, ComponentDef]
    stale_after: dict[str, int]
    min_coverage: float
    onrrp_over_floor: tuple[tuple[str, str, float], ...]   # (from, to, bp) above DFEDTARL
    first_day: str = "2008-10-09"

    def light(self, score: float) -> Light:
        """The light a score falls in."""
        return next((lt for lt in self.lights if score < lt.below), self.lights[-1])


@dataclass(frozen=True)
class Driver:
    """Why a component scored what it did, for a human sentence (bot/stress_text.py)."""

    component: str
    metric: str        # the input used (a spread in bp, an amount in dollars, a ratio in percent)
    value: float
    streak: int = 0    # spreads: days in a row above zero, to the day's newest print
    on: str = ""       # spread peaks: the date of the peak


@dataclass(frozen=True)
class DayScore:
    """One day's score: `components` holds the fresh ones only; `missing` had no data by that day,
    `stale` only data older than the model's limit (both are left out, their weight shared)."""

    date: date
    score: int
    light: str
    components: dict[str, int]
    drivers: tuple[Driver, ...]
    missing: tuple[str, ...] = ()
    stale: tuple[str, ...] = ()
    coverage: float = 1.0          # the share of the weights with fresh data


def _points(raw: Any) -> Points:
    pts = tuple((float(x), float(y)) for x, y in raw)
    if any(b[0] <= a[0] for a, b in itertools.pairwise(pts)):
        raise ValueError(f"stress.yaml: points must rise in their first value: {raw}")
    return pts


def _interp(x: Any, pts: Points) -> Any:
    """Linear between the points, flat beyond the ends."""
    return np.interp(x, [p[0] for p in pts], [p[1] for p in pts])


def _component(name: str, d: dict[str, Any]) -> ComponentDef:
    inputs = d.get("input")
    names = [inputs] if isinstance(inputs, str) else list(inputs or [])
    pts = [_points(d["points"])] if "points" in d else []
    for fb in d.get("fallback", []) or []:
        names.append(fb["input"])
        pts.append(_points(fb["points"]))
    return ComponentDef(name=name, weight=float(d["weight"]), reason=str(d["reason"]),
                        inputs=tuple(zip(names, pts, strict=True)), window_days=int(d.get("window_days", 0)),
                        change_days=int(d.get("change_days", 0)), peak_of=tuple(d.get("peak_of", ())),
                        zero_before=str(d.get("zero_before", "")))


def load_model(path: Path = STRESS_PATH) -> StressModel:
    """Read and check stress.yaml; raise ValueError naming the first problem."""
    raw = YAML(typ="safe").load(path.read_text())
    comps = {name: _component(name, d) for name, d in raw["components"].items()}
    for c in comps.values():
        if not c.inputs and not c.peak_of:
            raise ValueError(f"stress.yaml: component {c.name} needs input and points, or peak_of")
        for p in c.peak_of:
            if p not in comps or not comps[p].inputs:
                raise ValueError(f"stress.yaml: {c.name} peak_of {p}: not a component with an input")
    lights = tuple(Light(d["name"], d["emoji"], float(d["below"])) for d in raw["lights"])
    over = tuple((d["from"], d["to"], float(d["bp"])) for d in raw.get("onrrp_rate_over_floor_bp", []))
    return StressModel(lights, comps, dict(raw["stale_after_days"]), float(raw["min_coverage"]), over,
                       str(raw.get("first_day", "2008-10-09")))


@lru_cache(maxsize=1)
def default_model() -> StressModel:
    """The model shipped with the package (cached)."""
    return load_model()


# ---- inputs: data-date series with the day each value became known ---------------------------
def tgcr_onrrp_spread(model: StressModel, frames: Frames) -> pd.DataFrame:
    """TGCR minus the ON RRP offering rate (the policy floor plus the documented offsets), in bp."""
    tgcr, floor = frames.get("tgcr"), frames.get("policy_lower")
    if tgcr is None or tgcr.empty or floor is None or floor.empty:
        return pd.DataFrame({"value": [], "known": []}, index=pd.DatetimeIndex([]))
    lo = asof(floor, pd.DatetimeIndex(tgcr.index), 10)
    over = pd.Series(0.0, index=tgcr.index)
    for start, end, bp in model.onrrp_over_floor:
        over[(tgcr.index >= pd.Timestamp(start)) & (tgcr.index <= pd.Timestamp(end))] = bp
    value = (tgcr["value"] - lo["value"]) * 100 - over
    return pd.DataFrame({"value": value.round(6), "known": np.maximum(tgcr["known"], lo["known"])}).dropna()


def _frame(model: StressModel, frames: Frames, metric: str) -> pd.DataFrame | None:
    if metric == "tgcr_onrrp_spread":
        f = tgcr_onrrp_spread(model, frames)
    else:
        f = frames.get(metric)
    return None if f is None or f.empty else f.sort_index()


def _streak(values: pd.Series) -> np.ndarray:
    """Days in a row with a positive value, ending at each row."""
    out, run = np.zeros(len(values), dtype=int), 0
    for i, v in enumerate(values.to_numpy()):
        run = run + 1 if v > 0 else 0
        out[i] = run
    return out


def _feature(c: ComponentDef, f: pd.DataFrame, pts: Points) -> pd.DataFrame:
    """The component's scored input per data date, with the day it was known (never earlier than
    any row it was computed from: known is carried forward as a running maximum)."""
    value = f["value"].astype(float)
    if c.change_days:
        past = asof(f, f.index - pd.Timedelta(days=c.change_days), 2 * c.change_days)
        value = pd.Series(value.to_numpy() - past["value"].to_numpy(), index=f.index)
    elif c.window_days:
        value = value.rolling(f"{c.window_days}D").max()
    out = pd.DataFrame({"value": value, "known": f["known"].cummax(), "streak": _streak(value)}, index=f.index)
    out["score"] = _interp(out["value"].to_numpy(), pts)
    out["data_date"] = out.index
    return out.dropna(subset=["value"])


def _published(feat: pd.DataFrame, days: pd.DatetimeIndex) -> pd.DataFrame:
    """For each day, the newest row known by the end of that day (NaN where none was)."""
    left = pd.DataFrame({"day": days.astype("datetime64[ns]")})
    right = feat.reset_index(drop=True).astype({"known": "datetime64[ns]"}).sort_values("known", kind="stable")
    res = pd.merge_asof(left, right, left_on="day", right_on="known", direction="backward")
    res["age"] = (res["day"] - res["data_date"]).dt.days
    return res.set_index(pd.DatetimeIndex(days))


def _peak(feat: pd.DataFrame, days: int) -> pd.DataFrame:
    """The highest score (and its value and date) over the last `days` days, per data date."""
    idx = feat.index.to_numpy()
    score = feat["score"].to_numpy()
    lo = np.searchsorted(idx, idx - np.timedelta64(days, "D"), side="right")
    at = np.array([a + int(np.argmax(score[a:i + 1])) for i, a in enumerate(lo)], dtype=int)
    return pd.DataFrame({"value": feat["value"].to_numpy()[at], "known": feat["known"], "streak": 0,
                         "score": score[at], "data_date": feat.index,
                         "on": np.datetime_as_string(idx[at], unit="D")}, index=feat.index)


def _stale_limit(model: StressModel, catalog: Catalog, metric: str) -> int:
    m = catalog.metrics.get(metric)
    cadence = m.cadence_days if m else 7   # a metric the catalog does not know: weekly at most
    if cadence <= 1:
        return model.stale_after["daily"]
    return max(model.stale_after["weekly"], 2 * cadence + 7)


# ---- the score ------------------------------------------------------------------------------------
@dataclass
class _Scored:
    """One component published on each day: score, value, data date, and the input used."""

    table: pd.DataFrame
    metric: str
    limit: int

    def __post_init__(self) -> None:
        cols = [c for c in ("score", "value", "streak", "age", "on") if c in self.table]
        self.rows: list[dict[str, Any]] = self.table[cols].to_dict("records")   # a dict per day: fast to read


def _score_component(model: StressModel, catalog: Catalog, frames: Frames, c: ComponentDef,
                     days: pd.DatetimeIndex) -> _Scored | None:
    for metric, pts in c.inputs:   # the first input with data is used
        f = _frame(model, frames, metric)
        if f is not None:
            return _Scored(_published(_feature(c, f, pts), days), metric, _stale_limit(model, catalog, metric))
    return None


def _component_tables(model: StressModel, catalog: Catalog, frames: Frames,
                      days: pd.DatetimeIndex) -> dict[str, list[_Scored]]:
    """Each component's candidates per day: one table, or (peaks) one per member with data."""
    out: dict[str, list[_Scored]] = {}
    for c in model.components.values():
        if c.peak_of:
            parts = []
            for member in c.peak_of:
                for metric, pts in model.components[member].inputs:
                    f = _frame(model, frames, metric)
                    if f is not None:
                        feat = _feature(model.components[member], f, pts)
                        parts.append(_Scored(_published(_peak(feat, c.window_days), days), metric,
                                             _stale_limit(model, catalog, metric)))
                        break
            out[c.name] = parts
        else:
            s = _score_component(model, catalog, frames, c, days)
            out[c.name] = [s] if s else []
    return out


def _pick(cands: list[_Scored], i: int) -> tuple[str, tuple[_Scored, dict[str, Any]] | None]:
    """("ok", best fresh candidate) or ("stale"/"missing", None) for day number i."""
    seen = [(s, s.rows[i]) for s in cands if not pd.isna(s.rows[i]["score"])]
    if not seen:
        return "missing", None
    fresh = [(s, r) for s, r in seen if r["age"] <= s.limit]
    if not fresh:
        return "stale", None
    return "ok", max(fresh, key=lambda sr: float(sr[1]["score"]))


def _day(model: StressModel, tables: dict[str, list[_Scored]], i: int, day: pd.Timestamp) -> DayScore | None:
    scores: dict[str, float] = {}
    drivers: dict[str, Driver] = {}
    missing: list[str] = []
    stale: list[str] = []
    for name, cands in tables.items():
        state, best = _pick(cands, i)
        comp = model.components[name]
        if best is None and comp.zero_before and day < pd.Timestamp(comp.zero_before):
            scores[name] = float(_interp(0.0, comp.inputs[0][1]))  # no operation: zero taken up
            continue
        if best is None:
            (missing if state == "missing" else stale).append(name)
            continue
        s, row = best
        scores[name] = float(row["score"])
        on = row["on"] if isinstance(row.get("on"), str) else ""
        drivers[name] = Driver(name, s.metric, float(row["value"]), int(row["streak"]), on)
    total = sum(c.weight for c in model.components.values())
    used = sum(model.components[n].weight for n in scores)
    if not scores or used / total < model.min_coverage:
        return None
    score = sum(model.components[n].weight * v for n, v in scores.items()) / used
    top: list[str] = []
    for n in sorted((n for n in scores if scores[n] > 0), key=lambda n: -model.components[n].weight * scores[n]):
        if all(drivers[t].metric != drivers[n].metric for t in top):   # a peak repeats its own spread: once
            top.append(n)
    return DayScore(day.date(), round(score), model.light(round(score)).name,
                    {n: round(v) for n, v in scores.items()}, tuple(drivers[n] for n in top[:2]),
                    tuple(missing), tuple(stale), round(used / total, 2))


def scores_on(model: StressModel, catalog: Catalog, frames: Frames, days: pd.DatetimeIndex) -> list[DayScore]:
    """The score on each of `days` (a day without enough data is left out)."""
    if len(days) == 0:
        return []
    tables = _component_tables(model, catalog, frames, days)
    out = [_day(model, tables, i, day) for i, day in enumerate(days)]
    return [d for d in out if d is not None]


def history(catalog: Catalog, frames: Frames, start: date | None = None, end: date | None = None,
            model: StressModel | None = None) -> list[DayScore]:
    """One DayScore per weekday from `start` (default: the model's first day) to `end` (default:
    the newest day any input was known), each from the data published by that day."""
    model = model or default_model()
    used = [f for f in frames.values() if f is not None and not f.empty]
    if not used:
        return []
    lo = pd.Timestamp(start) if start else max(pd.Timestamp(model.first_day), min(f["known"].min() for f in used))
    hi = pd.Timestamp(end) if end else max(f["known"].max() for f in used)
    return scores_on(model, catalog, frames, pd.bdate_range(lo, hi))


def latest(catalog: Catalog, frames: Frames, today: date, model: StressModel | None = None) -> DayScore | None:
    """Today's score from what is stored (None with too little data)."""
    cut = pd.Timestamp(today) - pd.Timedelta(days=RECENT_DAYS)   # windows reach back weeks, not years
    recent = {k: f[f.index >= cut] for k, f in frames.items() if f is not None}
    out = scores_on(model or default_model(), catalog, recent, pd.DatetimeIndex([pd.Timestamp(today)]))
    return out[0] if out else None
