"""What every condition kind answers: its input, its thresholds, its signal, its texts.

A kind object is made once per rule (`Rule.kind`) from the rule's condition body and its
`clear`, so the hot paths read plain attributes instead of switching on the kind's name.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from bot.rules.evaluate import _EMPTY, OPS, _base, _clear, _frame
from bot.rules.replay import RuleRun, _jump, _nothing_happens

if TYPE_CHECKING:
    from bot.catalog import Catalog
    from bot.rules.evaluate import SignalInputs
    from bot.metrics import Frames
    from bot.rules.kinds.stale import StaleVerdict
    from bot.rules.lifecycle import Alert, Transition, Verdict
    from bot.rules.model import Band, Rule
    from bot.rules.replay import _Rows

Problems = list[tuple[tuple[Any, ...], str]]


class ConditionKind:
    """One kind of condition (level, crossing, change, spread, spike, regime, stale) bound to a
    rule's condition body: everything that differs between kinds lives in a subclass."""

    name: ClassVar[str]
    clearable: ClassVar[bool] = False   # `clear` applies
    banded: ClassVar[bool] = False      # transitions between named bands, not firing / resolved
    wall_clock: ClassVar[bool] = False  # judged at `now`, not per observation: no signal, no backtest

    def __init__(self, body: Any, clear: float | None = None) -> None:
        self.body, self.clear = body, clear
        self.input_key: tuple[Any, ...] = self._input_key()

    # ---- evaluation ------------------------------------------------------------------------
    @property
    def shown_metric(self) -> str:
        """The metric an alert names, links and charts."""
        metric: str = self.body.metric
        return metric

    def _input_key(self) -> tuple[Any, ...]:
        """Rules with the same key share one input vector (`SignalInputs`)."""
        return ("level", self.body.metric)

    def base(self, inputs: SignalInputs) -> pd.DataFrame:
        """`value` and `known` per observation, before thresholds."""
        f = inputs.frames[self.body.metric]
        if f.empty:
            return _EMPTY
        return self._base_of(f)

    def _base_of(self, f: pd.DataFrame) -> pd.DataFrame:
        return _base(f["value"], f["known"])

    def thresholds(self, value: np.ndarray, prev: np.ndarray,
                   median: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(holds, cleared) on bare arrays: `signal`'s logic for the live path."""
        raise NotImplementedError

    def signal(self, base: pd.DataFrame, after: pd.Timestamp | None) -> pd.DataFrame:
        """The signal frame of `base` rows dated after `after` (all when None)."""
        raise NotImplementedError

    # ---- replay ----------------------------------------------------------------------------
    def replay(self, rule: Rule, rows: _Rows, alert: Alert) -> RuleRun:
        """Step over rows: jumping between state changes, which every non-banded kind allows."""
        return _jump(rule, rows, alert)

    def quiet_rows(self, alert: Alert, rows: _Rows) -> Alert | None:
        """The new state when none of the new rows can change it, else None."""
        return _nothing_happens(alert, rows)

    def quiet_catch_up(self, rule: Rule, alert: Alert, inputs: SignalInputs) -> Alert | None:
        """A cheaper `quiet_rows` before any rows are built (None: no shortcut here)."""
        return None

    def step_band(self, prev: Alert, verdict: Verdict, rule: Rule, now: datetime) -> tuple[Alert, Transition | None]:
        """`lifecycle.step` for a banded kind (the band may change), called when `banded`."""
        raise NotImplementedError

    def verdict(self, frames: Frames, now: datetime) -> StaleVerdict:
        """The one verdict of a `wall_clock` kind at `now`."""
        raise NotImplementedError

    # ---- what charts, tables and texts show ------------------------------------------------
    def unit(self, catalog: Catalog) -> str:
        """The unit of the value the rule compares."""
        if getattr(self.body, "percent", False):
            return "pct_change"
        unit: str = catalog.metrics[self.body.metric].unit
        return unit

    def threshold_metric(self, spreads: dict[tuple[str, str], str]) -> str | None:
        """The catalog metric whose chart or table row shows this rule's threshold, if any."""
        return None

    def marks(self, spreads: dict[tuple[str, str], str]) -> tuple[str, list[float]] | None:
        """(metric, lines) a chart or table draws for this rule, or None."""
        metric = self.threshold_metric(spreads)
        return None if metric is None else (metric, [float(self.body.value)])

    def level_bands(self, metric: str | None = None) -> list[Band] | None:
        """The bands a regime rule puts `metric`'s level in (any metric when None), else None."""
        return None

    def placeholders(self, value: float | None, lang: str) -> dict[str, str]:
        """Message placeholders only this kind fills (window, multiple, age)."""
        return {}

    def describe(self, unit: str, lang: str) -> str:
        """The condition as /rules shows it."""
        raise NotImplementedError

    def problems(self, catalog: Catalog) -> Problems:
        """Load-time checks beyond the model's (metric names known): (location, message)."""
        return []


class Compared(ConditionKind):
    """A value compared with `op value`, resolving past `clear` when given (level, change, spread)."""

    clearable = True

    def thresholds(self, value: np.ndarray, prev: np.ndarray,
                   median: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        op = OPS[self.body.op]
        with np.errstate(invalid="ignore"):
            holds = op(value, self.body.value)
            if self.clear is not None:
                return holds, ~op(value, self.clear)
        return holds, ~holds

    def signal(self, base: pd.DataFrame, after: pd.Timestamp | None) -> pd.DataFrame:
        if after is not None:
            base = base[base.index > after]
        value = base["value"]
        holds = OPS[self.body.op](value, self.body.value)
        return _frame(value, holds, base["known"], _clear(self.clear, value, self.body.op, holds))
