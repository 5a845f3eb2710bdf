"""Which threshold lines a chart draws: a few of the rule files' thresholds near the plotted data, plus
the asking chat's own personal alerts. Pure (no store, clock or matplotlib).

Each drawn line costs matplotlib tens of milliseconds of pure Python, and 15,000 rules can put 5,000
thresholds on one metric: a chart draws at most MAX_MARKS. Personal alerts are private: a chart shows
only the asking chat's own, never other chats'.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.catalog import Catalog
from bot.chart import Threshold
from bot.format import fmt, rule_unit
from bot.i18n import tr
from bot.rules.model import Rule
from bot.status import spread_metrics, threshold_metric

MAX_MARKS = 10      # lines on one chart, the chat's own alerts first
RANGE_PAD = 0.25    # a rule threshold this far (share of the data's span) outside the data still shows


@dataclass(frozen=True)
class Own:
    """One of the asking chat's personal alerts on the charted metric."""

    op: str
    value: float


class RuleMarks:
    """Threshold candidates of the rule files per metric, computed once per rules list (a reload
    replaces the list object), each value once, sorted by value."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self._rules: Sequence[Rule] | None = None
        self._by_metric: dict[str, list[tuple[float, Rule]]] = {}

    def candidates(self, rules: Sequence[Rule], metric: str) -> list[tuple[float, Rule]]:
        """(value, first rule with that value) of the level / crossing / spread rules shown on `metric`."""
        if rules is not self._rules:
            self._by_metric = group_by_metric(rules, self.catalog)
            self._rules = rules  # held, so its id cannot be reused by another list
        return self._by_metric.get(metric, [])


def group_by_metric(rules: Iterable[Rule], catalog: Catalog) -> dict[str, list[tuple[float, Rule]]]:
    """Every rule threshold per metric, one rule per distinct value, sorted by value."""
    spreads = spread_metrics(catalog)
    seen: dict[str, dict[float, Rule]] = {}
    for r in rules:
        if r.topic == "personal":
            continue  # never another chat's alert
        metric = threshold_metric(r, spreads)
        if metric is not None:
            seen.setdefault(metric, {}).setdefault(float(r.condition.body.value), r)
    return {m: sorted(by_value.items(), key=lambda p: p[0]) for m, by_value in seen.items()}


def pick(values: Sequence[float], span: tuple[float, float] | None, centre: float | None, limit: int) -> list[int]:
    """Indexes of at most `limit` values, nearest to `centre` (the latest data point) first; only those
    within `span` (the data's range) padded by RANGE_PAD of its width, when a span is given."""
    inside = list(range(len(values)))
    if span is not None:
        lo, hi = span
        pad = (hi - lo) * RANGE_PAD or abs(hi) * RANGE_PAD
        inside = [i for i in inside if lo - pad <= values[i] <= hi + pad]
    if centre is None:
        return inside[:limit]
    return sorted(inside, key=lambda i: abs(values[i] - centre))[:limit]


def chart_thresholds(candidates: Sequence[tuple[float, Rule]], own: Sequence[Own], data: Sequence[float],
                     unit: str, catalog: Catalog, lang: str) -> tuple[Threshold, ...]:
    """The chat's own alerts (nearest the last value first), then rule thresholds near the data,
    MAX_MARKS in all, sorted by value."""
    _ = tr(lang)
    finite = [v for v in data if math.isfinite(v)]
    span = (min(finite), max(finite)) if finite else None
    last = finite[-1] if finite else None
    chosen = [Threshold(own[i].value, _("Your alert: {op} {value}").format(op=own[i].op, value=fmt(own[i].value, unit)))
              for i in pick([o.value for o in own], None, last, MAX_MARKS)]
    drawn = {t.value for t in chosen}
    rest = [(v, r) for v, r in candidates if v not in drawn]
    for i in pick([v for v, _r in rest], span, last, MAX_MARKS - len(chosen)):
        value, rule = rest[i]
        chosen.append(Threshold(value, f"{rule.heading(lang)}: {fmt(value, rule_unit(rule, catalog))}"))
    return tuple(sorted(chosen, key=lambda t: t.value))
