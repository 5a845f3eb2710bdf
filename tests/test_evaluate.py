"""Condition kinds on small frames: crossing, spike, percent change, spread units, staleness."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from bot.metrics import compute_metrics
from bot.rules.evaluate import signal
from bot.rules.kinds.stale import stale_verdict
from bot.rules.model import Rule


def rule(condition: dict, **kw) -> Rule:
    return Rule.model_validate({"id": "r_x", "topic": "reserves", "message": "m", "why": "w",
                                "condition": condition, **kw})


def frames(catalog, **series):
    given = {k: pd.Series(list(v.values()), index=pd.DatetimeIndex(list(v))) for k, v in series.items()}
    return compute_metrics(catalog, {}, {k: v.astype(float) for k, v in given.items()})


def units(catalog):
    return {k: m.unit for k, m in catalog.metrics.items()}


def test_crossing_fires_on_the_cross_only(catalog):
    f = frames(catalog, reserves={"2022-09-07": 3.1e12, "2022-09-14": 2.9e12, "2022-09-21": 2.8e12,
                                  "2022-09-28": 3.1e12, "2022-10-05": 2.95e12})
    sig = signal(rule({"crossing": {"metric": "reserves", "direction": "below", "value": 3e12}}), f, units(catalog))
    assert sig["holds"].tolist() == [False, True, False, False, True]


def test_spike_needs_a_multiple_of_the_median_and_the_floor(catalog):
    days = pd.bdate_range("2025-01-01", periods=12)
    values = [1e9] * 10 + [4e9, 6e9]
    f = frames(catalog, srf_usage=dict(zip(days.strftime("%Y-%m-%d"), values, strict=False)))
    sig = signal(rule({"spike": {"metric": "srf_usage", "multiple": 5, "window": 10, "floor": 5e9}}), f, units(catalog))
    assert sig["holds"].tolist()[-2:] == [False, True]          # 4x is not a spike; 6x above the floor is
    assert sig["median"].iloc[-1] == pytest.approx(1e9)


def test_percent_change_over_calendar_days(catalog):
    f = frames(catalog, fed_assets={"2022-06-01": 8.9e12, "2022-08-31": 8.6e12})
    r = rule({"change": {"metric": "fed_assets", "window": {"days": 91}, "op": "<", "value": -3, "percent": True}})
    sig = signal(r, f, units(catalog))
    assert sig["value"].iloc[-1] == pytest.approx((8.6 / 8.9 - 1) * 100) and bool(sig["holds"].iloc[-1])


def test_spread_of_rates_is_in_basis_points(catalog):
    f = frames(catalog, sofr={"2019-09-17": 5.25}, iorb={"2019-09-17": 2.10})
    sig = signal(rule({"spread": {"a": "sofr", "b": "iorb", "op": ">=", "value": 15}}), f, units(catalog))
    assert sig["value"].iloc[0] == pytest.approx(315) and bool(sig["holds"].iloc[0])


def test_staleness_uses_the_clock_it_is_given(catalog):
    f = frames(catalog, sofr={"2026-06-01": 4.3})
    r = rule({"stale": {"metric": "sofr", "max_age": "5d"}}, topic="data")
    assert not stale_verdict(r, f, datetime(2026, 6, 5)).holds
    v = stale_verdict(r, f, datetime(2026, 6, 8))
    assert v.holds and v.last_date == "2026-06-01" and v.age_days == pytest.approx(7)
    assert stale_verdict(r, frames(catalog), datetime(2026, 6, 8)).holds  # no data at all is stale too
