"""Expected vs surprise: a value on a calendar day next to the same event's past days, from the store. Pure.

"Quarter-end: ON RRP on the last 8 quarter-ends ranged $0–$460.7B, median $110.4B — today $106.0B is
the 4th largest." Only days before `day` are read (no look-ahead); nothing is said without 3 past values.
"""

from __future__ import annotations

import statistics
from datetime import date, timedelta

import pandas as pd

from bot.catalog import Catalog
from bot.format import metric_label
from bot.i18n import N_, tr
from bot.liquidity_calendar import FAMILY, PRIORITY, TEXT, day_kinds, occurrences
from bot.metrics import Frames
from bot.units import fmt_value

LOOKBACK = 8
MIN_PAST = 3
# plural family names: "on the last 8 {family}"
PLURAL = {"quarter_end": N_("quarter-ends"), "month_end": N_("month-ends"), "tax": N_("tax dates"),
          "coupon": N_("coupon settlements"), "fomc": N_("FOMC decision days")}


def value_on(frame: pd.DataFrame, day: date, cadence_days: int, absent_is_zero: bool) -> float | None:
    """The metric's value on `day`: that date's print, else the last print of the 3 days before it
    (markets closed, e.g. Good Friday 2024-03-29) or of a weekly series' week, else 0 for a near-zero
    series inside its history (no operation that day), else None."""
    ts = pd.Timestamp(day)
    if frame.empty or ts < frame.index[0]:
        return None
    before = frame.loc[:ts]
    if len(before) and before.index[-1] >= ts - timedelta(days=max(cadence_days - 1, 3)):
        return float(before["value"].iloc[-1])
    return 0.0 if absent_is_zero and ts <= frame.index[-1] else None


def _fmt(x: float, unit: str) -> str:
    return fmt_value(x, unit, signed=unit == "bp")  # spreads always carry their sign


LARGEST = {1: N_("the largest"), 2: N_("the 2nd largest"), 3: N_("the 3rd largest")}
SMALLEST = {1: N_("the smallest"), 2: N_("the 2nd smallest"), 3: N_("the 3rd smallest")}


def _rank(today: float, past: list[float], lang: str) -> str:
    """"the 2nd largest" counted from the nearer end (ties count for today)."""
    _ = tr(lang)
    larger, smaller = sum(v > today for v in past), sum(v < today for v in past)
    if larger <= smaller:
        k = larger + 1
        return _(LARGEST[k]) if k in LARGEST else _("the {n}th largest").format(n=k)
    k = smaller + 1
    return _(SMALLEST[k]) if k in SMALLEST else _("the {n}th smallest").format(n=k)


def surprise_line(metric: str, catalog: Catalog, frames: Frames, day: date, lang: str = "en",
                  n: int = LOOKBACK) -> str | None:
    """On a calendar day (a period-end, tax date, coupon settlement or FOMC day), how `metric` on
    `day` compares with the same event's last `n` occurrences; None on other days or without history."""
    kinds = [k for k in day_kinds(day) if k in PRIORITY and FAMILY.get(k, k) in PLURAL]
    frame, m = frames.get(metric), catalog.metrics.get(metric)
    if not kinds or frame is None or m is None:
        return None
    today = value_on(frame, day, m.cadence_days, m.absent_is_zero)
    family = FAMILY.get(kinds[0], kinds[0])
    past = [v for d in occurrences(family, day, n) if (v := value_on(frame, d, m.cadence_days, m.absent_is_zero))
            is not None]
    if today is None or len(past) < MIN_PAST:
        return None
    _ = tr(lang)
    return _("{event}: {label} on the last {n} {family} ranged {low}–{high}, median {median} — "
             "today {value} is {rank}.").format(
        event=_(TEXT[kinds[0]][0]), label=metric_label(catalog, metric, lang), n=len(past), family=_(PLURAL[family]),
        low=_fmt(min(past), m.unit), high=_fmt(max(past), m.unit),
        median=_fmt(statistics.median(past), m.unit), value=_fmt(today, m.unit),
        rank=_rank(today, past, lang))
