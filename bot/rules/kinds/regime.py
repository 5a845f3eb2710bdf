"""`regime`: which named band a metric (or its change) is in, with hysteresis at the edges."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bot.format import fmt
from bot.rules.evaluate import _base, _frame, change_series
from bot.rules.kinds.base import ConditionKind
from bot.rules.lifecycle import Alert, Transition, Verdict
from bot.rules.model import Band, Regime
from bot.rules.replay import RuleRun, _loop

if TYPE_CHECKING:
    from bot.rules.model import Rule
    from bot.rules.replay import _Rows


class RegimeKind(ConditionKind):
    """Moves between bands (`lifecycle._step_regime`); never fires or resolves."""

    name = "regime"
    banded = True
    body: Regime

    def _input_key(self) -> tuple[Any, ...]:
        return ("regime", self.body.metric, self.body.change, self.body.percent)

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
        c, v = self.body, verdict
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

    def level_bands(self, metric: str | None = None) -> list[Band] | None:
        b = self.body
        return b.bands if b.change is None and metric in (None, b.metric) else None

    def marks(self, spreads: dict[tuple[str, str], str]) -> tuple[str, list[float]] | None:
        if self.body.change is not None:
            return None
        return self.body.metric, [float(x.below) for x in self.body.bands if x.below is not None]

    def describe(self, unit: str, lang: str) -> str:
        return f"{self.body.metric}: " + ", ".join(
            f"{b.name} < {fmt(b.below, unit)}" if b.below is not None else b.name for b in self.body.bands)


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
