"""The alert state machine: verdict sequences -> transitions, as tables."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from bot.rules.lifecycle import Alert, AlertState, Verdict, step
from bot.rules.model import Rule

BASE = date(2024, 1, 1)


def rule(**kw) -> Rule:
    d = {"id": "r_test", "topic": "reserves", "message": "m", "why": "w",
         "condition": {"level": {"metric": "reserves", "op": "<", "value": 3.0}}}
    d.update(kw)
    return Rule.model_validate(d)


def run(r: Rule, values: list[float], days_apart: int = 1) -> list[tuple[int, str]]:
    """Feed values as daily observations; return (index, transition state) pairs."""
    a, out = Alert(), []
    for i, v in enumerate(values):
        d = BASE + timedelta(days=i * days_apart)
        c = r.condition.body
        holds = v < c.value
        cleared = (v >= r.clear) if r.clear is not None else not holds
        a, t = step(a, Verdict(d, v, holds, cleared), r, datetime.combine(d, datetime.min.time()))
        if t:
            out.append((i, t.state))
    return out


@pytest.mark.parametrize("kw,values,expected", [
    ({}, [3.1, 2.9, 2.9, 3.1], [(1, "firing"), (3, "resolved")]),
    ({"for": 2}, [3.1, 2.9, 3.1, 2.9, 2.9, 2.9], [(4, "firing")]),                 # pending resets when it stops holding
    ({"for": 3}, [2.9, 2.9], []),                                                   # pending never fired
    ({"clear": 3.2}, [2.9, 3.01, 2.99, 3.05, 2.95, 3.3], [(0, "firing"), (5, "resolved")]),  # hysteresis
    ({"for": "2d"}, [2.9, 2.9, 2.9], [(2, "firing")]),                               # duration: 2 days after the first
    ({"cooldown": "5d"}, [2.9, 3.1, 2.9, 2.9, 2.9, 2.9, 2.9], [(0, "firing"), (1, "resolved"), (5, "firing")]),
])
def test_transitions(kw, values, expected):
    assert run(rule(**kw), values) == expected


def test_flapping_input_fires_once():
    flaps = [2.99, 3.01] * 50  # a value wobbling around the threshold for 100 observations
    got = run(rule(clear=3.05, cooldown="30d"), flaps)
    assert [s for _, s in got] == ["firing"]


def test_the_same_observation_twice_changes_nothing():
    r = rule()
    a, t = step(Alert(), Verdict(BASE, 2.9, True, False), r, datetime(2024, 1, 1))
    assert t and a.state == AlertState.FIRING
    again, t2 = step(a, Verdict(BASE, 2.9, True, False), r, datetime(2024, 1, 2))
    assert t2 is None and again == a


def test_regime_hysteresis_and_persistence():
    r = Rule.model_validate({
        "id": "reg", "topic": "regime", "message": "{from}->{to}", "why": "w", "for": 2,
        "condition": {"regime": {"metric": "reserves", "hysteresis": 0.05,
                                 "bands": [{"name": "scarce", "below": 3.0}, {"name": "ample", "below": 3.2},
                                           {"name": "abundant"}]}}})
    a, out = Alert(), []
    for i, v in enumerate([3.3, 3.18, 3.1, 3.12, 2.98, 3.05, 2.9, 2.9]):
        d = BASE + timedelta(days=7 * i)
        a, t = step(a, Verdict(d, v, False, False), r, datetime.combine(d, datetime.min.time()))
        if t:
            out.append((i, t.from_regime, t.to_regime))
    assert out == [(3, "abundant", "ample"), (7, "ample", "scarce")]
