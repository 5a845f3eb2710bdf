"""Pure rule evaluation: a rule plus metric frames -> a signal per observation.

A signal frame is indexed by data date with `value` (the number the message shows),
`holds` (the condition is true), `cleared` (a firing alert may resolve: past `clear`, or
simply not holding) and `known` (first day it was public). Nothing here reads a clock,
the environment or a database; staleness takes `now` as an argument.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from bot.calendar import busday_offset
from bot.metrics import Frames, asof
from bot.rules.model import Rule, Window

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _frame(value: pd.Series, holds: pd.Series, known: pd.Series, cleared: pd.Series | None = None) -> pd.DataFrame:
    f = pd.DataFrame({"value": value, "holds": holds.astype(bool), "known": known})
    f["cleared"] = ~f["holds"] if cleared is None else cleared.astype(bool)
    return f[f["value"].notna()]


def windowed(f: pd.DataFrame, window: Window) -> pd.DataFrame:
    """For each row, the row `window` back (value and known), NaN where there is none."""
    if window.observations:
        return f[["value", "known"]].shift(window.observations)
    if window.days:
        back = f.index - pd.Timedelta(days=window.days)
    else:
        back = pd.DatetimeIndex(busday_offset(f.index.values.astype("datetime64[D]"), -(window.business_days or 0),
                                              roll="backward").astype("datetime64[ns]"))
    # Tolerate a holiday or two at the far end of the window, not a missing month.
    past = asof(f, back, tolerance_days=5)
    past.index = f.index
    return past


def change_series(f: pd.DataFrame, window: Window, percent: bool) -> pd.Series:
    past = windowed(f, window)["value"]
    if percent:
        return (f["value"] / past - 1.0) * 100.0
    return f["value"] - past


def _clear(clear: float | None, value: pd.Series, op: str, holds: pd.Series) -> pd.Series:
    if clear is None:
        return ~holds
    return ~OPS[op](value, clear)


@dataclass(frozen=True)
class Ordered:
    """One input's observations as numpy arrays in order of publication (then date), with the
    rows `step` would skip (not newer than an earlier-published one) already marked."""

    dates: np.ndarray       # datetime64[D]
    known: np.ndarray       # datetime64[ns]
    value: np.ndarray
    prev: np.ndarray        # the previous observation's value by date (crossings)
    median: np.ndarray | None
    newer: np.ndarray       # bool: newer than every earlier-published row


class SignalInputs:
    """The vectors rules are computed from, each computed once per set of frames and shared by
    every rule that needs it (15,000 rules on a dozen metrics need a few dozen vectors). Pure."""

    def __init__(self, frames: Frames, units: dict[str, str]):
        self.frames, self.units = frames, units
        self._memo: dict[tuple[Any, ...], pd.DataFrame] = {}
        self._ordered: dict[tuple[Any, ...], Ordered] = {}
        self._tails: dict[tuple[Any, ...], np.ndarray] = {}
        self._values: dict[tuple[Any, ...], tuple[list[float], date | None]] = {}

    def ordered(self, rule: Rule) -> Ordered:
        """`base(rule)` as arrays in publication order (cached per input)."""
        key = rule.kind.input_key
        if key not in self._ordered:
            b = self.base(rule)
            order = np.lexsort((b.index.values, b["known"].values))
            dates = b.index.values.astype("datetime64[D]")[order]
            prev_max = np.maximum.accumulate(dates) if len(dates) else dates
            newer = np.ones(len(dates), dtype=bool)
            if len(dates) > 1:
                newer[1:] = dates[1:] > prev_max[:-1]
            median = b["median"].values[order].astype(float) if "median" in b else None
            self._ordered[key] = Ordered(dates, b["known"].values[order], b["value"].values[order].astype(float),
                                         b["value"].shift(1).values[order].astype(float), median, newer)
        return self._ordered[key]

    def tail(self, rule: Rule, after: np.datetime64) -> np.ndarray:
        """Positions (in `ordered(rule)`) of the rows a rule whose state is at `after` steps next."""
        key = (rule.kind.input_key, after)
        if key not in self._tails:
            o = self.ordered(rule)
            self._tails[key] = np.flatnonzero(o.newer & (o.dates > after))
        return self._tails[key]

    def tail_values(self, rule: Rule, after: date) -> tuple[list[float], date | None]:
        """The values of `tail` as a plain list, and the newest one's date (None: no rows).
        Thousands of level rules on one metric read the same few new values: Python floats
        compare faster than numpy's set-up on arrays of one to four elements."""
        key = ("values", rule.kind.input_key, after)
        got = self._values.get(key)
        if got is None:
            idx = self.tail(rule, np.datetime64(after, "D"))
            o = self.ordered(rule)
            got = self._values[key] = (o.value[idx].tolist(),
                                       pd.Timestamp(o.dates[idx[-1]]).date() if len(idx) else None)
        return got

    def base(self, rule: Rule) -> pd.DataFrame:
        """`value` and `known` (and `median` for spikes) for every observation, before thresholds."""
        key = rule.kind.input_key
        if key not in self._memo:
            self._memo[key] = rule.kind.base(self)
        return self._memo[key]

_EMPTY = pd.DataFrame({"value": pd.Series(dtype=float), "known": pd.Series(dtype="datetime64[ns]")},
                      index=pd.DatetimeIndex([], name="date"))


def _base(value: pd.Series, known: pd.Series) -> pd.DataFrame:
    out = pd.DataFrame({"value": value, "known": known})
    return out[out["value"].notna()]


def signal(rule: Rule, frames: Frames, units: dict[str, str], inputs: SignalInputs | None = None,
           after: pd.Timestamp | None = None) -> pd.DataFrame:
    """Vectorised signal for every observation of the rule's metric(s) (only those dated after
    `after` when given: the live engine's incremental step). Not for `stale` rules.

    `units` maps metric -> unit; a spread of two percent metrics is in basis points. `inputs`
    shares the underlying vectors between rules.
    """
    kind = rule.kind
    if kind.wall_clock:
        raise ValueError(f"rule {rule.id}: stale conditions are evaluated with stale_verdict()")
    return kind.signal((inputs or SignalInputs(frames, units)).base(rule), after)
