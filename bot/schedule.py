"""The sources' release calendar (US/Eastern) as APScheduler triggers.

Each source is polled often inside its release windows, until the series the window waits
for have new data, and slowly (BACKGROUND) at all times. POLL_SECONDS replaces all of this
with one fixed interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
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
    series: tuple[str, ...] = ()  # the window is done once all of these have new data today


CALENDAR: dict[str, list[Window]] = {
    "fred": [Window("thu", time(16, 35), time(18, 0), 5, "H.4.1: reserves, total assets, TGA",
                    ("WRESBAL", "WALCL", "WTREGEN")),
             Window("mon-fri", time(15, 30), time(17, 30), 15, "daily series (RRP, SOFR, EFFR)",
                    ("RRPONTSYD", "SOFR", "EFFR"))],
    "nyfed": [Window("mon-fri", time(8, 5), time(9, 30), 5, "reference rates; morning SRF operation",
                     ("NYFED_SOFR", "NYFED_EFFR", "NYFED_SRF")),
              Window("mon-fri", time(13, 20), time(14, 15), 5, "ON RRP results; afternoon SRF operation",
                     ("NYFED_RRP", "NYFED_SRF"))],
    "fiscaldata": [Window("mon-fri", time(16, 5), time(17, 30), 10, "Daily Treasury Statement", ("TGA_DTS_CLOSE",))],
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


def window_done(w: Window, new_data_at: dict[str, datetime], now: datetime) -> bool:
    """True once every series the window waits for got new data since the window opened today
    (US/Eastern): the rest of the window's polls are skipped."""
    local = now.astimezone(ET)
    opened = local.replace(hour=w.start.hour, minute=w.start.minute, second=0, microsecond=0)
    return bool(w.series) and all(s in new_data_at and new_data_at[s] >= opened for s in w.series)


def poll_trigger(seconds: float) -> IntervalTrigger:
    return IntervalTrigger(seconds=seconds)
