"""The alert lifecycle: one state enum and one pure transition function, `step`.

inactive -> pending (condition holds) -> firing (held for `for`, outside `cooldown`)
-> resolved (past `clear`, or no longer holding). Regime rules keep a current band and
emit one `regime` transition per change. Only transitions produce messages.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import Enum

from bot.rules.model import Rule


class AlertState(str, Enum):
    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Alert:
    """A rule's stored state."""

    state: AlertState = AlertState.INACTIVE
    data_date: date | None = None     # newest observation already stepped
    count: int = 0                    # consecutive observations holding (or in the pending regime)
    since: date | None = None         # first data date of the current pending run
    last_fired_at: datetime | None = None
    regime: str | None = None
    pending_regime: str | None = None
    value: float | None = None
    # The rule's own record, for alerts' context line ("last fired 2025-10-02; 6 times since 2019").
    fired: int = 0
    first_fired: date | None = None
    last_fired: date | None = None    # data date of the newest firing


@dataclass(frozen=True)
class Verdict:
    """One observation's evaluation (or one clock tick for staleness rules)."""

    data_date: date
    value: float | None
    holds: bool
    cleared: bool
    tick: bool = False                # staleness: every tick counts, not only new data dates
    extra: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Transition:
    rule_id: str
    state: str                        # "firing" | "resolved" | "regime"
    data_date: date
    at: datetime                      # when it happened (when the data became known)
    value: float | None
    from_regime: str | None = None
    to_regime: str | None = None
    extra: tuple[tuple[str, float], ...] = ()
    # Firings before this one (count, first and newest data dates): set by `tally`.
    history: tuple[int, date | None, date | None] | None = None


def tally(alert: Alert, transitions: list[Transition], since: date | None = None) -> tuple[Alert, list[Transition]]:
    """Count firings into the alert's record, and give each firing the record before it. Firings
    on data before `since` (the rule's `record_from`: what it measured then was something else)
    are not counted."""
    n, first, last = alert.fired, alert.first_fired, alert.last_fired
    out = []
    for t in transitions:
        if t.state == "firing":
            t = replace(t, history=(n, first, last))
            if since is None or t.data_date >= since:
                n, first, last = n + 1, first or t.data_date, t.data_date
        out.append(t)
    if n == alert.fired:
        return alert, transitions
    return replace(alert, fired=n, first_fired=first, last_fired=last), out


def _held_long_enough(a: Alert, v: Verdict, rule: Rule) -> bool:
    if rule.for_observations is not None:
        return a.count >= rule.for_observations
    need = rule.for_duration
    return a.since is not None and need is not None and (v.data_date - a.since) >= need


def _cooling(a: Alert, rule: Rule, now: datetime) -> bool:
    return a.last_fired_at is not None and now - a.last_fired_at < rule.cooldown_td


def step(prev: Alert, verdict: Verdict, rule: Rule, now: datetime) -> tuple[Alert, Transition | None]:
    """Advance one rule's alert by one verdict; return the new state and the transition, if any."""
    if not verdict.tick and prev.data_date is not None and verdict.data_date <= prev.data_date:
        return prev, None  # not a new observation: nothing happened
    kind = rule.kind
    if kind.banded:
        return kind.step_band(prev, verdict, rule, now)
    a = replace(prev, data_date=verdict.data_date, value=verdict.value)
    if a.state == AlertState.FIRING:
        if verdict.cleared:
            t = Transition(rule.id, "resolved", verdict.data_date, now, verdict.value, extra=verdict.extra)
            return replace(a, state=AlertState.RESOLVED, count=0, since=None), t
        return a, None
    if not verdict.holds:
        state = AlertState.INACTIVE if a.state == AlertState.PENDING else a.state
        return replace(a, state=state, count=0, since=None), None
    a = replace(a, state=AlertState.PENDING, count=a.count + 1, since=a.since or verdict.data_date)
    if _held_long_enough(a, verdict, rule) and not _cooling(a, rule, now):
        t = Transition(rule.id, "firing", verdict.data_date, now, verdict.value, extra=verdict.extra)
        return replace(a, state=AlertState.FIRING, last_fired_at=now), t
    return a, None
