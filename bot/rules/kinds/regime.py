"""`regime`: which named band a metric (or its change) is in, with hysteresis at the edges.

A level regime may name `fallback` measures: reserves judged against bank assets, else against
GDP, else in dollars. The first measure with data decides; texts, units and charts follow it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bot.format import fmt
from bot.rules.evaluate import _EMPTY, _base, _frame, change_series
from bot.rules.kinds.base import ConditionKind, Problems
from bot.rules.lifecycle import Alert, Transition, Verdict
from bot.rules.model import Band, Regime, RegimeChoice
from bot.rules.replay import RuleRun, _loop

if TYPE_CHECKING:
    from bot.catalog import Catalog
    from bot.metrics import Frames
    from bot.rules.evaluate import SignalInputs
    from bot.rules.model import Rule
    from bot.rules.replay import _Rows


def active_choice(body: Regime, frames: Frames) -> int:
    """The measure a regime is judged on: the first whose metric has data (0 when none has)."""
    for i, choice in enumerate(body.choices):
        f = frames.get(choice.metric)
        if f is not None and not f.empty:
            return i
    return 0


class RegimeKind(ConditionKind):
    """Moves between bands (`lifecycle._step_regime`); never fires or resolves."""

    name = "regime"
    banded = True
    body: Regime

    def __init__(self, body: Regime, clear: float | None = None) -> None:
        super().__init__(body, clear)
        self.choices = body.choices
        # The measure the last evaluation found data for: every evaluation sets it before stepping
        # or formatting, so the bands, the unit and the words of one pass always agree.
        self.active = 0
        self._units: dict[str, str] = {}   # metric -> unit, learnt from the catalog at load

    @property
    def choice(self) -> RegimeChoice:
        return self.choices[self.active]

    @property
    def shown_metric(self) -> str:
        return self.choice.metric

    def _input_key(self) -> tuple[Any, ...]:
        key = ("regime", tuple(c.metric for c in self.body.choices), self.body.change, self.body.percent)
        # With fallbacks, `base` also picks this rule's measure: its input is its own, not shared.
        return (*key, id(self)) if self.body.fallback else key

    def base(self, inputs: SignalInputs) -> pd.DataFrame:
        self.active = active_choice(self.body, inputs.frames)
        f = inputs.frames.get(self.choice.metric)
        return _EMPTY if f is None or f.empty else self._base_of(f)

    def _base_of(self, f: pd.DataFrame) -> pd.DataFrame:
        if self.body.change:
            return _base(change_series(f, self.body.change, self.body.percent), f["known"])
        return _base(f["value"], f["known"])

    def thresholds(self, value: np.ndarray, prev: np.ndarray,
                   median: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        holds = np.zeros(len(value), dtype=bool)
        return holds, ~holds

    def signal(self, base: pd.DataFrame, after: pd.Timestamp | None) -> pd.DataFrame:
        if after is not None:
            base = base[base.index > after]
        return _frame(base["value"], pd.Series(False, index=base.index), base["known"])

    def replay(self, rule: Rule, rows: _Rows, alert: Alert) -> RuleRun:
        """Band changes depend on every value (hysteresis, `for`): one step per observation."""
        return _loop(rule, rows, alert)

    def step_band(self, prev: Alert, verdict: Verdict, rule: Rule, now: datetime) -> tuple[Alert, Transition | None]:
        """A band change counts observations in the new band; `for` of them make the transition."""
        c, v = self.choice, verdict
        base = replace(prev, data_date=v.data_date, value=v.value)
        if v.value is None:
            return base, None
        band = regime_with_hysteresis(v.value, c.bands, prev.regime, float(c.hysteresis))
        if prev.regime is None:
            return replace(base, regime=band, pending_regime=None, count=0), None
        if band == prev.regime:
            return replace(base, pending_regime=None, count=0), None
        count = prev.count + 1 if prev.pending_regime == band else 1
        if rule.for_observations is not None and count < rule.for_observations:
            return replace(base, pending_regime=band, count=count), None
        t = Transition(rule.id, "regime", v.data_date, now, v.value, prev.regime, band, v.extra)
        return replace(base, regime=band, pending_regime=None, count=0, last_fired_at=now), t

    def quiet_rows(self, alert: Alert, rows: _Rows) -> Alert | None:
        return None  # "holds" is always false: only stepping finds a band change

    def unit(self, catalog: Catalog) -> str:
        if self.body.percent:
            return "pct_change"
        unit: str = catalog.metrics[self.choice.metric].unit
        return unit

    def level_bands(self, metric: str | None = None) -> list[Band] | None:
        """The bands of the measure on `metric` (the active measure when None)."""
        if self.body.change is not None:
            return None
        if metric is None:
            return self.choice.bands
        return next((c.bands for c in self.choices if c.metric == metric), None)

    def marks(self, spreads: dict[tuple[str, str], str]) -> tuple[str, list[float]] | None:
        if self.body.change is not None:
            return None
        c = self.choice
        return c.metric, [float(x.below) for x in c.bands if x.below is not None]

    def placeholders(self, value: float | None, lang: str) -> dict[str, str]:
        c = self.choice
        return {"basis": (c.basis_zh if lang == "zh" and c.basis_zh else c.basis)}

    def describe(self, unit: str, lang: str) -> str:
        parts = []
        for i, c in enumerate(self.choices):
            u = unit if i == self.active else self._units.get(c.metric, unit)
            parts.append(f"{c.metric}: " + ", ".join(
                f"{b.name} < {fmt(b.below, u)}" if b.below is not None else b.name for b in c.bands))
        return "; else ".join(parts)

    def problems(self, catalog: Catalog) -> Problems:
        out: Problems = []
        if self.body.fallback and self.body.change is not None:
            return [(("fallback",), "`fallback` applies to level regimes only, not to `change` ones")]
        names = [b.name for b in self.body.bands]
        for i, alt in enumerate(self.body.fallback):
            if alt.metric not in catalog.metrics:
                out.append((("fallback", i, "metric"), f"unknown metric {alt.metric!r}"))
            if [b.name for b in alt.bands] != names:
                out.append((("fallback", i, "bands"), f"fallback on {alt.metric}: its bands must be named as "
                                                      f"the main ones, in order ({', '.join(names)})"))
        if not out:
            self._units = {c.metric: catalog.metrics[c.metric].unit for c in self.choices}
        return out


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
