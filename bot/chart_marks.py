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

import pandas as pd

from bot.catalog import Catalog
from bot.chart import Period, Threshold
from bot.format import fmt, metric_label, rule_unit
from bot.i18n import tr
from bot.metrics import Frames
from bot.rules.evaluate import signal
from bot.rules.kinds.regime import active_choice
from bot.rules.lifecycle import Alert
from bot.rules.model import Band, Regime, Rule
from bot.rules.replay import run_rule
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


def regime_shading(rules: Iterable[Rule], frames: Frames, catalog: Catalog, metric: str,
                   lang: str) -> tuple[tuple[Band, ...], tuple[Period, ...]]:
    """How a chart of `metric` shades a regime: horizontal bands when the regime is judged on
    `metric` itself; when `metric` is only one of its measures (reserves, while the regime is judged
    on their share of bank assets), the regime over time as the rule held it, so 2015 is not painted
    scarce by a dollar line it was never judged on."""
    for r in rules:
        body = r.condition.body
        bands = r.kind.level_bands(metric) if r.topic != "personal" and r.kind.banded else None
        if bands is None:
            continue
        if not isinstance(body, Regime) or body.choices[active_choice(body, frames)].metric == metric:
            return tuple(bands), ()
        return (), regime_periods(r, frames, catalog, lang)
    return (), ()


_PERIODS: dict[tuple[object, ...], tuple[Rule, tuple[Period, ...]]] = {}
_PERIODS_KEPT = 16


def regime_periods(rule: Rule, frames: Frames, catalog: Catalog, lang: str) -> tuple[Period, ...]:
    """The bands a regime rule held over its history (with its hysteresis and `for`), dated by data
    date, each labelled with the measure it was judged on ("abundant (Reserves / bank assets)").
    Replaying ~1,200 weekly prints takes ~70 ms: kept per rule, data and language (charts ask on the loop)."""
    sig = signal(rule, frames, catalog.units)
    if sig.empty:
        return ()
    key = (id(rule), rule.kind.shown_metric, len(sig), sig.index[-1], float(sig["value"].iloc[-1]), lang)
    kept = _PERIODS.get(key)
    if kept is not None and kept[0] is rule:
        return kept[1]
    if len(_PERIODS) >= _PERIODS_KEPT:
        _PERIODS.pop(next(iter(_PERIODS)))
    out = _periods(rule, sig, catalog, lang)
    _PERIODS[key] = (rule, out)   # the rule is held, so its id cannot be reused by another
    return out


def _periods(rule: Rule, sig: pd.DataFrame, catalog: Catalog, lang: str) -> tuple[Period, ...]:
    _ = tr(lang)
    run = run_rule(rule, sig, Alert())
    changes = [t for t in run.transitions if t.state == "regime"]
    first = changes[0].from_regime if changes else run.alert.regime
    starts = [(sig.index[0].date().isoformat(), first)] + [(t.data_date.isoformat(), t.to_regime) for t in changes]
    names = [b.name for b in (rule.kind.level_bands() or [])]
    measure = metric_label(catalog, rule.kind.shown_metric, lang)
    out = []
    for i, (start, name) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else None
        label = _("{regime} ({measure})").format(regime=_(name or ""), measure=measure)
        out.append(Period(start, end, label, names.index(name) if name in names else -1))
    return tuple(out)


def era_periods(rules: Iterable[Rule], metric: str, lang: str) -> tuple[Period, ...]:
    """The stretch before a rule's `record_from` on the metric it charts, labelled with what the
    numbers were then (repo take-up before 2021-07-28: "Fed repo operations", not the SRF)."""
    out: list[Period] = []
    for r in rules:
        before, start = r.before_record(lang), r.record_start
        if r.topic == "personal" or not before or start is None or r.kind.shown_metric != metric:
            continue
        if all(p.label != before for p in out):
            out.append(Period("1970-01-01", start.isoformat(), before))
    return tuple(out)
