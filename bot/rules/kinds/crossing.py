"""`crossing`: a metric moving through a value between two observations."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bot.format import fmt
from bot.rules.evaluate import _frame
from bot.rules.kinds.base import ConditionKind
from bot.rules.model import Crossing


class CrossingKind(ConditionKind):
    """Holds on the observation that crosses `value` in `direction` (above / below)."""

    name = "crossing"
    body: Crossing

    def thresholds(self, value: np.ndarray, prev: np.ndarray,
                   median: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        c = self.body
        with np.errstate(invalid="ignore"):
            holds = (prev >= c.value) & (value < c.value) if c.direction == "below" else \
                (prev <= c.value) & (value > c.value)
        return holds, ~holds

    def signal(self, base: pd.DataFrame, after: pd.Timestamp | None) -> pd.DataFrame:
        c = self.body
        prev = base["value"].shift(1)  # needs the observation before the first new one
        if after is not None:
            keep = base.index > after
            base, prev = base[keep], prev[keep]
        value = base["value"]
        if c.direction == "below":
            holds = (prev >= c.value) & (value < c.value)
        else:
            holds = (prev <= c.value) & (value > c.value)
        return _frame(value, holds, base["known"])

    def threshold_metric(self, spreads: dict[tuple[str, str], str]) -> str | None:
        return self.body.metric

    def describe(self, unit: str, lang: str) -> str:
        return f"{self.body.metric} {self.body.direction} {fmt(self.body.value, unit)}"
