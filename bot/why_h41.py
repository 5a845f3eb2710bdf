"""`/why reserves` and `/why net_liquidity`: a change split into the Fed's H.4.1 factors.

Reserve balances are an identity of H.4.1 table 1: factors supplying reserve funds minus factors
absorbing them other than reserves. Every number here is a Wednesday level (never a week average).
"Other" factors are the Fed's published totals (WTFSRFL, WTFORBAFL) minus the named factors, so the
residual (change minus factors) checks the identity; a factor whose series is absent is named in a
note and its move stays in the residual. Pure: frames in, an `Attribution` out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pandas as pd

from bot.catalog import Catalog
from bot.i18n import DEFAULT, N_, tr
from bot.metrics import Frames, last_at
from bot.units import fmt_change
from bot.why import Attribution, Factor, WhyError, dates_back

# From December 2025 the Fed's reserve management purchases buy bills (domain.md): bills are RMP.
RMP_FROM = date(2025, 12, 1)
# A daily series (ON RRP) read on a Wednesday: the last business day before it, at most this far back.
TOLERANCE_DAYS = 3
Tr = Callable[[str], str]


@dataclass(frozen=True)
class Part:
    """One factor: a signed sum of metric levels (`terms`) and its sign on the explained metric."""

    name: str
    label: str                          # N_() source with {move}: what moved, by how much
    short: str                          # N_() source for the one-line drivers
    sign: int                           # +1 supplies (adds to) the metric, -1 absorbs (drains) it
    terms: tuple[tuple[str, int], ...]  # (metric, coefficient)


Group = tuple[tuple[Part, ...], ...]   # alternatives, best first: the first fully present is used

_QT_T = Part("qt_treasuries", N_("Treasury notes and bonds {move}"), N_("Notes/bonds"), 1,
             (("h41_treasuries", 1), ("h41_bills", -1)))
_QT_MBS = Part("qt_mbs", N_("MBS and agency debt {move}"), N_("MBS"), 1, (("h41_securities", 1), ("h41_treasuries", -1)))
_BILLS = Part("rmp_bills", N_("Treasury bills {move}"), N_("Bills"), 1, (("h41_bills", 1),))
SECURITIES: Group = (
    (_QT_T, _QT_MBS, _BILLS),
    (Part("treasuries", N_("Treasury securities, bills included {move}"), N_("Treasuries"), 1,
          (("h41_treasuries", 1),)), _QT_MBS),
    (Part("securities", N_("Securities held outright {move}"), N_("Securities"), 1, (("h41_securities", 1),)),),
)
_REPO = Part("repo", N_("Fed repos (SRF and foreign official) {move}"), N_("Repo"), 1, (("h41_repo", 1),))
_LOANS = Part("loans", N_("Fed loans {move}"), N_("Loans"), 1, (("h41_loans", 1),))
_NAMED_SUPPLY = (("h41_securities", -1), ("h41_repo", -1), ("h41_loans", -1))
_CURRENCY = Part("currency", N_("Currency in circulation {move}"), N_("Currency"), -1, (("h41_currency", 1),))
_RRP: Group = (
    (Part("on_rrp", N_("ON RRP {move}"), N_("ON RRP"), -1, (("h41_rrp", 1), ("h41_rrp_foreign", -1))),
     Part("foreign_rrp", N_("Foreign official reverse repos {move}"), N_("Foreign RRP"), -1,
          (("h41_rrp_foreign", 1),))),
    (Part("reverse_repos", N_("Reverse repos (ON RRP and foreign official) {move}"), N_("Reverse repos"), -1,
          (("h41_rrp", 1),)),),
)
_TGA = Part("tga", N_("TGA {move}"), N_("TGA"), -1, (("h41_tga", 1),))

RESERVES: tuple[Group, ...] = (
    SECURITIES, ((_REPO,),), ((_LOANS,),),
    ((Part("other_supplying", N_("Other supplying factors (premiums, float, swaps, gold, other) {move}"),
           N_("Other supply"), 1, (("h41_supplying", 1), *_NAMED_SUPPLY)),),),
    ((_CURRENCY,),), _RRP, ((_TGA,),),
    ((Part("other_absorbing", N_("Other absorbing factors (other deposits, Treasury cash, capital) {move}"),
           N_("Other drains"), -1, (("h41_absorbing", 1), ("h41_currency", -1), ("h41_rrp", -1), ("h41_tga", -1))),),),
)
_OTHER_ASSETS = Part("other_assets", N_("Other Fed assets {move}"), N_("Other assets"), 1,
                     (("fed_assets", 1), *_NAMED_SUPPLY))
_OTHER_ALL = Part("other_assets_all", N_("Other Fed assets, incl. repo and loans {move}"), N_("Other assets"), 1,
                  (("fed_assets", 1), ("h41_securities", -1)))
_FED_TOTAL = Part("fed_assets", N_("Fed total assets {move}"), N_("Fed assets"), 1, (("fed_assets", 1),))
# Fed assets as finely as the data allows, down to the total alone (WALCL is published furthest back).
ASSETS: Group = (*(sec + rest for sec in SECURITIES for rest in ((_REPO, _LOANS, _OTHER_ASSETS), (_OTHER_ALL,))),
                 (_FED_TOTAL,))
NET_LIQUIDITY: tuple[Group, ...] = (
    ASSETS, ((_TGA,),),
    ((Part("on_rrp", N_("ON RRP {move}"), N_("ON RRP"), -1, (("rrp", 1),)),),),
)
# What the change itself is, term by term (Wednesday levels); the metric the dates come from.
TOTALS = {"reserves": (("h41_reserves", 1),), "net_liquidity": (("fed_assets", 1), ("h41_tga", -1), ("rrp", -1))}
DATES_FROM = {"reserves": "h41_reserves", "net_liquidity": "fed_assets"}
PARTS = {"reserves": RESERVES, "net_liquidity": NET_LIQUIDITY}


@dataclass(frozen=True)
class Move:
    """A factor as it moved: its part, its level change and its effect on the metric (dollars)."""

    part: Part
    move: float
    effect: float


def value_at(frames: Frames, metric: str, day: date) -> float | None:
    """The metric's value on `day`, or on the last date within TOLERANCE_DAYS before it; None if absent."""
    found = last_at(frames.get(metric), pd.Timestamp(day), TOLERANCE_DAYS)
    return None if found is None or found[1] != found[1] else found[1]   # NaN: no value


def _level(frames: Frames, terms: tuple[tuple[str, int], ...], day: date) -> float | None:
    vals = [value_at(frames, m, day) for m, _ in terms]
    if any(v is None for v in vals):
        return None
    return sum(c * v for (_, c), v in zip(terms, vals, strict=True) if v is not None)


def _delta(frames: Frames, terms: tuple[tuple[str, int], ...], a: date, b: date) -> float | None:
    la, lb = _level(frames, terms, a), _level(frames, terms, b)
    return None if la is None or lb is None else lb - la


def h41_dates(frames: Frames, metric: str, weeks: int, to: date | None) -> tuple[date, date]:
    """The last Wednesday print at or before `to` (default: the newest) and the one `weeks` weeks before."""
    return dates_back(frames, DATES_FROM[metric], weeks, to)


def moves(catalog: Catalog, frames: Frames, metric: str, a: date, b: date) -> tuple[list[Move], list[str]]:
    """Each group's first fully present alternative as moves, and the series ids of groups with none."""
    out: list[Move] = []
    missing: list[str] = []
    for group in PARTS[metric]:
        for alt in group:
            deltas = [_delta(frames, p.terms, a, b) for p in alt]
            if all(d is not None for d in deltas):
                # A factor that did not move at all (repo in 2021) is left out: it adds nothing.
                out += [Move(p, d, p.sign * d) for p, d in zip(alt, deltas, strict=True) if d is not None and d != 0]
                break
        else:
            absent = {m for p in group[0] for m, _ in p.terms if _delta(frames, ((m, 1),), a, b) is None}
            missing += sorted(s for m in absent if m in catalog.metrics for s in catalog.metrics[m].series)
    out.sort(key=lambda mv: -abs(mv.effect))
    return out, sorted(set(missing))


def _tag(mv: Move, end: date) -> str:
    """QT (holdings running off) or RMP (bill purchases from December 2025); nothing otherwise."""
    if mv.part.name not in ("qt_treasuries", "qt_mbs", "rmp_bills", "treasuries", "securities"):
        return ""
    if mv.move < 0:
        return "QT"
    return "RMP" if mv.part.name == "rmp_bills" and mv.move > 0 and end >= RMP_FROM else ""


def attribute_h41(metric: str, catalog: Catalog, frames: Frames, weeks: int, to: date | None,
                  lang: str = DEFAULT) -> tuple[Attribution, list[Move]]:
    """`metric`'s change over `weeks` weeks to `to`, split into H.4.1 factors (Wednesday levels)."""
    _ = tr(lang)
    a, b = h41_dates(frames, metric, weeks, to)
    change = _delta(frames, TOTALS[metric], a, b)
    if change is None:
        raise WhyError("no data")
    mvs, missing = moves(catalog, frames, metric, a, b)
    factors = []
    for mv in mvs:
        label = _(mv.part.label).format(move=fmt_change(mv.move, "usd"))
        tag = _tag(mv, b)
        factors.append(Factor(mv.part.name, f"{label} ({tag})" if tag else label, mv.effect))
    residual = change - sum(mv.effect for mv in mvs)
    return Attribution(metric, a, b, change, tuple(factors), residual, _h41_notes(metric, missing, frames, a, b, _)), mvs


def _h41_notes(metric: str, missing: list[str], frames: Frames, a: date, b: date, _: Tr) -> tuple[str, ...]:
    """How to read the answer: levels and signs, what is missing, how net liquidity differs from its metric."""
    notes = [_("H.4.1 Wednesday levels, each factor signed as its effect on {what}; QT: holdings running off, "
                 "RMP: bill purchases (from December 2025).").format(what=_what(metric, _))]
    if missing:
        notes.append(_("Not available here: {ids}; their moves stay in the residual.").format(ids=", ".join(missing)))
    elif metric == "reserves":
        notes.append(_("Every factor present: the residual is what the H.4.1 identity leaves (rounding)."))
    if metric == "net_liquidity":
        m = _delta(frames, (("net_liquidity", 1),), a, b)
        notes.append(_("Here the TGA is its Wednesday level; the net liquidity metric (TGA week average) "
                         "moved {move}.").format(move=fmt_change(m, "usd") if m is not None else "n/a"))
    return tuple(notes)


def _what(metric: str, _: Tr) -> str:
    return _("reserves") if metric == "reserves" else _("net liquidity")


def attribute_reserves(catalog: Catalog, frames: Frames, weeks: int, to: date | None, lang: str = DEFAULT) -> Attribution:
    """Reserve balances (Wednesday level): supplying factors minus absorbing ones."""
    return attribute_h41("reserves", catalog, frames, weeks, to, lang)[0]


def attribute_net_liquidity(catalog: Catalog, frames: Frames, weeks: int, to: date | None,
                            lang: str = DEFAULT) -> Attribution:
    """Net liquidity (Wednesday levels): Fed assets split by kind, minus the TGA, minus ON RRP."""
    return attribute_h41("net_liquidity", catalog, frames, weeks, to, lang)[0]


def drivers_line(catalog: Catalog, frames: Frames, metric: str, lang: str = DEFAULT, weeks: int = 1,
                 to: date | None = None, exact: bool = False) -> str | None:
    """The top three drivers of `metric`'s last change in one line ("TGA +$61.0B → reserves −$61.0B; …"),
    for alerts, digests and the dashboard; None when the metric has no H.4.1 breakdown or no data, and
    with `exact`, when the factors do not reach `to` yet (an alert never explains this week by last week's)."""
    key = next((k for k in PARTS if metric.startswith(k)), None)   # net_liquidity_change_1w: net liquidity
    if key is None:
        return None
    _ = tr(lang)
    try:
        att, mvs = attribute_h41(key, catalog, frames, weeks, to, lang)
    except WhyError:
        return None
    if exact and to is not None and att.end != to:
        return None
    items = []
    for mv in mvs[:3]:
        tag = _tag(mv, att.end)
        text = f"{_(mv.part.short)} {fmt_change(mv.move, 'usd')}" + (f" ({tag})" if tag else "")
        if mv.part.sign < 0:
            text += f" → {_what(key, _)} {fmt_change(mv.effect, 'usd')}"
        items.append(text)
    if not items:
        return None
    text = _("Reserves drivers ({n}w to {end}): {items}") if key == "reserves" else \
        _("Net liquidity drivers ({n}w to {end}): {items}")
    return text.format(n=weeks, end=att.end.isoformat(), items="; ".join(items))
