"""The release model: when each series is published (US/Eastern), learned from observation. Pure.

Documented times (the sources' own publication notes):
- NY Fed reference rates: SOFR (and TGCR) about 8:00, EFFR about 9:00, for the previous business day.
- NY Fed operations: SRF morning results after the 8:15-8:30 operation, afternoon results after the
  1:30-1:45 operation; ON RRP results after the 12:45-1:15 operation.
- Treasury Daily Treasury Statement (FiscalData): about 4:00 pm.
- Fed H.4.1: Thursdays 4:30 pm; FRED's copy (WRESBAL, WALCL, WTREGEN) minutes later: the window
  opens for the Fed's minute and learning moves it to when FRED's copy is actually seen.
- FRED daily series (RRPONTSYD, SOFR, EFFR): later in the day.
- ECB weekly financial statement (FRED ECBASSETSW, as of Friday): Tuesdays 15:00 CET (9:00 ET);
  FRED's copy after it. Bank of Japan accounts (FRED JPNASSETS): monthly, early in the month.
  Both change at most once a week or month, so their windows poll once a minute, not every 5 s;
  FX (DEXUSEU, DEXJPUS) comes with FRED's weekly H.10 update and the 2-hourly background poll.
All on US federal business days (bot/calendar.py). No clock, no network, no database here:
callers pass the day and the observed arrival times.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ruamel.yaml import YAML

from bot.calendar import holiday_name, is_business_day

ET = ZoneInfo("America/New_York")
SHIFTS_FILE = Path(__file__).with_name("h41_shifts.yaml")

LEAD = timedelta(minutes=2)          # start polling this long before the expected time
FAST_SPAN = timedelta(minutes=10)    # poll every `every` seconds until expected + this
SLOW_SPAN = timedelta(minutes=30)    # then every 30 s until expected + this
SLOW_EVERY = timedelta(seconds=30)
LATE_SPAN = timedelta(hours=2)       # then every 5 minutes until expected + this; then stop for the day
LATE_EVERY = timedelta(minutes=5)
DEFAULT_EVERY = 5.0

MIN_OBSERVATIONS = 5      # fewer observed arrivals: keep the documented time
FULL_WEIGHT = 15          # from this many on, expect the observed median itself ("a few weeks" of days)
HISTORY = 40              # only the most recent observations count (schedules drift)
MAX_SHIFT = timedelta(minutes=90)


@dataclass(frozen=True)
class Release:
    """One publication the bot waits for: which source, which series, at what documented ET time."""

    key: str
    source: str
    series: tuple[str, ...]
    at: time
    why: str
    weekly_h41: bool = False  # published on the H.4.1 day of the week instead of every business day
    weekday: int | None = None     # published on this weekday only (0 Monday; ECB statement: 1)
    month_day: int | None = None   # published on the first business day on or after this day of the month
    every: float | None = None     # seconds between polls in the fast phase (None: the source's)
    # Published with it (FRED posts a whole release at once): fetched once when its own series arrive,
    # not in every poll, so they cost no requests while the window waits.
    follow: tuple[str, ...] = ()


# H.4.1 table 1 factors, Wednesday levels (catalog `h41_series`): `/why reserves` splits a change into them.
H41_FACTORS = ("WRBWFRBL", "WTFSRFL", "WTFORBAFL", "WSHOSHO", "TREAST", "WSHOBL", "WORAL", "WLCFLL", "WCICL",
               "WLRRAL", "WLRRAFOIAL", "WDTGAL")

RELEASES: tuple[Release, ...] = (
    Release("nyfed.sofr", "nyfed", ("NYFED_SOFR", "NYFED_TGCR"), time(8, 0), "SOFR and TGCR reference rates"),
    Release("nyfed.srf_am", "nyfed", ("NYFED_SRF",), time(8, 30), "SRF morning operation results"),
    Release("nyfed.effr", "nyfed", ("NYFED_EFFR",), time(9, 0), "EFFR reference rate"),
    Release("nyfed.rrp", "nyfed", ("NYFED_RRP",), time(13, 15), "ON RRP results"),
    Release("nyfed.srf_pm", "nyfed", ("NYFED_SRF",), time(13, 45), "SRF afternoon operation results"),
    Release("fiscaldata.dts", "fiscaldata", ("TGA_DTS_CLOSE",), time(16, 0), "Daily Treasury Statement"),
    Release("fred.h41", "fred", ("WRESBAL", "WALCL", "WTREGEN"), time(16, 30),
            "H.4.1 (Fed 4:30 pm; FRED's copy minutes later)", weekly_h41=True, follow=H41_FACTORS),
    Release("fred.ecb", "fred", ("ECBASSETSW",), time(10, 0), "ECB weekly financial statement (Tuesday; FRED's copy)",
            weekday=1, every=60.0),
    Release("fred.boj", "fred", ("JPNASSETS",), time(10, 0), "Bank of Japan accounts, monthly (FRED's copy)",
            month_day=5, every=60.0),
    Release("fred.daily", "fred", ("RRPONTSYD", "SOFR", "EFFR"), time(15, 30), "FRED daily series (RRP, SOFR, EFFR)"),
)


@dataclass(frozen=True)
class PlannedPoll:
    """One poll of the plan (what `liquidity-bot schedule` prints)."""

    source: str
    series: tuple[str, ...]
    at: datetime
    why: str
    release: str

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "series": list(self.series),
                "at": self.at.isoformat(timespec="seconds"), "why": self.why}


@lru_cache(maxsize=1)
def h41_shifts() -> dict[date, date]:
    """Published H.4.1 day changes from bot/h41_shifts.yaml (Thursday of the week -> actual day)."""
    raw = YAML(typ="safe").load(SHIFTS_FILE.read_text()) or {}
    return {date.fromisoformat(str(k)): date.fromisoformat(str(v)) for k, v in (raw.get("shifts") or {}).items()}


def h41_day(any_day_of_week: date) -> date | None:
    """The H.4.1 publication day of the week containing `any_day_of_week`.

    Thursday; a published shift in h41_shifts.yaml wins; when Thursday is a federal holiday
    the Fed publishes on the business day before (Wednesday), never on a weekend."""
    thursday = any_day_of_week + timedelta(days=3 - any_day_of_week.weekday())
    if thursday in h41_shifts():
        return h41_shifts()[thursday]
    d = thursday
    while not is_business_day(d):
        d -= timedelta(days=1)
        if d.weekday() >= 5 or d < thursday - timedelta(days=3):
            return None  # no business day left in the week before Thursday
    return d


def publishes_on(r: Release, day: date) -> bool:
    """Whether `r` is published on `day` (US/Eastern date)."""
    if r.weekly_h41:
        return h41_day(day) == day
    if r.weekday is not None:
        return day.weekday() == r.weekday and is_business_day(day)
    if r.month_day is not None:
        first = day.replace(day=r.month_day)
        while not is_business_day(first):
            first += timedelta(days=1)
        return day == first
    return is_business_day(day)


def learned_time(nominal: time, observed: list[time]) -> time:
    """The expected ET time: the documented one, moved toward the median of observed arrivals.

    Below MIN_OBSERVATIONS nothing moves; the weight grows to 1 at FULL_WEIGHT observations;
    the shift is capped at MAX_SHIFT so one odd month cannot move a window off its release."""
    recent = observed[-HISTORY:]
    if len(recent) < MIN_OBSERVATIONS:
        return nominal
    secs: Callable[[time], int] = lambda t: t.hour * 3600 + t.minute * 60 + t.second  # noqa: E731 - local helper
    weight = min(1.0, len(recent) / FULL_WEIGHT)
    shift = (statistics.median(secs(t) for t in recent) - secs(nominal)) * weight
    cap = MAX_SHIFT.total_seconds()
    total = round(secs(nominal) + max(-cap, min(cap, shift)))
    return time(total // 3600, total % 3600 // 60, total % 60)


def expected_at(r: Release, day: date, observed: list[time] | None = None) -> datetime | None:
    """When `r` is expected on `day` (aware, US/Eastern), or None when it is not published that day."""
    if not publishes_on(r, day):
        return None
    return datetime.combine(day, learned_time(r.at, observed or []), ET)


def poll_times(expected: datetime, every: float = DEFAULT_EVERY) -> list[datetime]:
    """Every poll of one release window when nothing arrives: every `every` s from LEAD before the
    expected time to FAST_SPAN after, then every 30 s to SLOW_SPAN, then every 5 min to LATE_SPAN."""
    out, t = [], expected - LEAD
    for end, step in ((expected + FAST_SPAN, timedelta(seconds=every)), (expected + SLOW_SPAN, SLOW_EVERY),
                      (expected + LATE_SPAN, LATE_EVERY)):
        while t < end:
            out.append(t)
            t += step
    out.append(t)
    return out


def phase(expected: datetime, at: datetime) -> str:
    """"fast", "slow", "late" or "over": where `at` falls in the window around `expected`."""
    if at < expected + FAST_SPAN:
        return "fast"
    if at < expected + SLOW_SPAN:
        return "slow"
    return "late" if at <= expected + LATE_SPAN else "over"


def plan(first: date, days: int, releases: tuple[Release, ...] = RELEASES,
         observed: dict[str, list[time]] | None = None, every: dict[str, float] | None = None) -> list[PlannedPoll]:
    """Every poll of `days` days from `first`, assuming no data arrives, in time order."""
    observed, every = observed or {}, every or {}
    polls = []
    for i in range(days):
        day = first + timedelta(days=i)
        for r in releases:
            exp = expected_at(r, day, observed.get(r.key))
            if exp is None:
                continue
            polls += [PlannedPoll(r.source, r.series, t, r.why, r.key)
                      for t in poll_times(exp, r.every or every.get(r.source, DEFAULT_EVERY))]
    return sorted(polls, key=lambda p: (p.at, p.source, p.release))


def closed_reason(day: date) -> str | None:
    """Why `day` has no release windows ("Saturday", "Christmas Day"), or None on a business day."""
    if day.weekday() >= 5:
        return day.strftime("%A")
    return holiday_name(day)
