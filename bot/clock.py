"""The one place the edges read the wall clock; the core is always handed `now`."""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

ET = ZoneInfo("America/New_York")


def utcnow() -> datetime:
    """Naive UTC: the core's clock convention."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def eastern_date(now_utc: datetime) -> date:
    """Today's date in US/Eastern for a naive-UTC (or aware) `now`."""
    aware = now_utc.replace(tzinfo=timezone.utc) if now_utc.tzinfo is None else now_utc
    return aware.astimezone(ET).date()


def eastern_tomorrow(now_utc: datetime) -> date:
    """Tomorrow's date in US/Eastern for a naive-UTC `now`: no source publishes data dated later."""
    return eastern_date(now_utc) + timedelta(days=1)
