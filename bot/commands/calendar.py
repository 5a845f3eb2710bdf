"""`/calendar [14d]`: the liquidity calendar ahead, from rules, published schedules and stored auctions."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import TYPE_CHECKING

from bot.clock import eastern_date
from bot.commands.registry import command
from bot.commands.reply import CommandError, Ctx, Reply, arg
from bot.i18n import N_, tr

if TYPE_CHECKING:
    from bot.commands.service import CommandService

DEFAULT_DAYS = 14
_SPAN = re.compile(r"^(\d{1,3})\s*([dw]?)$")


def parse_days(raw: str | None, lang: str = "en") -> int:
    """"14d", "14", "2w" -> days (1 to MAX_DAYS); a CommandError that says what is accepted otherwise."""
    from bot.liquidity_calendar import MAX_DAYS

    if not raw:
        return DEFAULT_DAYS
    m = _SPAN.match(raw.strip().lower())
    days = int(m.group(1)) * (7 if m.group(2) == "w" else 1) if m else 0
    if not 1 <= days <= MAX_DAYS:
        _ = tr(lang)
        raise CommandError(_("Say how many days ahead, from 1d to {max}d, e.g. calendar 14d.").format(max=MAX_DAYS))
    return days


@command("calendar", "[14d]", N_("known liquidity events ahead: tax dates, month- and quarter-ends, FOMC, H.4.1"))
async def calendar(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    """The next days' known events, each with why it matters and its typical effect."""
    from bot.liquidity_calendar import calendar_text
    from bot.store.auctions import stored_auctions

    days = parse_days(arg(args, 0), ctx.lang)
    today = eastern_date(s.core.now())
    return [Reply(calendar_text(today, days, stored_auctions(s.store, today, today + timedelta(days=days)), ctx.lang))]


def week_ahead(store: object, after: date, lang: str = "en") -> str:
    """The weekly digest's "Week ahead" line: the 7 days from `after`, with stored auction settlements."""
    from bot.liquidity_calendar import week_ahead_line
    from bot.store.auctions import stored_auctions

    return week_ahead_line(after, lang, stored_auctions(store, after, after + timedelta(days=7)))
