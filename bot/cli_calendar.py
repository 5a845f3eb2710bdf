"""`liquidity-bot calendar`: the liquidity calendar ahead, as text or JSON (no network)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import date, timedelta

from bot.clock import eastern_date, utcnow
from bot.config import Settings
from bot.liquidity_calendar import MAX_DAYS, Auction, as_dict, calendar_text, events


def _auctions(settings: Settings, first: date, last: date, refresh: bool) -> list[Auction]:
    """Stored auctions (after a fetch when `refresh`, at most every 6 hours); none, with a note on
    stderr, when the store cannot be read (the rule-based events still print)."""
    from bot.cli_data import _store
    from bot.store.auctions import stored_auctions

    try:
        store = _store(settings)
    except Exception as exc:  # e.g. the running bot holds the SQLite lock
        print(f"note: stored auctions not read ({exc})", file=sys.stderr)
        return []
    try:
        if refresh:
            _refresh(store, settings)
        return stored_auctions(store, first, last)
    finally:
        store.close()


def _refresh(store: object, settings: Settings) -> None:
    from bot.sources import SourceError
    from bot.sources.auctions import refresh_auctions
    from bot.sources.http import make_client

    try:
        n = refresh_auctions(store, make_client(settings.http_timeout), settings.fiscaldata_api_url, utcnow())
    except SourceError as exc:
        print(f"note: upcoming auctions not fetched ({exc}); showing the stored ones", file=sys.stderr)
        return
    print("upcoming auctions: fetched less than 6 hours ago, not again" if n is None
          else f"upcoming auctions: {n} stored", file=sys.stderr)


def cmd_calendar(args: argparse.Namespace, settings: Settings) -> int:
    """Known events from --from (default: today, US/Eastern) for --days days."""

    if not 1 <= args.days <= MAX_DAYS:
        print(f"--days must be between 1 and {MAX_DAYS}", file=sys.stderr)
        return 1
    first = getattr(args, "from") or eastern_date(utcnow())
    auctions = _auctions(settings, first, first + timedelta(days=args.days), args.refresh)
    if args.json:
        print(json.dumps([as_dict(e, args.lang) for e in events(first, args.days, auctions)], ensure_ascii=False,
                         indent=1))
    else:
        print(calendar_text(first, args.days, auctions, args.lang))
    return 0


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]", date_type: Callable[[str], date]) -> None:
    """Register `calendar` on the CLI's subcommands."""
    sp = sub.add_parser("calendar", help="known liquidity events ahead (tax dates, month/quarter-ends, FOMC, H.4.1, auctions)")
    sp.add_argument("--from", type=date_type, metavar="DATE", help="first day (default: today, US/Eastern)")
    sp.add_argument("--days", type=int, default=14, metavar="N", help=f"number of days (default 14, at most {MAX_DAYS})")
    sp.add_argument("--lang", choices=("en", "zh"), default="en", help="language of the text (default en)")
    sp.add_argument("--refresh", action="store_true",
                    help="fetch FiscalData's upcoming auctions first (at most every 6 hours)")
    sp.add_argument("--json", action="store_true", help='a JSON list of {"date", "event", "why it matters", "typical effect"}')
    sp.set_defaults(func=cmd_calendar)
