"""Alert charts show what the rule compares, in one unit, and never bridge missing days."""

from __future__ import annotations

import math

import pandas as pd

from bot.chart import ChartSpec, build_figure
from bot.chart_alert import alert_chart_metric, break_gaps
from bot.rules.model import Rule
from tests.test_since import shipped


def test_a_spread_rule_charts_the_spread_in_bp_not_sofr_alone(catalog):
    rule = shipped(catalog, "sofr_above_iorb")[0]
    assert alert_chart_metric(rule, catalog) == "sofr_iorb_spread"
    assert catalog.metrics["sofr_iorb_spread"].unit == "bp"  # one unit per chart


def test_level_and_change_rules_chart_what_they_compare(catalog):
    assert alert_chart_metric(shipped(catalog, "reserves_below_3t")[0], catalog) == "reserves"
    weekly_drain = Rule.model_validate({"id": "rrp_drain", "topic": "rrp", "severity": "info", "why": "w", "message": "m",
                                        "condition": {"change": {"metric": "rrp", "window": {"days": 7}, "op": "<",
                                                                 "value": -1e11}}})
    assert alert_chart_metric(weekly_drain, catalog) == "rrp_change_1w"  # the 1-week change, in dollars
    assert alert_chart_metric(shipped(catalog, "repo_rate_spike")[0], catalog) == "sofr_iorb_spread"


def test_the_grouped_alert_carries_a_chart_of_the_spread_when_its_lead_has_none(store, catalog):
    import json

    from tests.test_grouping import two_alerts_on_one_release
    from bot.format import AlertMessage, group

    two_alerts_on_one_release(store, catalog)
    rows = store.due_outbox("telegram", "2026-12-08")
    g = group([AlertMessage.from_stored(r.payload, r.text, r.rule_id, r.topic, r.state) for r in rows])
    assert g.rule_id == "repo_rate_spike" and g.chart and g.metric == "sofr_iorb_spread"
    assert {json.loads(r.payload)["en"]["metric"] for r in rows} == {"sofr_iorb_spread"}


def daily(start: str, end: str, value: float = 1.0) -> pd.Series:
    idx = pd.bdate_range(start, end)
    return pd.Series([value + i * 0.01 for i in range(len(idx))], index=idx)


def test_missing_weeks_break_the_line_and_weekends_do_not():
    s = pd.concat([daily("2026-01-05", "2026-02-27"), daily("2026-04-06", "2026-05-29")])  # March missing
    out = break_gaps(s)
    holes = out[out.isna()]
    assert len(holes) == 1 and pd.Timestamp("2026-02-27") < holes.index[0] < pd.Timestamp("2026-04-06")
    assert break_gaps(daily("2026-01-05", "2026-05-29")).notna().all()  # weekends stay joined
    weekly = pd.Series(1.0, index=pd.date_range("2026-01-07", periods=20, freq="7D"))
    assert break_gaps(weekly.drop(weekly.index[8])).notna().all()  # one skipped week stays joined


def test_the_drawn_line_stops_at_the_gap():
    s = pd.concat([daily("2026-01-05", "2026-02-27"), daily("2026-04-06", "2026-05-29")])
    fig = build_figure(ChartSpec(series=s, title="SOFR - IORB", unit="bp", period="last year", source="t"))
    y = fig.axes[0].lines[0].get_ydata()
    assert sum(1 for v in y if isinstance(v, float) and math.isnan(v)) == 1
