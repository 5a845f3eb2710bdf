"""`stale`: a metric's newest observation older than `max_age` at the wall clock's `now`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.format import fmt
from bot.i18n import tr
from bot.rules.kinds.base import ConditionKind
from bot.rules.model import Stale

if TYPE_CHECKING:
    from bot.catalog import Catalog


class StaleKind(ConditionKind):
    """Judged once per evaluation by `evaluate.stale_verdict` (one tick at `now`): no signal,
    no history to replay, and its value is an age in days."""

    name = "stale"
    wall_clock = True
    body: Stale

    def unit(self, catalog: Catalog) -> str:
        return "days"

    def placeholders(self, value: float | None, lang: str) -> dict[str, str]:
        return {"age": fmt(value, "days")}

    def describe(self, unit: str, lang: str) -> str:
        return tr(lang)("{metric} older than {age}").format(metric=self.body.metric, age=self.body.max_age)
