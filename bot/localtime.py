"""A chat's local time: quiet hours and digest slots. Pure (the caller passes `now`, naive UTC).

Specs are stored as text on the chat: quiet "22:00-07:00 Europe/London", digest
"daily 08:00 Asia/Shanghai" or "weekly 17:00 America/New_York" (weekly digests go out on
Fridays, after the week's H.4.1).
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.i18n import tr

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
FRIDAY = 4


class SpecError(ValueError):
    """A time or timezone the user typed that we cannot read (the message names which)."""


def zone(name: str | None, lang: str = "en") -> ZoneInfo:
    """An IANA timezone ('Asia/Shanghai'); UTC when none is given."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        _ = tr(lang)
        raise SpecError(_("unknown timezone {name!r} (use a name like Europe/London, Asia/Shanghai)").format(
            name=name)) from None


def clock_time(text: str, lang: str = "en") -> time:
    m = _HHMM.match(text)
    if not m:
        _ = tr(lang)
        raise SpecError(_("{text!r} is not a time of day (use HH:MM, 24-hour)").format(text=text))
    return time(int(m.group(1)), int(m.group(2)))


def parse_quiet(args: list[str], lang: str = "en") -> str:
    """['22:00-07:00', 'Europe/London'] -> '22:00-07:00 Europe/London' (validated)."""
    _ = tr(lang)
    if not args or "-" not in args[0]:
        raise SpecError(_("give the quiet hours as HH:MM-HH:MM"))
    start, _sep, end = args[0].partition("-")
    if clock_time(start, lang) == clock_time(end, lang):
        raise SpecError(_("quiet hours must not start and end at the same time"))
    tz = args[1] if len(args) > 1 else "UTC"
    zone(tz, lang)
    return f"{start}-{end} {tz}"


def quiet_until(spec: str, now: datetime) -> datetime | None:
    """If `now` falls in the quiet hours, when they end (naive UTC); else None."""
    window, _sep, tz = spec.partition(" ")
    start_s, _sep, end_s = window.partition("-")
    z = zone(tz)
    local = now.replace(tzinfo=timezone.utc).astimezone(z)
    start, end = clock_time(start_s), clock_time(end_s)
    t = local.time()
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return None
    end_day = local.date() if t < end else local.date() + timedelta(days=1)
    end_local = datetime.combine(end_day, end, tzinfo=z)
    return end_local.astimezone(timezone.utc).replace(tzinfo=None)


def parse_digest(args: list[str], lang: str = "en") -> str | None:
    """['daily', '08:00', 'Asia/Shanghai'] -> 'daily 08:00 Asia/Shanghai'; ['off'] -> None."""
    if not args or args[0].lower() not in ("daily", "weekly", "off"):
        _ = tr(lang)
        raise SpecError(_("choose daily, weekly or off"))
    kind = args[0].lower()
    if kind == "off":
        return None
    at = args[1] if len(args) > 1 else ("08:00" if kind == "daily" else "17:00")
    clock_time(at, lang)
    tz = args[2] if len(args) > 2 else "UTC"
    zone(tz, lang)
    return f"{kind} {at} {tz}"


def last_slot(spec: str, now: datetime) -> datetime:
    """The newest scheduled digest time at or before `now` (naive UTC)."""
    kind, at, tz = spec.split(" ")
    z = zone(tz)
    local = now.replace(tzinfo=timezone.utc).astimezone(z)
    slot = datetime.combine(local.date(), clock_time(at), tzinfo=z)
    if slot > local:
        slot -= timedelta(days=1)
    if kind == "weekly":
        slot -= timedelta(days=(slot.weekday() - FRIDAY) % 7)
    return slot.astimezone(timezone.utc).replace(tzinfo=None)


def digest_due(spec: str, last: datetime | None, now: datetime) -> datetime | None:
    """The slot a digest is due for (after `last`, at or before `now`), or None."""
    slot = last_slot(spec, now)
    if last is not None and slot <= last:
        return None
    return slot
