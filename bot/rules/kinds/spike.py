"""`spike`: a value several times its recent median (SRF take-up, repo volumes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bot.format import fmt
from bot.i18n import tr
from bot.rules.evaluate import _EMPTY, _base, _frame
from bot.rules.kinds.base import ConditionKind
from bot.rules.model import Spike

if TYPE_CHECKING:
    from bot.rules.evaluate import SignalInputs


class SpikeKind(ConditionKind):
    """Holds when value >= `floor` and > `multiple` x the median of the previous `window`
    observations, or when value >= `above`; the median travels with the alert."""

    name = "spike"
    body: Spike

    def _input_key(self) -> tuple[Any, ...]:
        return ("spike", self.body.metric, self.body.window)

    def base(self, inputs: SignalInputs) -> pd.DataFrame:
        f = inputs.frames[self.body.metric]
        if f.empty:
            return _EMPTY.assign(median=pd.Series(dtype=float))
        out = _base(f["value"], f["known"])
        w = self.body.window
        out["median"] = f["value"].shift(1).rolling(w, min_periods=max(2, w // 2)).median()
        return out

    def thresholds(self, value: np.ndarray, prev: np.ndarray,
                   median: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        c = self.body
        assert median is not None  # SignalInputs computes it for every spike input
        with np.errstate(invalid="ignore"):
            holds = (value >= c.floor) & (value > c.multiple * median)
            if c.above is not None:
                holds = holds | (value >= c.above)
        return holds, ~holds

    def signal(self, base: pd.DataFrame, after: pd.Timestamp | None) -> pd.DataFrame:
        c = self.body
        if after is not None:
            base = base[base.index > after]
        value, median = base["value"], base["median"]
        holds = (value >= c.floor) & (value > c.multiple * median)
        if c.above is not None:
            holds = holds | (value >= c.above)
        out = _frame(value, holds.fillna(False), base["known"])
        out["median"] = median.reindex(out.index)
        return out

    def placeholders(self, value: float | None, lang: str) -> dict[str, str]:
        return {"multiple": f"{self.body.multiple:g}x"}

    def describe(self, unit: str, lang: str) -> str:
        c = self.body
        return tr(lang)("{metric} > {multiple}x its {window}-day median (min {floor})").format(
            metric=c.metric, multiple=f"{c.multiple:g}", window=c.window, floor=fmt(c.floor, unit))
