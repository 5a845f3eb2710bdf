"""The sources' release calendar (US/Eastern) as APScheduler triggers.

Each source is polled often inside its release windows (until new data appears) and
slowly outside them. POLL_SECONDS replaces all of this with one fixed interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

ET = ZoneInfo("America/New_York")


@dataclass(frozen=True)
class Window:
    days: str        # APScheduler day names: "thu", "mon-fri" (never numbers: 0 is Monday there)
    start: time
    end: time
    every: int       # minutes
    why: str


CALENDAR: dict[str, list[Window]] = {
    "fred": [Window("thu", time(16, 35), time(18, 0), 5, "H.4.1: reserves, total assets, TGA"),
             Window("mon-fri", time(15, 30), time(17, 30), 15, "daily series (RRP, SOFR, EFFR, IORB)")],
    "nyfed": [Window("mon-fri", time(8, 5), time(9, 30), 5, "reference rates; morning SRF operation"),
              Window("mon-fri", time(13, 20), time(14, 15), 5, "ON RRP results; afternoon SRF operation")],
    "fiscaldata": [Window("mon-fri", time(16, 5), time(17, 30), 10, "Daily Treasury Statement")],
}
BACKGROUND = CronTrigger(hour="*/2", minute=20, timezone=ET)  # a slow poll outside the windows


def window_trigger(w: Window) -> BaseTrigger:
    """Fire every `w.every` minutes from `w.start` to `w.end` on `w.days`, in US/Eastern."""
    first = w.start.hour * 60 + w.start.minute
    last = w.end.hour * 60 + w.end.minute
    triggers = []
    for hour in range(w.start.hour, w.end.hour + 1):
        minutes = [m for m in range(60) if first <= hour * 60 + m <= last and (hour * 60 + m - first) % w.every == 0]
        if minutes:
            triggers.append(CronTrigger(day_of_week=w.days, hour=hour, minute=",".join(map(str, minutes)), timezone=ET))
    return OrTrigger(triggers)


def release_trigger(source: str) -> BaseTrigger:
    """A source's windows plus the background poll (sources without a calendar: background only)."""
    return OrTrigger([*(window_trigger(w) for w in CALENDAR.get(source, [])), BACKGROUND])


def poll_trigger(seconds: float) -> IntervalTrigger:
    return IntervalTrigger(seconds=seconds)
