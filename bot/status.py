"""The status snapshot: each metric's latest value, 1-week change, data age, regime. Pure."""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd

from bot.catalog import Catalog
from bot.metrics import Frames, asof
from bot.rules.replay import first_run
from bot.rules.kinds.regime import active_choice
from bot.rules.model import Regime, Rule
from bot.i18n import N_, tr
from bot.format import fmt, magnitude
from bot.stress import DayScore
from bot.stress_text import at_least, confidence_text, headline
from bot.units import fmt_change, fmt_value


@dataclass(frozen=True)
class MetricStatus:
    metric: str
    label: str
    unit: str
    value: float
    date: str
    change_1w: float | None
    age_days: int
    regime: str | None = None
    held: dict[str, Any] | None = None   # a newer print refused as a probable unit change: {series, date, value, reason}
    regime_basis: str | None = None      # the metric the regime is judged on (reserves -> reserves_to_bank_assets)


def held_by_metric(catalog: Catalog, held: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """{metric: {series, date, value, reason}} for source metrics one of whose series has a
    held print (`held` is the store's {series: {date, value, reason, ...}})."""
    out = {}
    for name, m in catalog.metrics.items():
        for sid in m.series:
            if sid in held:
                h = held[sid]
                out[name] = {"series": sid, "date": h["date"], "value": h["value"], "reason": h["reason"]}
                break
    return out


def current_regimes(rules: list[Rule], frames: Frames, units: dict[str, str], stored: dict[str, str],
                    now: datetime) -> dict[str, str]:
    """The band each regime rule holds its metric in, keyed by metric, as the CLI `status` and the
    chat /status both show it: the rule's own state as the last evaluation stored it (`stored`:
    the store's regimes(), with the rule's hysteresis and `for`), else the state a first
    evaluation learns from history. A level regime wins over a change regime on the same metric.
    A regime judged on a ratio with fallbacks (reserves / bank assets, / GDP, dollars) is keyed
    under every one of its measures, so the reserves row shows it whichever decides."""
    out: dict[str, str] = {}
    for rule in sorted((r for r in rules if r.kind.banded), key=lambda r: r.kind.level_bands() is not None):
        regime = stored.get(rule.id)
        if regime is None:
            regime = first_run(rule, frames, units, now).alert.regime
        if regime is not None:
            for metric in rule.condition.metrics():
                out[metric] = regime
    return out


def regime_bases(rules: list[Rule], frames: Frames) -> dict[str, str]:
    """metric -> the measure its regime is judged on now (reserves -> reserves_to_bank_assets), for
    regimes with fallbacks; the first measure with data decides."""
    out: dict[str, str] = {}
    for rule in rules:
        body = rule.condition.body
        if isinstance(body, Regime) and body.fallback:
            active = body.choices[active_choice(body, frames)].metric
            out.update({m: active for m in rule.condition.metrics()})
    return out


def regime_note(catalog: Catalog, rules: list[Rule], frames: Frames, metric: str = "reserves",
                lang: str = "en") -> str:
    """One /status line (at most 40 characters) when `metric`'s regime falls back from its first
    measure for want of data ("Regime judged on Reserves (fallback)"); empty when the first decides."""
    _ = tr(lang)
    for rule in rules:
        body = rule.condition.body
        if isinstance(body, Regime) and body.fallback and metric in rule.condition.metrics():
            active = body.choices[active_choice(body, frames)].metric
            if active != body.metric:
                short = catalog.metrics[active].name_short if active in catalog.metrics else active
                return _("Regime judged on {measure} (fallback)").format(measure=_(short))[:WIDTH]
    return ""


def snapshot(catalog: Catalog, frames: Frames, today: date, regimes: dict[str, str] | None = None,
             held: dict[str, dict[str, Any]] | None = None, bases: dict[str, str] | None = None) -> list[MetricStatus]:
    """One row per metric with data, in catalog order; `held` is the store's held prints, `bases`
    regime_bases()."""
    regimes, bases = regimes or {}, bases or {}
    held_m = held_by_metric(catalog, held or {})
    rows = []
    for name, m in catalog.metrics.items():
        f = frames.get(name)
        if f is None or f.empty:
            continue
        last = f.index[-1]
        rows.append(MetricStatus(name, m.label, m.unit, float(f["value"].iloc[-1]), last.date().isoformat(),
                                 change_over(f, 7, m.cadence_days), (today - last.date()).days, regimes.get(name),
                                 held_m.get(name), bases.get(name) if name in regimes else None))
    return rows


def to_json(rows: list[MetricStatus]) -> dict[str, dict[str, Any]]:
    """`{metric: {value, unit, date, ...}}` with dollars / percent / bp as plain numbers."""
    out = {}
    for r in rows:
        d = asdict(r)
        d.pop("metric")
        for key in ("regime", "held", "regime_basis"):
            if d[key] is None:
                d.pop(key)
        out[r.metric] = d
    return out


def render_table(rows: list[MetricStatus], stale_after: dict[str, int] | None = None) -> str:
    """A fixed-width table for the console."""
    lines = [f"{'metric':<24} {'value':>12} {'1w change':>12} {'as of':>11} {'age':>6}  note"]
    for r in rows:
        note = r.regime or ""
        if r.regime and r.regime_basis and r.regime_basis != r.metric:
            note += f" (on {r.regime_basis})"
        if stale_after and r.age_days > stale_after.get(r.metric, 10**9):
            note = (note + " STALE").strip()
        if r.held:
            note = (note + f" HELD {r.held['series']} {r.held['date']}").strip()
        lines.append(f"{r.metric:<24} {fmt_value(r.value, r.unit):>12} {_chg(r.change_1w, r.unit):>12} {r.date:>11}"
                     f" {r.age_days:>5}d  {note}")
    return "\n".join(lines)


# ---- the chat /status: a verdict, then a 40-character table ------------------------------
TABLE = ("reserves", "rrp", "tga_daily", "fed_assets", "net_liquidity", "sofr_iorb_spread", "effr_iorb_spread",
         "srf_usage")
WIDTH = 40
REGIME_WORD = {"scarce": N_("Tight"), "ample": N_("Ample"), "abundant": N_("Abundant")}
NEARLY_EMPTY = 50e9   # ON RRP below $50B: the buffer that absorbed drains is about gone


@dataclass(frozen=True)
class Row:
    """One metric in the chat table: value, 1- and 4-week changes, nearest threshold, age."""

    metric: str
    label: str
    unit: str
    value: float
    date: str
    age_days: int
    change_1w: float | None
    change_4w: float | None
    nearest: float | None = None     # the rule threshold closest to the value


def change_over(f: pd.DataFrame, days: int, cadence_days: int) -> float | None:
    """The metric's change over `days` calendar days to its last observation."""
    if f.empty:
        return None
    last = f.index[-1]
    prev = asof(f, pd.DatetimeIndex([last - pd.Timedelta(days=days)]), 2 * cadence_days + 7)
    pv = prev["value"].iloc[0]
    return None if pd.isna(pv) else float(f["value"].iloc[-1] - pv)


def spread_metrics(catalog: Catalog) -> dict[tuple[str, str], str]:
    """(a, b) -> the catalog metric that is a - b (sofr, iorb -> sofr_iorb_spread)."""
    return {m.spread: name for name, m in catalog.metrics.items() if m.spread}


def threshold_metric(rule: Rule, spreads: dict[tuple[str, str], str]) -> str | None:
    """The metric whose chart or table row shows a level, crossing or spread rule's threshold."""
    return rule.kind.threshold_metric(spreads)


def rule_marks(rules: list[Rule], catalog: Catalog) -> dict[str, list[float]]:
    """Thresholds per metric, from level / crossing / spread rules and regime band edges."""
    spreads = spread_metrics(catalog)
    out: dict[str, list[float]] = {}
    for r in rules:
        marks = r.kind.marks(spreads)
        if marks is not None:
            out.setdefault(marks[0], []).extend(marks[1])
    return out


def table_rows(catalog: Catalog, frames: Frames, today: date, rules: list[Rule]) -> list[Row]:
    """The chat table's rows, in TABLE order, for metrics with data."""
    marks = rule_marks(rules, catalog)
    rows = []
    for name in TABLE:
        f, m = frames.get(name), catalog.metrics.get(name)
        if f is None or f.empty or m is None:
            continue
        value = float(f["value"].iloc[-1])
        near = min(marks.get(name, []), key=lambda x: abs(x - value), default=None)
        rows.append(Row(name, m.name_short, m.unit, value, f.index[-1].date().isoformat(),
                        max(0, (today - f.index[-1].date()).days), change_over(f, 7, m.cadence_days),
                        change_over(f, 28, m.cadence_days), near))
    return rows


def _chg(x: float | None, unit: str) -> str:
    return "n/a" if x is None else fmt_change(x, unit)


def distance_text(r: Row, lang: str = "en") -> str:
    """'$106.0B below the $3.000T line' (or above), in the row's unit."""
    if r.nearest is None:
        return ""
    _ = tr(lang)
    gap = r.value - r.nearest
    size = magnitude(gap, r.unit)
    where = _("{gap} above the {line} line") if gap >= 0 else _("{gap} below the {line} line")
    return where.format(gap=size, line=fmt(r.nearest, r.unit))


def table_lines(rows: list[Row], lang: str = "en") -> list[str]:
    """Three lines per metric, none longer than 40 characters (a phone's width in <pre>)."""
    _ = tr(lang)
    out = []
    for r in rows:
        label = _(r.label)
        age = _("{n}d old").format(n=r.age_days)
        value = fmt(r.value, r.unit)
        gap = WIDTH - display_width(label) - len(value) - 1 - display_width(age)
        out.append(f"{label}{' ' * max(1, gap)}{value} {age}")
        out.append(f"  1w {_chg(r.change_1w, r.unit):<10} 4w {_chg(r.change_4w, r.unit)}"[:WIDTH])
        dist = distance_text(r, lang)
        if dist:
            out.append(f"  {dist}"[:WIDTH])
    return out


def display_width(text: str) -> int:
    """Columns on a monospace screen: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


STALE_WEEKLY_DAYS = 21   # a weekly H.4.1 row older than this missed a release (as bot/stress.yaml)


def score_lines(score: DayScore | None, critical: list[str], lang: str = "en") -> list[str]:
    """The stress score's light, number and top drivers first; a firing critical alert raises the
    light to at least Strained and is named, so the verdict never contradicts it; then what data
    was left out. With no score, say so rather than imply calm."""
    _ = tr(lang)
    if score is None:
        lines = [_("Stress score: too little fresh data")]
    else:
        lines = [headline(at_least(score, "strained") if critical else score, lang)]
    lines += ["⚠️ " + _("Critical alert firing: {title}").format(title=t) for t in critical]
    conf = confidence_text(score, lang) if score is not None else ""
    return lines + ([conf] if conf else [])


def _direction(rows: list[Row], lang: str) -> str:
    """Which way reserves and net liquidity went in 4 weeks, or how old their data is."""
    _ = tr(lang)
    ages = [r.age_days for r in rows if r.metric in ("reserves", "net_liquidity")]
    if ages and max(ages) > STALE_WEEKLY_DAYS:   # old data never reads as "little changed"
        return _("data {n} days old").format(n=max(ages))
    four_weeks = {r.metric: r.change_4w for r in rows}
    drains = [x for x in (four_weeks.get("reserves"), four_weeks.get("net_liquidity")) if x is not None]
    if drains and all(x < -50e9 for x in drains):
        return _("tightening")
    if drains and all(x > 50e9 for x in drains):
        return _("easing")
    return _("little changed")


def verdict_lines(rows: list[Row], frames: Frames, regime: str | None, lang: str = "en",
                  score: DayScore | None = None, critical: list[str] | None = None) -> list[str]:
    """The answer first: the stress score's light, number and drivers (`score_lines`), then how
    tight reserves are (the regime rule's own state, with its hysteresis) and which way they are
    going (the table `rows`' 4-week changes), then the three facts behind it. The first lines
    (score, critical alerts, confidence) are whole sentences; the facts fit 40 columns."""
    _ = tr(lang)
    head = score_lines(score, critical or [], lang)
    direction = _direction(rows, lang)
    res4 = next((r.change_4w for r in rows if r.metric == "reserves"), None)
    if regime:
        word = _(REGIME_WORD.get(regime, regime.capitalize()))
        lines = [_("{regime} and {direction}").format(regime=word, direction=direction)]
    else:  # the regime rule has not been evaluated yet (or is not loaded)
        lines = [_("Liquidity {direction}").format(direction=direction)]
    if res4 is not None:
        lines.append("• " + _("Reserves {change} in 4 weeks").format(change=fmt_change(res4, "usd")))
    rrp = frames.get("rrp")
    if rrp is not None and not rrp.empty:
        v = float(rrp["value"].iloc[-1])
        text = _("ON RRP nearly empty ({value})") if v < NEARLY_EMPTY else _("ON RRP at {value}")
        lines.append("• " + text.format(value=fmt_value(v, "usd")))
    spread = frames.get("sofr_iorb_spread")
    if spread is not None and not spread.empty:
        last = spread["value"].iloc[-20:]
        lines.append("• " + _("SOFR above IORB {k} of last {n} days").format(k=int((last > 0).sum()), n=len(last)))
    return head + [line[:WIDTH] for line in lines]


def _last(frames: Frames, metric: str) -> float | None:
    f = frames.get(metric)
    return None if f is None or f.empty else float(f["value"].iloc[-1])


def rate_lines(frames: Frames, lang: str = "en") -> list[str]:
    """Rate levels: 'SOFR 3.92% · EFFR 3.89% · IORB 3.90%', then 'Range 3.75–4.00% · TGCR 3.88%'."""
    _ = tr(lang)
    levels = [(name, _last(frames, m)) for name, m in (("SOFR", "sofr"), ("EFFR", "effr"), ("IORB", "iorb"))]
    first = " · ".join(f"{name} {fmt_value(v, 'percent')}" for name, v in levels if v is not None)
    lo, hi, tgcr = _last(frames, "policy_lower"), _last(frames, "policy_upper"), _last(frames, "tgcr")
    second = []
    if lo is not None and hi is not None:
        second.append(_("Range {low}–{high}").format(low=f"{lo:.2f}", high=fmt_value(hi, "percent")))
    if tgcr is not None:
        second.append(f"TGCR {fmt_value(tgcr, 'percent')}")
    return [line[:WIDTH] for line in (first, " · ".join(second)) if line]


def slack_fields(rows: list[Row], lang: str = "en") -> list[tuple[str, str]]:
    """The same table as Block Kit fields: (bold label, value / changes / threshold)."""
    _ = tr(lang)
    out = []
    for r in rows:
        body = [f"{fmt(r.value, r.unit)} · " + _("{n}d old").format(n=r.age_days),
                f"1w {_chg(r.change_1w, r.unit)} · 4w {_chg(r.change_4w, r.unit)}"]
        if r.nearest is not None:
            body.append(distance_text(r, lang))
        out.append((_(r.label), "\n".join(body)))
    return out
