"""The status snapshot: each metric's latest value, 1-week change, data age, regime. Pure."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

import pandas as pd

from bot.catalog import Catalog
from bot.metrics import Frames, asof
from bot.rules.evaluate import classify, signal
from bot.rules.model import Rule
from bot.units import fmt_change, fmt_value


@dataclass(frozen=True)
class MetricStatus:
    metric: str
    label: str
    unit: str
    value: float
    date: str
    change_1w: float | None
    age_days: int
    regime: str | None = None


def current_regimes(rules: list[Rule], frames: Frames, units: dict[str, str]) -> dict[str, str]:
    """The band each regime rule puts its metric in now, keyed by metric (no hysteresis)."""
    out = {}
    for rule in rules:
        if rule.condition.kind == "regime":
            sig = signal(rule, frames, units)
            if not sig.empty:
                out[rule.condition.body.metric] = classify(float(sig["value"].iloc[-1]), rule.condition.body.bands)
    return out


def snapshot(catalog: Catalog, frames: Frames, today: date, regimes: dict[str, str] | None = None) -> list[MetricStatus]:
    """One row per metric with data, in catalog order."""
    regimes = regimes or {}
    rows = []
    for name, m in catalog.metrics.items():
        f = frames.get(name)
        if f is None or f.empty:
            continue
        last = f.index[-1]
        prev = asof(f, pd.DatetimeIndex([last - pd.Timedelta(days=7)]), 2 * m.cadence_days + 7)
        pv = prev["value"].iloc[0]
        change = None if pd.isna(pv) else float(f["value"].iloc[-1] - pv)
        rows.append(MetricStatus(name, m.label, m.unit, float(f["value"].iloc[-1]), last.date().isoformat(),
                                 change, (today - last.date()).days, regimes.get(name)))
    return rows


def to_json(rows: list[MetricStatus]) -> dict:
    """`{metric: {value, unit, date, ...}}` with dollars / percent / bp as plain numbers."""
    out = {}
    for r in rows:
        d = asdict(r)
        d.pop("metric")
        if d["regime"] is None:
            d.pop("regime")
        out[r.metric] = d
    return out


def render_table(rows: list[MetricStatus], stale_after: dict[str, int] | None = None) -> str:
    """A fixed-width table for the console."""
    lines = [f"{'metric':<24} {'value':>12} {'1w change':>12} {'as of':>11} {'age':>6}  note"]
    for r in rows:
        note = r.regime or ""
        if stale_after and r.age_days > stale_after.get(r.metric, 10**9):
            note = (note + " STALE").strip()
        chg = fmt_change(r.change_1w, r.unit) if r.change_1w is not None else "n/a"
        lines.append(f"{r.metric:<24} {fmt_value(r.value, r.unit):>12} {chg:>12} {r.date:>11} {r.age_days:>5}d  {note}")
    return "\n".join(lines)
