"""`stale`: a metric's newest observation older than `max_age` at the wall clock's `now`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.format import fmt
from bot.i18n import tr
from bot.rules.kinds.base import ConditionKind
from bot.rules.model import Stale, parse_duration

if TYPE_CHECKING:
    from bot.catalog import Catalog
    from bot.metrics import Frames
    from bot.rules.model import Rule


class StaleKind(ConditionKind):
    """Judged once per evaluation by `evaluate.stale_verdict` (one tick at `now`): no signal,
    no history to replay, and its value is an age in days."""

    name = "stale"
    wall_clock = True
    body: Stale

    def verdict(self, frames: Frames, now: datetime) -> StaleVerdict:
        f = frames.get(self.body.metric)
        if f is None or f.empty:
            return StaleVerdict(True, None, None)
        last = f.index[-1].to_pydatetime()
        age = now.replace(tzinfo=None) - last
        return StaleVerdict(age > parse_duration(self.body.max_age), last.date().isoformat(),
                            age.total_seconds() / 86400)

    def unit(self, catalog: Catalog) -> str:
        return "days"

    def placeholders(self, value: float | None, lang: str) -> dict[str, str]:
        return {"age": fmt(value, "days")}

    def describe(self, unit: str, lang: str) -> str:
        return tr(lang)("{metric} older than {age}").format(metric=self.body.metric, age=self.body.max_age)


@dataclass(frozen=True)
class StaleVerdict:
    """Whether the metric is stale at `now`, its newest date and that date's age in days."""

    holds: bool
    last_date: str | None
    age_days: float | None


def stale_verdict(rule: Rule, frames: Frames, now: datetime) -> StaleVerdict:
    """Is the metric's newest observation older than `max_age` at `now`?"""
    return rule.kind.verdict(frames, now)
