"""`change`: a metric's change over a window (in its unit, or in percent) compared with a value."""

from __future__ import annotations

from typing import Any

import pandas as pd

from bot.format import window_text
from bot.rules.evaluate import _base, change_series
from bot.rules.kinds.base import Compared
from bot.rules.kinds.level import _compared
from bot.rules.model import Change


class ChangeKind(Compared):
    """`change(metric, window) op value`, optionally clearing at `clear`."""

    name = "change"
    body: Change

    def _input_key(self) -> tuple[Any, ...]:
        return ("change", self.body.metric, self.body.window, self.body.percent)

    def _base_of(self, f: pd.DataFrame) -> pd.DataFrame:
        return _base(change_series(f, self.body.window, self.body.percent), f["known"])

    def placeholders(self, value: float | None, lang: str) -> dict[str, str]:
        return {"window": window_text(self.body.window, lang)}

    def describe(self, unit: str, lang: str) -> str:
        subject = f"{self.body.metric} ({window_text(self.body.window, lang)})"
        return _compared(subject, self.body.op, self.body.value, self.clear, unit, lang)
