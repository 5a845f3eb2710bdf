"""What an alert's chart shows: the quantity the rule compares, in one unit, with gaps left open.

Pure. A spread rule (SOFR - IORB > 0) charts the spread metric in bp, where its threshold is
drawn (bot/chart_marks.py), not SOFR alone in percent; a change rule charts the catalog's change
metric for its window when there is one; other rules chart their metric with the threshold on it.
Lines are broken across missing days, so a gap in the data never reads as a straight move.
"""

from __future__ import annotations

import pandas as pd

from bot.catalog import Catalog
from bot.rules.model import Rule

# A break in the line: a gap longer than this many typical spacings (weekends and holidays of a
# daily series, a skipped week of a weekly one stay joined).
GAP_SPACINGS = 2.5
MIN_GAP = pd.Timedelta(days=4)


def alert_chart_metric(rule: Rule, catalog: Catalog) -> str | None:
    """The catalog metric an alert of `rule` charts (and its Chart button opens), or None."""
    kind = rule.kind
    body = kind.body
    if kind.name == "spread":
        for name, m in catalog.metrics.items():
            if m.spread == (body.a, body.b):
                return name
    if kind.name == "change" and not body.percent and body.window.days:
        for name, m in catalog.metrics.items():
            if m.change == body.metric and m.window_days == body.window.days:
                return name
    metric = kind.shown_metric
    return metric if metric in catalog.metrics else None


def break_gaps(y: pd.Series) -> pd.Series:
    """`y` with a NaN put in each gap much longer than its usual spacing, so a plotted line
    stops there instead of bridging the missing days with a straight line."""
    if len(y) < 3:
        return y
    steps = y.index.to_series().diff().iloc[1:]
    limit = max(steps.median() * GAP_SPACINGS, MIN_GAP)
    gaps = steps[steps > limit]
    if gaps.empty:
        return y
    holes = pd.Series(float("nan"), index=gaps.index - gaps / 2)
    return pd.concat([y, holes]).sort_index()
