"""Analogs: for a firing alert, the most similar past days the same rule held, and what followed. Pure.

Similarity is the rule's metric level and its 4-week change, each scaled by its spread over the
candidates. A candidate is a data date when the rule was firing (replayed on data known by `when`,
so no look-ahead) whose following 4 weeks were also known by `when`; chosen analogs are at least
8 weeks apart. What followed is read from the data only; a curated line (bot/episodes.yaml, with
its source) is added when an analog falls in a well-known episode.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from ruamel.yaml import YAML

from bot.catalog import Catalog
from bot.format import metric_label
from bot.i18n import normalise, tr
from bot.metrics import Frames
from bot.rules.model import Rule
from bot.units import fmt_change, fmt_value

EPISODES_FILE = Path(__file__).with_name("episodes.yaml")
HORIZON = timedelta(days=28)      # "what followed within 4 weeks"
APART = timedelta(days=56)        # two analogs closer than this are one episode
FOLLOW = ("sofr_iorb_spread", "srf_usage")   # the stress gauges whose peak after an analog is told
MAX_ANALOGS = 3


@dataclass(frozen=True)
class Episode:
    """A well-known episode: its window, its line in each language and its source."""

    id: str
    start: date
    end: date
    text: dict[str, str]
    source: str


@lru_cache(maxsize=1)
def episodes() -> tuple[Episode, ...]:
    """The curated episodes of bot/episodes.yaml."""
    raw = YAML(typ="safe").load(EPISODES_FILE.read_text()) or {}
    return tuple(Episode(e["id"], date.fromisoformat(str(e["start"])), date.fromisoformat(str(e["end"])),
                         {"en": e["text"], "zh": e.get("text_zh") or e["text"]}, e["source"])
                 for e in raw.get("episodes") or [])


def curated_line(day: date, lang: str = "en") -> str | None:
    """The curated line of the episode `day` falls in, with its source; None outside them."""
    for e in episodes():
        if e.start <= day <= e.end:
            return f"{e.text[normalise(lang) or 'en']} ({e.source})"
    return None


def firing_days(rule: Rule, catalog: Catalog, frames: Frames, when: date) -> list[tuple[date, date | None]]:
    """[start, end) data-date spans when the rule was firing, replayed on data known by `when`;
    for a regime rule, the spans in the regime it is in now."""
    from bot.rules.evaluate import SignalInputs, signal
    from bot.rules.lifecycle import Alert
    from bot.rules.replay import run_rule

    sig = signal(rule, frames, catalog.units, SignalInputs(frames, catalog.units))
    ts = run_rule(rule, sig[sig["known"] <= pd.Timestamp(when)], Alert()).transitions
    regimes = [t for t in ts if t.state == "regime"]
    if regimes:
        now = regimes[-1].to_regime
        ends: list[date | None] = [b.data_date for b in regimes[1:]] + [None]
        return [(a.data_date, end) for a, end in zip(regimes, ends, strict=True) if a.to_regime == now]
    spans: list[tuple[date, date | None]] = []
    open_at: date | None = None
    for t in ts:
        if t.state == "firing" and open_at is None:
            open_at = t.data_date
        elif t.state == "resolved" and open_at is not None:
            spans.append((open_at, t.data_date))
            open_at = None
    return spans + ([(open_at, None)] if open_at is not None else [])


def _state(values: pd.Series, day: pd.Timestamp) -> tuple[float, float] | None:
    """(level, change over the 4 weeks before) at `day`, from prints on or before it."""
    before = values.loc[:day - HORIZON]
    if day not in values.index or before.empty or before.index[-1] < day - HORIZON - timedelta(days=7):
        return None
    return float(values[day]), float(values[day] - before.iloc[-1])


def _candidates(values: pd.Series, spans: list[tuple[date, date | None]], when: date) -> pd.DataFrame:
    """Days in the spans whose next 4 weeks ended (and were published) by `when`, with level and momentum."""
    # the 4 weeks after must be in the data and published by `when` (a week for the last print)
    last = min(pd.Timestamp(when - HORIZON - timedelta(days=7)), values.index[-1] - HORIZON + timedelta(days=6))
    mask = np.zeros(len(values), dtype=bool)
    for start, end in spans:
        mask |= (values.index >= pd.Timestamp(start)) & (values.index < pd.Timestamp(end or date.max))
    mask &= values.index <= last
    past = values.shift(1, freq=HORIZON).reindex(values.index, method="ffill", tolerance=timedelta(days=7))
    frame = pd.DataFrame({"level": values, "momentum": values - past})[mask]
    return frame.dropna()


def similar_days(values: pd.Series, spans: list[tuple[date, date | None]], when: date,
                 n: int = MAX_ANALOGS) -> list[date]:
    """The `n` candidate days nearest to the state at `when`, at least APART from each other."""
    now = values.loc[:pd.Timestamp(when)]
    if now.empty or (state := _state(values, now.index[-1])) is None:
        return []
    cands = _candidates(values, spans, when)
    if cands.empty:
        return []
    scale = cands.std().replace(0, 1).fillna(1)
    dist = ((cands["level"] - state[0]).abs() / scale["level"]
            + (cands["momentum"] - state[1]).abs() / scale["momentum"]).sort_values(kind="stable")
    chosen: list[pd.Timestamp] = []
    for day in dist.index:
        if all(abs(day - c) >= APART for c in chosen):
            chosen.append(day)
            if len(chosen) == n:
                break
    return [c.date() for c in chosen]


FOLLOW_MIN = {"srf_usage": 1e9}   # below $1B, repo take-up is operational noise, not news


def _peak(frames: Frames, metric: str, first: date, last: date) -> tuple[float, date] | None:
    frame = frames.get(metric)
    if frame is None or frame.empty:
        return None
    window = frame["value"].loc[pd.Timestamp(first):pd.Timestamp(last)]
    if window.empty:
        return None
    return float(window.max()), window.idxmax().date()


def _line(catalog: Catalog, frames: Frames, metric: str, day: date, lang: str) -> str:
    """"2019-09-18: Bank reserves $1.394T, −$122.3B over 4 weeks; in the next 4 weeks: ..." (data only)."""
    _ = tr(lang)
    unit = catalog.metrics[metric].unit
    values = frames[metric]["value"]
    level, momentum = _state(values, pd.Timestamp(day)) or (float("nan"), float("nan"))
    label = metric_label(catalog, metric, lang)
    head = _("{date}: {label} {value}, {change} over 4 weeks").format(
        date=day.isoformat(), label=label, value=fmt_value(level, unit), change=fmt_change(momentum, unit))
    end = day + HORIZON
    # a weekly print covers the week ending on its date: what happened in that week counts too
    first = day - timedelta(days=max(catalog.metrics[metric].cadence_days - 1, 0))
    after = values.loc[pd.Timestamp(day + timedelta(days=1)):pd.Timestamp(end)]
    parts = []
    if not after.empty:
        parts.append(_("{label} {value} ({change})").format(
            label=label, value=fmt_value(float(after.iloc[-1]), unit), change=fmt_change(float(after.iloc[-1]) - level, unit)))
    for other in FOLLOW:
        peak = _peak(frames, other, first, end) if other != metric and other in catalog.metrics else None
        if peak is not None and peak[0] >= FOLLOW_MIN.get(other, float("-inf")):
            parts.append(_("{label} peaked at {value} on {date}").format(
                label=metric_label(catalog, other, lang),
                value=fmt_value(peak[0], catalog.metrics[other].unit, signed=catalog.metrics[other].unit == "bp"),
                date=peak[1].isoformat()))
    if not parts:
        return head + "."
    sep = "；" if normalise(lang) == "zh" else "; "
    return _("{head}; to {end}: {after}.").format(head=head, end=end.isoformat(), after=sep.join(parts))


def analog_days(rule: Rule, catalog: Catalog, frames: Frames, when: date) -> list[date]:
    """The up to 3 past days most like `when` (the day the alert is sent) on which the same rule fired."""
    metric = rule.kind.shown_metric
    if metric not in catalog.metrics or metric not in frames or frames[metric].empty:
        return []
    known = frames[metric]
    values = known["value"][known["known"] <= pd.Timestamp(when)] if "known" in known else known["value"]
    return similar_days(values, firing_days(rule, catalog, frames, when), when)


def analogs(rule: Rule, catalog: Catalog, frames: Frames, when: date, lang: str = "en",
            days: list[date] | None = None) -> list[str]:
    """Up to 3 past days most like `when` on which the same rule fired, each with what followed
    within 4 weeks and, for a well-known episode, its curated line; [] without history.
    `days` (from analog_days) saves the search when rendering several languages."""
    out = []
    for day in analog_days(rule, catalog, frames, when) if days is None else days:
        line = _line(catalog, frames, rule.kind.shown_metric, day, lang)
        curated = curated_line(day, lang)
        out.append(f"{line}\n  {curated}" if curated else line)
    return out
