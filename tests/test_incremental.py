"""The fast lifecycle and the incremental engine give exactly the transitions of stepping every
observation of the real history one by one."""

from __future__ import annotations

import pandas as pd
import pytest

from bot.metrics import compute_metrics, needed_series
from bot.rules.evaluate import SignalInputs, signal
from bot.rules.lifecycle import Alert
from bot.rules.loader import load_rules
from bot.rules.model import Rule
from bot.rules.replay import reference_run, run_rule
from tests.test_rules_loader import RULES


@pytest.fixture(scope="module")
def history(history_store):
    from bot.catalog import default_catalog

    catalog = default_catalog()
    frames = compute_metrics(catalog, history_store.load_series(needed_series(catalog)))
    rules = [r for r in load_rules(RULES, catalog).rules if r.condition.kind != "stale"]
    return frames, catalog.units, rules


def _key(run):
    return [(t.state, t.data_date, t.at, t.value, t.from_regime, t.to_regime) for t in run.transitions], run.alert


def _variants(rule: Rule) -> list[Rule]:
    """The shipped rule plus harder ones: `for` as a duration, longer `for`, no cooldown."""
    d = rule.model_dump(by_alias=True, exclude_none=True)
    out = [rule]
    if rule.condition.kind != "regime":
        out.append(Rule.model_validate({**d, "for": "9d", "cooldown": "3d"}))
        out.append(Rule.model_validate({**d, "for": 4, "cooldown": None} if "cooldown" in d else {**d, "for": 4}))
    return out


def test_every_shipped_rule_fast_equals_step_by_step(history):
    frames, units, rules = history
    inputs = SignalInputs(frames, units)
    checked = 0
    for shipped in rules:
        for rule in _variants(shipped):
            sig = signal(rule, frames, units, inputs)
            fast, slow = run_rule(rule, sig, Alert()), reference_run(rule, sig, Alert())
            assert _key(fast) == _key(slow), rule.id
            checked += len(slow.transitions)
    assert checked > 100  # the comparison saw real transitions, not empty runs


def test_incremental_chunks_equal_one_full_replay(history):
    frames, units, rules = history
    inputs = SignalInputs(frames, units)
    cutoffs = pd.date_range("2003-01-01", "2026-09-01", freq="97D")
    for rule in rules:
        full = run_rule(rule, signal(rule, frames, units, inputs), Alert())
        alert, transitions = Alert(), []
        for cut in cutoffs:
            sig = signal(rule, frames, units, inputs,
                         after=pd.Timestamp(alert.data_date) if alert.data_date else None)
            part = run_rule(rule, sig[sig["known"] <= cut], alert)
            alert, transitions = part.alert, transitions + part.transitions
        assert [t.data_date for t in transitions] == [t.data_date for t in full.transitions], rule.id
        assert alert == full.alert, rule.id


def test_the_live_tail_path_sees_the_same_observations_as_the_frame_path(history):
    import numpy as np

    from bot.rules.replay import _rows, tail_rows

    frames, units, rules = history
    inputs = SignalInputs(frames, units)
    for rule in rules:
        for after in ("2019-09-13", "2022-09-21", "2025-12-31", "2026-07-29"):
            day = pd.Timestamp(after)
            want = _rows(signal(rule, frames, units, inputs, day), day.date())
            got = tail_rows(rule, inputs, day.date())
            for name in ("dates", "known", "value", "holds", "cleared"):
                np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=f"{rule.id} {name}")


def test_the_quiet_shortcut_equals_stepping_every_row(history):
    """Live catch-up answers "nothing happens" without stepping; from every state the real
    history passes through, that answer must be exactly what stepping the rows gives."""
    from bot.catalog import default_catalog
    from bot.personal import Personal, rule_for
    from bot.rules.replay import _loop, _nothing_happens, _rows

    frames, units, rules = history
    inputs = SignalInputs(frames, units)
    cat = default_catalog()
    personal = [rule_for(Personal(i, "telegram", "1", m, op, v, n), cat) for i, (m, op, v, n) in enumerate(
        [("reserves", "<", 3.1e12, 1), ("rrp", "<", 3e11, 1), ("sofr_iorb_spread", ">", 0.0, 2)])]
    shortcuts = 0
    for shipped in rules + personal:
        if shipped.condition.kind == "regime":
            continue
        for rule in _variants(shipped):
            rows = _rows(signal(rule, frames, units, inputs), None)
            alert = Alert()
            for i in range(len(rows) - 1):
                if i < len(rows) - 1200:  # the early rows only warm the state up
                    alert = _loop(rule, _Slice(rows, i, i + 1), alert).alert
                    continue
                for k in (1, 3):
                    part = _Slice(rows, i + 1, i + 1 + k)
                    quick = _nothing_happens(alert, part)
                    stepped = _loop(rule, part, alert)
                    if quick is not None:
                        shortcuts += 1
                        assert (quick, []) == (stepped.alert, stepped.transitions), (rule.id, i)
                    if rule.condition.kind == "level":  # the plain-float version for level rules
                        plain = rule.kind.quiet_values(alert, part.value.tolist(), part.day(len(part) - 1))
                        assert plain == quick, (rule.id, i)
                alert = _loop(rule, _Slice(rows, i, i + 1), alert).alert
    assert shortcuts > 10_000


def _Slice(rows, start: int, end: int):
    """Rows start..end-1 of a `_Rows`."""
    import dataclasses

    return dataclasses.replace(rows, **{f.name: (getattr(rows, f.name)[start:end]
                                                 if getattr(rows, f.name) is not None else None)
                                        for f in dataclasses.fields(rows)})
