"""`/why METRIC [1w|4w|13w]` and `liquidity-bot why`: what moved a metric, factor by factor.

A small registry maps a metric to its decomposition (metric -> function returning an
`Attribution`); `global` (Fed + ECB + BoJ in dollars) is the first. Every decomposition answers in
one shape, the same in chat and in JSON: the change from one date to another, factors signed as
their effect on the metric and largest first, and a residual (change minus the factors).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from datetime import date

import pandas as pd

from bot.catalog import Catalog
from bot.format import metric_label
from bot.global_liquidity import Snapshot, snapshot_at, split
from bot.i18n import DEFAULT, N_, tr
from bot.metrics import Frames
from bot.units import fmt_change, fmt_foreign, fmt_usd

CHAT_WINDOWS = {"1w": 1, "4w": 4, "13w": 13}
MAX_WEEKS = 520
# The regime rule's band names for global liquidity (rules/global.yaml), translated in alerts.
GLOBAL_BANDS = (N_("contracting"), N_("expanding"))


class WhyError(ValueError):
    """A question /why cannot answer (metric not supported yet, no data, bad window)."""


@dataclass(frozen=True)
class Factor:
    name: str      # stable key: "fed", "ecb", "boj", "eur_fx", "jpy_fx"
    label: str     # what moved, for people: "EUR/USD 1.0584 → 1.1062"
    effect: float  # its effect on the metric, in the metric's unit (dollars), signed


@dataclass(frozen=True)
class Attribution:
    metric: str
    start: date
    end: date
    change: float
    factors: tuple[Factor, ...]   # largest effect first
    residual: float
    notes: tuple[str, ...] = ()   # how dates were aligned, how the cross term was split

    def as_json(self) -> dict[str, Any]:
        return {"metric": self.metric, "from": self.start.isoformat(), "to": self.end.isoformat(),
                "change": self.change, "residual": self.residual,
                "factors": [{"name": f.name, "label": f.label, "effect": f.effect} for f in self.factors]}


Decomposition = Callable[[Catalog, Frames, int, date | None, str], Attribution]


def dates_back(frames: Frames, metric: str, weeks: int, to: date | None) -> tuple[date, date]:
    """`metric`'s last date at or before `to` (default: the newest), and its last one `weeks` weeks before."""
    f = frames.get(metric)
    if f is None or f.empty:
        raise WhyError("no data")
    idx = f.index if to is None else f.index[f.index <= pd.Timestamp(to)]
    if idx.empty:
        raise WhyError("no data")
    end = idx[-1]
    before = f.index[f.index <= end - pd.Timedelta(days=7 * weeks)]
    if before.empty:
        raise WhyError("no data")
    return before[-1].date(), end.date()


def _notes(start: Snapshot, end: Snapshot, _: Callable[[str], str]) -> tuple[str, ...]:
    """Which print of each bank each end used: a carried-forward print shows as the same date twice."""
    def span(bank: str) -> str:
        return f"{start.legs[bank].date.isoformat()} → {end.legs[bank].date.isoformat()}"

    return (
        _("Dates: Fed {fed} (Wednesday), ECB {ecb} (Friday statement), BoJ {boj} (monthly, carried forward); "
          "each at its own date's exchange rate.").format(fed=span("fed"), ecb=span("ecb"), boj=span("boj")),
        _("Balance sheets at the average of the two dates' exchange rates, FX moves at the average balance "
          "sheet: the cross term is split half and half."),
    )


def attribute_global(catalog: Catalog, frames: Frames, weeks: int, to: date | None, lang: str = DEFAULT) -> Attribution:
    """Fed + ECB + BoJ in dollars: Fed, ECB and BoJ balance sheets at constant FX, EUR and JPY moves."""
    _ = tr(lang)
    start_day, end_day = dates_back(frames, "global_cb_assets_usd", weeks, to)
    a, b = snapshot_at(catalog, frames, start_day), snapshot_at(catalog, frames, end_day)
    if a is None or b is None:
        raise WhyError("no data")
    s = split(a, b)
    ea, eb, ja, jb = a.legs["ecb"], b.legs["ecb"], a.legs["boj"], b.legs["boj"]
    factors = [
        Factor("fed", _("Fed balance sheet {move}").format(move=fmt_change(s.fed, "usd")), s.fed),
        Factor("ecb", _("ECB balance sheet {move} at constant FX").format(
            move=fmt_foreign(eb.local - ea.local, "€", signed=True)), s.ecb),
        Factor("boj", _("BoJ balance sheet {move} at constant FX").format(
            move=fmt_foreign(jb.local - ja.local, "¥", signed=True)), s.boj),
        Factor("eur_fx", _("EUR/USD {a} → {b}").format(a=f"{ea.usd_per_unit:.4f}", b=f"{eb.usd_per_unit:.4f}"), s.eur_fx),
        Factor("jpy_fx", _("USD/JPY {a} → {b}").format(a=f"{1 / ja.usd_per_unit:.2f}", b=f"{1 / jb.usd_per_unit:.2f}"),
               s.jpy_fx),
    ]
    factors.sort(key=lambda f: -abs(f.effect))
    return Attribution("global", a.at, b.at, s.change, tuple(factors), s.residual, _notes(a, b, _))


def _reserves(catalog: Catalog, frames: Frames, weeks: int, to: date | None, lang: str = DEFAULT) -> Attribution:
    """H.4.1 factors of reserves (bot/why_h41.py, imported late: it builds on this module's records)."""
    from bot.why_h41 import attribute_reserves

    return attribute_reserves(catalog, frames, weeks, to, lang)


def _net_liquidity(catalog: Catalog, frames: Frames, weeks: int, to: date | None, lang: str = DEFAULT) -> Attribution:
    """H.4.1 factors of net liquidity (bot/why_h41.py)."""
    from bot.why_h41 import attribute_net_liquidity

    return attribute_net_liquidity(catalog, frames, weeks, to, lang)


REGISTRY: dict[str, Decomposition] = {"global": attribute_global, "reserves": _reserves,
                                      "net_liquidity": _net_liquidity}
# The headline's metric label for each decomposition (its own name when the catalog has none).
HEADLINE = {"global": "global_cb_assets_usd", "reserves": "h41_reserves", "net_liquidity": "net_liquidity"}


def attribute(metric: str, catalog: Catalog, frames: Frames, weeks: int = 4, to: date | None = None,
              lang: str = DEFAULT) -> Attribution:
    """The decomposition of `metric`'s change over `weeks` weeks to `to`; WhyError if unsupported."""
    _ = tr(lang)
    fn = REGISTRY.get(metric)
    if fn is None:
        raise WhyError(_("No breakdown of {metric} yet. Supported: {metrics}.").format(
            metric=metric, metrics=", ".join(REGISTRY)))
    if not 1 <= weeks <= MAX_WEEKS:
        raise WhyError(_("Weeks must be between 1 and {n}.").format(n=MAX_WEEKS))
    try:
        return fn(catalog, frames, weeks, to, lang)
    except WhyError:
        raise WhyError(_("Not enough data for {metric} yet.").format(metric=metric)) from None


def render(att: Attribution, catalog: Catalog, lang: str = DEFAULT) -> str:
    """The answer first (the change and its window), then one line per factor, the residual, notes."""
    _ = tr(lang)
    name = metric_label(catalog, HEADLINE.get(att.metric, att.metric), lang)
    lines = [_("{metric}: {change} from {start} to {end}").format(
        metric=name, change=fmt_change(att.change, "usd"), start=att.start.isoformat(), end=att.end.isoformat())]
    lines += [f"• {f.label} → {fmt_change(f.effect, 'usd')}" for f in att.factors]
    lines.append("• " + _("Residual {value}").format(value=fmt_change(att.residual, "usd")
                                                         if abs(att.residual) >= 5e8 else fmt_usd(0.0)))
    return "\n".join([*lines, "", *att.notes])


def parse_chat_args(args: list[str], lang: str = DEFAULT) -> tuple[str, int]:
    """`/why [global|reserves|net_liquidity] [1w|4w|13w]` -> (metric, weeks); the metric defaults to global, the window to 4w."""
    _ = tr(lang)
    metric, weeks = "global", 4
    for a in args[:2]:
        word = a.strip().lower()
        if word in CHAT_WINDOWS:
            weeks = CHAT_WINDOWS[word]
        elif word[:-1].isdigit() and word.endswith("w"):  # "2w": a window, just not one we offer in chat
            raise WhyError(_("Windows: {windows}").format(windows=", ".join(CHAT_WINDOWS)))
        elif word:
            metric = word
    if len(args) > 2:
        raise WhyError(_("Usage: {usage}").format(usage="why [global|reserves|net_liquidity] [1w|4w|13w]"))
    return metric, weeks


def answer(catalog: Catalog, frames: Frames, args: list[str], lang: str = DEFAULT) -> str:
    """The chat reply to /why, or the reason it cannot answer."""
    try:
        metric, weeks = parse_chat_args(args, lang)
        return render(attribute(metric, catalog, frames, weeks, None, lang), catalog, lang)
    except WhyError as exc:
        return str(exc)



def run_cli(metric: str, catalog: Catalog, frames: Frames, weeks: int, to: date | None, as_json: bool) -> int:
    """`liquidity-bot why METRIC [--weeks N] [--to DATE] [--json]`: print the answer, 0 or 1."""
    import json
    import sys

    try:
        att = attribute(metric, catalog, frames, weeks, to)
    except WhyError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(json.dumps(att.as_json()) if as_json else render(att, catalog))
    return 0
