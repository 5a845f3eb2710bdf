"""`level`: a metric compared with a value (`reserves < 3000`); personal alerts are level rules."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from bot.format import fmt
from bot.i18n import tr
from bot.rules.evaluate import OPS
from bot.rules.kinds.base import Compared
from bot.rules.model import Level
from bot.rules.replay import _quiet

if TYPE_CHECKING:
    from bot.rules.evaluate import SignalInputs
    from bot.rules.lifecycle import Alert
    from bot.rules.model import Rule


class LevelKind(Compared):
    """`metric op value`, optionally clearing at `clear`."""

    name = "level"
    body: Level

    def quiet_catch_up(self, rule: Rule, alert: Alert, inputs: SignalInputs) -> Alert | None:
        """The new values as plain floats: thousands of level rules on one metric read the same
        one to four values, and Python compares those faster than numpy sets up arrays (a NaN
        neither holds nor keeps an alert from clearing). No new rows: the alert as it was."""
        values, day = inputs.tail_values(rule, alert.data_date)  # type: ignore[arg-type]
        return alert if day is None else self.quiet_values(alert, values, day)

    def quiet_values(self, alert: Alert, values: list[float], day: date) -> Alert | None:
        """`replay._quiet` for new values as plain floats (`day`: the date of the last one)."""
        c = self.body
        op = OPS[c.op]
        keep = c.value if self.clear is None else self.clear
        return _quiet(alert, any(op(v, c.value) for v in values), not all(op(v, keep) for v in values),
                      day, values[-1])

    def threshold_metric(self, spreads: dict[tuple[str, str], str]) -> str | None:
        return self.body.metric

    def describe(self, unit: str, lang: str) -> str:
        return _compared(self.body.metric, self.body.op, self.body.value, self.clear, unit, lang)


def _compared(subject: str, op: str, value: float, clear: float | None, unit: str, lang: str) -> str:
    """`subject op value`, with "(clears at x)" when a `clear` is set (level, change, spread)."""
    text = f"{subject} {op} {fmt(value, unit)}"
    if clear is not None:
        text += " " + tr(lang)("(clears at {value})").format(value=fmt(clear, unit))
    return text
