"""Replay rules over observations in the order they became known. Pure.

The live bot steps each rule over observations newer than its stored state; the
backtest steps every rule over all of history, each observation on the day it was
published, so it never looks ahead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from bot.metrics import Frames
from bot.rules.evaluate import signal, stale_verdict
from bot.rules.lifecycle import Alert, AlertState, Transition, Verdict, step
from bot.rules.model import Rule


def verdict_rows(sig: pd.DataFrame) -> Iterable[tuple[pd.Timestamp, Verdict]]:
    """(known, verdict) for each signal row, in order of publication then data date."""
    if sig.empty:
        return []
    order = np.lexsort((sig.index.values, sig["known"].values))
    dates = sig.index.values[order]
    known = sig["known"].values[order]
    value = sig["value"].values[order]
    holds = sig["holds"].values[order]
    cleared = sig["cleared"].values[order]
    median = sig["median"].values[order] if "median" in sig else None
    out = []
    for i in range(len(order)):
        extra = (("median", float(median[i])),) if median is not None and median[i] == median[i] else ()
        d = pd.Timestamp(dates[i]).date()
        out.append((pd.Timestamp(known[i]), Verdict(d, float(value[i]), bool(holds[i]), bool(cleared[i]), extra=extra)))
    return out


@dataclass
class RuleRun:
    alert: Alert
    transitions: list[Transition]


def step_rows(rule: Rule, rows: Iterable[tuple[pd.Timestamp, Verdict]], alert: Alert,
              at: Callable[[pd.Timestamp], datetime]) -> RuleRun:
    """Step one rule over verdicts; `at(known)` is the time each transition is stamped with."""
    transitions = []
    for known, v in rows:
        alert, t = step(alert, v, rule, at(known))
        if t:
            transitions.append(t)
    return RuleRun(alert, transitions)


def catch_up(rule: Rule, frames: Frames, units: dict[str, str], alert: Alert, now: datetime) -> RuleRun:
    """Live evaluation: step over observations newer than the alert's, then staleness at `now`."""
    if rule.condition.kind == "stale":
        sv = stale_verdict(rule, frames, now)
        last = date.fromisoformat(sv.last_date) if sv.last_date else now.date()
        v = Verdict(last, sv.age_days, sv.holds, not sv.holds, tick=True)
        new, t = step(alert, v, rule, now)
        return RuleRun(new, [t] if t else [])
    sig = signal(rule, frames, units)
    if alert.data_date is not None:
        sig = sig[sig.index > pd.Timestamp(alert.data_date)]
    return step_rows(rule, verdict_rows(sig), alert, lambda _k: now)


def backtest(rules: list[Rule], frames: Frames, units: dict[str, str], start: date | None = None,
             end: date | None = None) -> list[Transition]:
    """Every transition the rules would have sent, stamped with the day the data was
    published (resolutions of rules with notify_resolved: false are silent, so left out).
    State is warmed up on data before `start`. Staleness rules are skipped: history
    records no outages of the bot's sources."""
    out: list[Transition] = []
    for rule in rules:
        if rule.condition.kind == "stale":
            continue
        sig = signal(rule, frames, units)
        if end is not None:
            sig = sig[sig["known"] <= pd.Timestamp(end)]
        run = step_rows(rule, verdict_rows(sig), Alert(), lambda k: k.to_pydatetime())
        out.extend(t for t in run.transitions if (start is None or t.at.date() >= start)
                   and (t.state != "resolved" or rule.notify_resolved))
    out.sort(key=lambda t: (t.at, t.rule_id))
    return out


def first_run(rule: Rule, frames: Frames, units: dict[str, str], now: datetime,
              recent: timedelta = timedelta(days=7)) -> RuleRun:
    """A rule seen for the first time: replay history silently to learn its state; report
    only what still matters now (a firing alert whose data is recent)."""
    if rule.condition.kind == "stale":
        return catch_up(rule, frames, units, Alert(), now)
    sig = signal(rule, frames, units)
    run = step_rows(rule, verdict_rows(sig), Alert(), lambda k: k.to_pydatetime())
    last = run.transitions[-1] if run.transitions else None
    if (last and last.state == "firing" and run.alert.state == AlertState.FIRING
            and timedelta(0) <= now.replace(tzinfo=None) - last.at <= recent):
        return RuleRun(run.alert, [replace(last, at=now)])
    return RuleRun(run.alert, [])
