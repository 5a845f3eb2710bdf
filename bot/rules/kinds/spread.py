"""`spread`: one metric minus another (in basis points for percent metrics) compared with a value."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bot.metrics import asof
from bot.rules.evaluate import _EMPTY, _base
from bot.rules.kinds.base import Compared, Problems
from bot.rules.kinds.level import _compared
from bot.rules.model import Spread

if TYPE_CHECKING:
    from bot.catalog import Catalog
    from bot.rules.evaluate import SignalInputs


class SpreadKind(Compared):
    """`a - b op value`, each `a` observation against the `b` in force that day."""

    name = "spread"
    body: Spread

    @property
    def shown_metric(self) -> str:
        return self.body.a

    def _input_key(self) -> tuple[Any, ...]:
        return ("spread", self.body.a, self.body.b)

    def base(self, inputs: SignalInputs) -> pd.DataFrame:
        c = self.body
        a, b = inputs.frames[c.a], inputs.frames[c.b]
        if a.empty or b.empty:
            return _EMPTY
        other = asof(b, a.index, tolerance_days=10)
        factor = 100.0 if inputs.units.get(c.a) == "percent" else 1.0
        value = ((a["value"] - other["value"]) * factor).round(6)
        return _base(value, np.maximum(a["known"], other["known"]))

    def unit(self, catalog: Catalog) -> str:
        u: str = catalog.metrics[self.body.a].unit
        return "bp" if u == "percent" else u

    def threshold_metric(self, spreads: dict[tuple[str, str], str]) -> str | None:
        return spreads.get((self.body.a, self.body.b))

    def describe(self, unit: str, lang: str) -> str:
        return _compared(f"{self.body.a} - {self.body.b}", self.body.op, self.body.value, self.clear, unit, lang)

    def problems(self, catalog: Catalog) -> Problems:
        ua, ub = catalog.metrics[self.body.a].unit, catalog.metrics[self.body.b].unit
        if ua == ub:
            return []
        return [((), f"spread of {self.body.a} ({ua}) and {self.body.b} ({ub}): units differ")]
