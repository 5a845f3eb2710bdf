"""Since when and how far: the current run of a firing rule's condition, and its metric's level.

Pure: computed from the signal vectors and metric frames the engine already holds. An
episode starts at the first observation of the current unbroken run of the condition holding
(a crossing: of the value staying past the line) and its peak is the most extreme value of
the run in the direction the rule compares ("3rd day in a row (since Dec 3), peak +38 bp").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bot.i18n import N_, tr

if TYPE_CHECKING:
    from bot.catalog import Catalog
    from bot.rules.evaluate import SignalInputs
    from bot.rules.lifecycle import Transition
    from bot.rules.model import Rule

_LINE = {("day", ""): N_("{nth} day in a row (since {since}), peak {peak}"),
         ("week", ""): N_("{nth} week in a row (since {since}), peak {peak}"),
         ("print", ""): N_("{nth} print in a row (since {since}), peak {peak}"),
         ("day", "above"): N_("{nth} day above {line} (since {since}), peak {peak}"),
         ("week", "above"): N_("{nth} week above {line} (since {since}), peak {peak}"),
         ("print", "above"): N_("{nth} print above {line} (since {since}), peak {peak}"),
         ("day", "below"): N_("{nth} day below {line} (since {since}), peak {peak}"),
         ("week", "below"): N_("{nth} week below {line} (since {since}), peak {peak}"),
         ("print", "below"): N_("{nth} print below {line} (since {since}), peak {peak}")}
_FIRST = N_("First print of this run ({since})")  # one print: its peak is its value, said above


@dataclass(frozen=True)
class Episode:
    """The current run of a rule's condition: its first data date, its length and its peak."""

    start: date
    count: int          # observations in the run, the one that fired included
    peak: float         # in the rule's unit (the value the rule compares)
    cadence_days: int   # the metric's cadence: 1 -> "day", 7 -> "week"


@dataclass(frozen=True)
class Level:
    """A change or spread rule's metric itself: its value that day and at its previous print."""

    metric: str
    value: float
    previous: float | None


@dataclass(frozen=True)
class AlertContext:
    """What the engine knows beyond the transition, handed to `format.render`."""

    episode: Episode | None = None
    level: Level | None = None


def lower_is_worse(rule: Rule) -> bool:
    """The rule fires below its line (`<`, `<=`, a crossing below): its peak is the lowest value."""
    body = rule.kind.body
    op = getattr(body, "op", None)
    return op in ("<", "<=") or getattr(body, "direction", None) == "below"


def _holding(rule: Rule, value: np.ndarray, prev: np.ndarray, median: np.ndarray | None) -> np.ndarray:
    """Per row: is the condition true? A crossing holds only on the crossing day, so its run is
    the value staying on the far side of the line."""
    kind = rule.kind
    if kind.name == "crossing":
        line = rule.kind.body.value
        with np.errstate(invalid="ignore"):
            return np.asarray(value < line if lower_is_worse(rule) else value > line, dtype=bool)
    holds, _ = kind.thresholds(value, prev, median)
    return np.asarray(holds, dtype=bool)


def episode(rule: Rule, day: date, inputs: SignalInputs, cadence_days: int) -> Episode | None:
    """The run of `rule`'s condition ending at `day` (None: not holding that day, or a kind
    without a per-observation signal: staleness, regimes)."""
    kind = rule.kind
    if kind.wall_clock or kind.banded:
        return None
    o = inputs.ordered(rule)
    idx = np.flatnonzero(o.newer & (o.dates <= np.datetime64(day, "D")))
    if not len(idx) or o.dates[idx[-1]] != np.datetime64(day, "D"):
        return None
    median = o.median[idx] if o.median is not None else None
    holds = _holding(rule, o.value[idx], o.prev[idx], median)
    if not holds[-1]:
        return None
    breaks = np.flatnonzero(~holds)
    first = int(breaks[-1]) + 1 if len(breaks) else 0
    run = o.value[idx[first:]]
    peak = float(np.nanmin(run) if lower_is_worse(rule) else np.nanmax(run))
    start = pd.Timestamp(o.dates[idx[first]]).date()
    return Episode(start, len(run), peak, cadence_days)


def alert_context(rule: Rule, t: Transition, inputs: SignalInputs, catalog: Catalog,
                  memo: dict[tuple[Any, ...], AlertContext | None] | None = None) -> AlertContext | None:
    """Since when and how far (a firing), and a change or spread rule's metric level; `memo` (one
    evaluation's) shares it between rules alike in condition (thousands of personal alerts)."""
    kind = rule.kind
    if kind.wall_clock or kind.banded:
        return None
    key = (kind.input_key, repr(kind.body), t.state, t.data_date)
    if memo is not None and key in memo:
        return memo[key]
    found = _context(rule, t, inputs, catalog)
    if memo is not None:
        memo[key] = found
    return found


def _context(rule: Rule, t: Transition, inputs: SignalInputs, catalog: Catalog) -> AlertContext | None:
    kind = rule.kind
    metric = kind.shown_metric
    ep = None
    if t.state == "firing":
        ep = episode(rule, t.data_date, inputs, max(catalog.metrics[m].cadence_days for m in rule.condition.metrics()))
    lv = level(inputs.frames.get(metric), metric, t.data_date) if kind.name in ("change", "spread") else None
    return AlertContext(ep, lv) if ep or lv else None


def holds_now(rule: Rule, inputs: SignalInputs) -> bool:
    """Does the rule's condition hold on its newest observation as the data stands now (revised
    or filled in since it was judged)? Kinds without a per-observation signal: False."""
    kind = rule.kind
    if kind.wall_clock or kind.banded:
        return False
    o = inputs.ordered(rule)
    idx = np.flatnonzero(o.newer)[-1:]
    if not len(idx):
        return False
    return bool(_holding(rule, o.value[idx], o.prev[idx], o.median[idx] if o.median is not None else None)[0])


def level(frame: pd.DataFrame | None, metric: str, day: date) -> Level | None:
    """`metric`'s value on `day` and at the observation before it (None: no value that day)."""
    if frame is None or frame.empty:
        return None
    values = frame["value"].dropna()
    pos = values.index.searchsorted(pd.Timestamp(day), side="right") - 1
    if pos < 0 or values.index[pos].date() != day:
        return None
    previous = float(values.iloc[pos - 1]) if pos > 0 else None
    return Level(metric, float(values.iloc[pos]), previous)


def ordinal(n: int, lang: str) -> str:
    """3 -> "3rd" in English; other languages put the number in their own words."""
    if lang != "en":
        return str(n)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def short_date(d: date, today: date, lang: str) -> str:
    """"Dec 3" (with the year when it is not `today`'s): "12月3日" in Chinese."""
    if lang == "zh":
        text = f"{d.month}月{d.day}日"
        return text if d.year == today.year else f"{d.year}年{text}"
    text = f"{d:%b} {d.day}"
    return text if d.year == today.year else f"{text}, {d.year}"


def since_line(ep: Episode, day: date, peak: str, lang: str, side: tuple[str, str] | None = None) -> str:
    """ "3rd day above IORB (since Dec 3), peak +38 bp" in the reader's language; `side` is
    ("above" | "below", the line's text), or None for "in a row" (a spike's multiple)."""
    since = short_date(ep.start, day, lang)
    if ep.count == 1:
        return tr(lang)(_FIRST).format(since=since)
    unit = "day" if ep.cadence_days < 7 else "week" if ep.cadence_days == 7 else "print"
    where, line = side or ("", "")
    return tr(lang)(_LINE[unit, where]).format(nth=ordinal(ep.count, lang), since=since, peak=peak, line=line)


def previous_print(rule: Rule, t: Transition, inputs: SignalInputs) -> float | None:
    """The rule's signal at the observation before the one a transition is about."""
    if rule.kind.wall_clock:
        return None
    o = inputs.ordered(rule)
    at = np.flatnonzero(o.dates == np.datetime64(t.data_date, "D"))
    if not len(at) or np.isnan(o.prev[at[-1]]):
        return None
    return float(o.prev[at[-1]])
