"""US federal business days: publication lag and release calendars skip Fed holidays."""

from __future__ import annotations

from datetime import date

import pandas as pd

from bot.calendar import add_business_days, holiday_name, is_business_day
from bot.metrics import known_dates


def test_holidays_come_from_the_holidays_package():
    assert holiday_name(date(2026, 12, 25)) == "Christmas Day"
    assert not is_business_day(date(2026, 12, 25)) and not is_business_day(date(2026, 1, 19))  # MLK Day
    # A Saturday holiday: the Fed is open the Friday before (2026-07-03).
    assert is_business_day(date(2026, 7, 3)) and not is_business_day(date(2026, 7, 4))


def test_a_monday_holiday_shifts_publication_to_tuesday_not_into_the_weekend():
    # Friday 2026-01-16's Daily Treasury Statement is out the next business day: Tuesday (MLK Monday).
    assert add_business_days(date(2026, 1, 16), 1) == date(2026, 1, 20)
    known = known_dates(pd.DatetimeIndex(["2026-01-16", "2026-01-14"]), 1)
    assert [str(pd.Timestamp(k).date()) for k in known] == ["2026-01-20", "2026-01-15"]
