"""The stress score in words: lights, drivers ("SOFR +15 bp over IORB 3 days", "SRF $30.0B"), the
headline line, the CLI line and JSON object. Pure; every string goes through bot/i18n."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.i18n import N_, tr
from bot.stress import DayScore, Driver, StressModel, default_model
from bot.units import fmt_change, fmt_value

LIGHT_WORD = {"calm": N_("Calm"), "watch": N_("Watch"), "strained": N_("Strained"), "stress": N_("Stress")}
COMPONENT_WORD = {
    "sofr_iorb": N_("SOFR−IORB"), "effr_iorb": N_("EFFR−IORB"), "tgcr_onrrp": N_("TGCR−ON RRP rate"),
    "spread_peak": N_("spread peak"), "srf": N_("SRF take-up"), "reserves_ratio": N_("reserves ratio"),
    "reserves_momentum": N_("reserves 4-week change"), "net_liquidity_momentum": N_("net liquidity 4-week change"),
    "rrp_buffer": N_("ON RRP buffer"),
}
# Which rate over which base each spread input is.
SPREAD_NAMES = {"sofr_iorb_spread": ("SOFR", "IORB"), "effr_iorb_spread": ("EFFR", "IORB"),
                "tgcr_onrrp_spread": ("TGCR", N_("ON RRP rate"))}
SRF_START = "2021-07-28"   # earlier Fed repo operations were another instrument (domain.md)


def _spread(d: Driver, lang: str) -> str:
    _ = tr(lang)
    rate, base = SPREAD_NAMES[d.metric]
    value = fmt_value(d.value, "bp", signed=True)
    if d.on:
        text = _("{rate} peaked {value} over {base} on {date}")
    elif d.value > 0 and d.streak > 1:
        text = _("{rate} {value} over {base} {days} days")
    elif d.value > 0:
        text = _("{rate} {value} over {base}")
    else:
        text = _("{rate} {value} vs {base}")
    return text.format(rate=rate, base=_(base), value=value, days=d.streak, date=d.on)


def driver_text(d: Driver, day: str, lang: str = "en") -> str:
    """One driver as a person would say it, in `lang` (`day`: the scored day, ISO)."""
    _ = tr(lang)
    if d.metric in SPREAD_NAMES:
        return _spread(d, lang)
    if d.component == "srf":
        text = _("SRF {value}") if day >= SRF_START else _("Fed repo operations {value}")
        return text.format(value=fmt_value(d.value, "usd"))
    if d.metric == "reserves_to_bank_assets":
        return _("Reserves {value} of bank assets").format(value=f"{d.value:.1f}%")
    if d.metric == "reserves_to_gdp":
        return _("Reserves {value} of GDP").format(value=f"{d.value:.1f}%")
    if d.component == "reserves_momentum":
        return _("Reserves {change} in 4 weeks").format(change=fmt_change(d.value, "usd"))
    if d.component == "net_liquidity_momentum":
        return _("Net liquidity {change} in 4 weeks").format(change=fmt_change(d.value, "usd"))
    if d.component == "rrp_buffer":
        text = _("ON RRP nearly empty ({value})") if d.value < 50e9 else _("ON RRP at {value}")
        return text.format(value=fmt_value(d.value, "usd"))
    return f"{_(COMPONENT_WORD.get(d.component, d.component))} {fmt_value(d.value, 'usd')}"


def light_text(light: str, lang: str = "en", model: StressModel | None = None) -> str:
    """'🟠 Strained' in `lang`."""
    _ = tr(lang)
    emoji = next((lt.emoji for lt in (model or default_model()).lights if lt.name == light), "")
    return f"{emoji} {_(LIGHT_WORD.get(light, light))}".strip()


def at_least(s: DayScore, light: str, model: StressModel | None = None) -> DayScore:
    """The day with its light raised to `light` if lower (a firing critical alert: the verdict
    never reads calmer than what is firing); the score itself is left as computed."""
    names = [lt.name for lt in (model or default_model()).lights]
    return s if names.index(s.light) >= names.index(light) else replace(s, light=light)


def headline(s: DayScore, lang: str = "en") -> str:
    """'🟠 Strained 61 — SOFR +15 bp over IORB 3 days; SRF $30.0B'."""
    day = s.date.isoformat()
    drivers = "; ".join(driver_text(d, day, lang) for d in s.drivers)
    head = f"{light_text(s.light, lang)} {s.score}"
    return f"{head} — {drivers}" if drivers else head


def confidence_text(s: DayScore, lang: str = "en") -> str:
    """'' when every component had fresh data; else which were left out and the share that was not."""
    if not s.stale and not s.missing:
        return ""
    _ = tr(lang)
    parts = []
    if s.stale:
        parts.append(_("stale, left out: {names}").format(names=", ".join(_(COMPONENT_WORD.get(n, n)) for n in s.stale)))
    if s.missing:
        parts.append(_("no data: {names}").format(names=", ".join(_(COMPONENT_WORD.get(n, n)) for n in s.missing)))
    return _("Confidence {pct}%: {parts}").format(pct=round(s.coverage * 100), parts="; ".join(parts))


def cli_line(s: DayScore) -> str:
    """One day for the terminal: date, score, light, drivers, every component's score, what was left out."""
    comps = " ".join(f"{n}={v}" for n, v in s.components.items())
    line = f"{s.date.isoformat()} {s.score:>3} {s.light:<8} {headline(s).split(' — ', 1)[-1] if s.drivers else '-'}"
    line += f"  [{comps}]"
    if s.stale:
        line += f"  stale: {','.join(s.stale)}"
    if s.missing:
        line += f"  missing: {','.join(s.missing)}"
    return line


def to_json(s: DayScore, model: StressModel | None = None) -> dict[str, Any]:
    """{"date", "score", "light", "components": {name: score or null when left out}, "drivers": [text]}."""
    names = (model or default_model()).components
    return {"date": s.date.isoformat(), "score": s.score, "light": s.light,
            "components": {n: s.components.get(n) for n in names},
            "drivers": [driver_text(d, s.date.isoformat()) for d in s.drivers]}
