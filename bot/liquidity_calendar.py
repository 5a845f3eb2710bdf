"""The liquidity calendar: known plumbing events from rules and published schedules, never guesses. Pure.

H.4.1 days (bot/h41_shifts.yaml), FOMC decision days (bot/fomc.yaml, the Fed's published schedule),
tax dates and Treasury coupon settlements moved to the next business day, month-, quarter- and
year-ends (last business day), and Treasury auction settlements the caller passes in (stored
FiscalData upcoming auctions; this module never fetches).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from ruamel.yaml import YAML

from bot.calendar import is_business_day
from bot.i18n import N_, normalise, tr
from bot.release import h41_day
from bot.units import fmt_usd

FOMC_FILE = Path(__file__).with_name("fomc.yaml")
MAX_DAYS = 92  # /calendar and the CLI show at most a quarter ahead

# kind -> (event, why it matters, typical effect); English source, translated when shown
TEXT: dict[str, tuple[str, str, str]] = {
    "h41": (N_("H.4.1 release (Fed balance sheet, 4:30 pm ET)"),
            N_("the week's reserves, TGA and ON RRP as of Wednesday become known"),
            N_("no effect by itself; weekly figures and reserve alerts update")),
    "fomc": (N_("FOMC decision (2 pm ET)"),
             N_("the policy rate, IORB and the ON RRP rate can change; balance-sheet plans are announced"),
             N_("a rate change moves SOFR, EFFR, IORB and ON RRP together the next day")),
    "tax": (N_("Tax date (individual and corporate)"),
            N_("tax payments move cash from bank deposits into the TGA"),
            N_("TGA up, reserves down for a few days; repo rates can firm")),
    "tax_corporate": (N_("Corporate tax date"),
                      N_("corporate estimated tax payments move cash into the TGA"),
                      N_("TGA up, reserves down for a few days; repo rates can firm")),
    "tax_individual": (N_("Individual estimated tax date"),
                       N_("individual estimated tax payments move cash into the TGA"),
                       N_("TGA up modestly, reserves down a little")),
    "coupon": (N_("Treasury coupon settlement"),
               N_("new notes and bonds are paid for and coupons are paid out"),
               N_("cash moves from dealers and banks to the TGA; repo rates (SOFR, TGCR) often firm a few bp")),
    "auction": (N_("Treasury auction settlement"),
                N_("buyers of new Treasury securities pay the Treasury"),
                N_("TGA up by the net new cash, reserves or ON RRP down by as much")),
    "month_end": (N_("Month-end"),
                  N_("banks and money funds square their books"),
                  N_("repo rates often firm; ON RRP often rises")),
    "quarter_end": (N_("Quarter-end"),
                    N_("foreign banks shrink repo for their quarter-end balance sheets"),
                    N_("SOFR and SRF take-up often spike; ON RRP jumps; reverses in 1-2 days")),
    "year_end": (N_("Year-end"),
                 N_("the strongest balance-sheet window of the year (G-SIB scores, year-end reporting)"),
                 N_("the largest repo and SRF spikes of the year; ON RRP jumps; reverses in early January")),
}
# a day's history is compared with its family's past days: a year-end with the last quarter-ends,
# a month-end with every month-end (quarter- and year-ends are month-ends too)
FAMILY = {"tax_corporate": "tax", "tax_individual": "tax", "year_end": "quarter_end"}
MEMBERS = {"quarter_end": {"quarter_end", "year_end"}, "month_end": {"month_end", "quarter_end", "year_end"},
           "tax": {"tax", "tax_corporate", "tax_individual"}}
# which kind a day is known for when several fall on it (the strongest effect first)
PRIORITY = ("year_end", "quarter_end", "tax", "tax_corporate", "month_end", "coupon", "tax_individual",
            "auction", "fomc", "h41")
TAX_DAYS = {(1, 15): "tax_individual", (4, 15): "tax", (6, 15): "tax", (9, 15): "tax", (12, 15): "tax_corporate"}
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


@dataclass(frozen=True)
class Auction:
    """One announced Treasury auction (FiscalData upcoming_auctions), amounts in dollars."""

    auction_date: date
    issue_date: date
    security_type: str        # "Bill", "Note", "Bond", "CMB", "TIPS", "FRN"
    security_term: str        # "13-Week", "9-Year 10-Month"
    offering_amount: float | None


@dataclass(frozen=True)
class Event:
    """One calendar event; `detail` is language-neutral ("$84.0B: 13-Week Bill, 26-Week Bill")."""

    day: date
    kind: str
    detail: str = ""

    @property
    def family(self) -> str:
        return FAMILY.get(self.kind, self.kind)


@lru_cache(maxsize=1)
def fomc_days() -> tuple[date, ...]:
    """FOMC decision days from bot/fomc.yaml."""
    raw = YAML(typ="safe").load(FOMC_FILE.read_text()) or {}
    return tuple(sorted(date.fromisoformat(str(d)) for d in raw.get("decisions") or []))


def next_business_day(d: date) -> date:
    """`d` itself when it is a business day, else the next one."""
    while not is_business_day(d):
        d += timedelta(days=1)
    return d


def _month_last(year: int, month: int) -> date:
    return (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)


def _last_business_day(year: int, month: int) -> date:
    d = _month_last(year, month)
    while not is_business_day(d):
        d -= timedelta(days=1)
    return d


def _month_events(year: int, month: int) -> list[Event]:
    """The rule-based events a month brings (some may land early in the next month)."""
    out = [Event(next_business_day(date(year, month, 15)), "coupon"),
           Event(next_business_day(_month_last(year, month)), "coupon")]
    if (month, 15) in TAX_DAYS:
        out.append(Event(next_business_day(date(year, month, 15)), TAX_DAYS[(month, 15)]))
    end = "year_end" if month == 12 else "quarter_end" if month % 3 == 0 else "month_end"
    out.append(Event(_last_business_day(year, month), end))
    return out


def _months(first: date, last: date) -> Iterable[tuple[int, int]]:
    y, m = (first.year, first.month - 1) if first.month > 1 else (first.year - 1, 12)
    while (y, m) <= (last.year, last.month):
        yield y, m
        y, m = (y, m + 1) if m < 12 else (y + 1, 1)


def events(start: date, days: int, auctions: Iterable[Auction] = (), h41: bool = True) -> list[Event]:
    """Every known event from `start` for `days` days, by day then by importance (h41=False skips
    the weekly H.4.1 days, which a history look-up never needs)."""
    end = start + timedelta(days=max(days, 0) - 1)
    found = [e for y, m in _months(start, end) for e in _month_events(y, m)]
    found += [Event(d, "fomc") for d in fomc_days()]
    monday = start - timedelta(days=start.weekday())
    while h41 and monday <= end:
        if (day := h41_day(monday)) is not None:
            found.append(Event(day, "h41"))
        monday += timedelta(days=7)
    found += _auction_events(auctions)
    return sorted({e for e in found if start <= e.day <= end}, key=lambda e: (e.day, PRIORITY.index(e.kind)))


def _auction_events(auctions: Iterable[Auction]) -> list[Event]:
    """One settlement event per issue day: the offering total in dollars and the securities."""
    by_day: dict[date, list[Auction]] = {}
    for a in auctions:
        by_day.setdefault(a.issue_date, []).append(a)
    out = []
    for day, items in by_day.items():
        total = sum(a.offering_amount or 0.0 for a in items)
        names = ", ".join(sorted({f"{a.security_term} {a.security_type}" for a in items}))
        out.append(Event(day, "auction", f"{fmt_usd(total)}: {names}" if total else names))
    return out


def occurrences(family: str, before: date, n: int) -> list[date]:
    """The last `n` days of an event family before `before`, newest first (rule-based families only)."""
    out: list[date] = []
    members, year = MEMBERS.get(family, {family}), before.year
    while len(out) < n and year > before.year - 40:
        days = sorted({e.day for e in events(date(year, 1, 1), 366, h41=False) if e.kind in members and e.day < before},
                      reverse=True)
        out += [d for d in days if d not in out]
        year -= 1
    return sorted(set(out), reverse=True)[:n]


def day_kinds(day: date, auctions: Iterable[Auction] = ()) -> list[str]:
    """The kinds of event on `day`, most important first."""
    return [e.kind for e in events(day, 1, auctions)]


def as_dict(e: Event, lang: str = "en") -> dict[str, str]:
    """The JSON shape: exactly "date", "event", "why it matters", "typical effect"."""
    _ = tr(lang)
    name, why, effect = TEXT[e.kind]
    event = _(name) + (f" ({e.detail})" if e.detail else "")
    return {"date": e.day.isoformat(), "event": event, "why it matters": _(why), "typical effect": _(effect)}


def weekday(d: date, lang: str = "en") -> str:
    """A short weekday name in the language ("Tue", "周二")."""
    return tr(lang)(WEEKDAYS[d.weekday()])


def calendar_text(start: date, days: int, auctions: Iterable[Auction] = (), lang: str = "en") -> str:
    """The /calendar answer: a heading and one block per event."""
    _ = tr(lang)
    evs = events(start, days, auctions)
    end = start + timedelta(days=days - 1)
    lines = [_("Liquidity calendar {start} to {end} (US/Eastern):").format(start=start.isoformat(), end=end.isoformat())]
    if not evs:
        lines.append(_("No known events in these days."))
    explained: set[str] = set()
    for e in evs:
        d = as_dict(e, lang)
        lines.append(f"• {d['date']} {weekday(e.day, lang)} · {d['event']}")
        if e.kind in explained:
            continue  # said once per answer: a fortnight has two H.4.1 days
        explained.add(e.kind)
        lines.append("  " + _("Why: {why}. Typical: {effect}.").format(why=d["why it matters"],
                                                                      effect=d["typical effect"]))
    return "\n".join(lines)


def week_ahead_line(start: date, lang: str = "en", auctions: Iterable[Auction] = ()) -> str:
    """One digest line: the next 7 days' events, e.g. "Week ahead: Tue 12-09 FOMC decision (2 pm ET); ..."."""
    _ = tr(lang)
    evs = [e for e in events(start, 7, auctions) if e.kind != "h41"] or events(start, 7, auctions)
    if not evs:
        return _("Week ahead: no known events.")
    parts = [f"{weekday(e.day, lang)} {e.day:%m-%d} {_(TEXT[e.kind][0])}" for e in evs]
    sep = "；" if normalise(lang) == "zh" else "; "   # Chinese takes the full-width semicolon
    return _("Week ahead: {events}.").format(events=sep.join(parts))
