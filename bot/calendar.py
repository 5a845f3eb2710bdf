"""US federal business days (the Fed's and the Treasury's publication calendar). Pure.

Holidays come from the `holidays` package (US federal holidays), never a hand list. The
Federal Reserve Banks close on a federal holiday and on the Monday after one that falls on
a Sunday; for a holiday that falls on a Saturday they stay open on the Friday before, so
those "observed" Fridays are business days here.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

import holidays
import numpy as np


@lru_cache(maxsize=256)
def _year(year: int) -> frozenset[date]:
    days: set[date] = set()
    for d, name in holidays.country_holidays("US", years=year).items():
        if "observed" in name.lower() and d.weekday() == 4:
            continue  # Saturday holiday: the Fed is open the Friday before
        days.add(d)
    return frozenset(days)


def holiday_name(d: date) -> str | None:
    """The federal holiday on `d` (as the Fed observes it), or None."""
    if d not in _year(d.year):
        return None
    name: str | None = holidays.country_holidays("US", years=d.year).get(d)
    return name


def is_business_day(d: date) -> bool:
    """Monday to Friday and not a federal holiday the Fed observes."""
    return d.weekday() < 5 and d not in _year(d.year)


def add_business_days(d: date, n: int) -> date:
    """`d` moved by `n` business days (n >= 0 moves forward; a non-business `d` rolls forward first)."""
    while not is_business_day(d):
        d += timedelta(days=1)
    step = 1 if n >= 0 else -1
    while n:
        d += timedelta(days=step)
        if is_business_day(d):
            n -= step
    return d


@lru_cache(maxsize=8)
def _holiday_array(first: int, last: int) -> np.ndarray:
    days = sorted(d for y in range(first, last + 1) for d in _year(y))
    return np.array(days, dtype="datetime64[D]")


def busday_offset(days: np.ndarray, n: int, roll: Literal["forward", "backward"] = "forward") -> np.ndarray:
    """Vectorised `np.busday_offset` over US federal business days (datetime64[D] in and out)."""
    if len(days) == 0:
        return days.astype("datetime64[D]")
    years = days.astype("datetime64[Y]").astype(int) + 1970
    first, last = int(years.min()) - 1, int(years.max()) + 1
    return np.busday_offset(days.astype("datetime64[D]"), n, roll=roll, holidays=_holiday_array(first, last))
