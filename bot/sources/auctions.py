"""Treasury FiscalData upcoming auctions (`/v1/accounting/od/upcoming_auctions`), for the calendar.

Each row is one announced auction: `record_date, security_type, security_term, reopening, cusip,
offering_amt (dollars, "null" until announced), announcemt_date (the API's spelling), auction_date,
issue_date`, every value a string. The table keeps earlier days' snapshots, so the newest
record_date wins per auction. Fetched at most every REFRESH and stored; /calendar never fetches.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from bot.liquidity_calendar import Auction
from bot.sources import SourceError
from bot.sources.http import get_json

log = logging.getLogger(__name__)
ENDPOINT = "/v1/accounting/od/upcoming_auctions"
REFRESH = timedelta(hours=6)          # auctions are announced days ahead: four looks a day are plenty
META_KEY = "auctions_fetched_at"
PAGE_SIZE = 200


def parse_auctions(records: list[dict[str, Any]]) -> list[tuple[str, Auction]]:
    """(cusip, Auction) per auction, the newest snapshot's row; an unreadable row is skipped alone."""
    best: dict[tuple[str, str], tuple[str, Auction]] = {}
    for rec in records:
        try:
            cusip, snap = str(rec["cusip"]), str(rec.get("record_date") or "")
            raw = rec.get("offering_amt")
            amount = None if raw in (None, "", "null") else float(str(raw).replace(",", ""))
            a = Auction(date.fromisoformat(str(rec["auction_date"])), date.fromisoformat(str(rec["issue_date"])),
                        str(rec["security_type"]), str(rec["security_term"]), amount)
        except (KeyError, ValueError) as exc:
            log.warning("FiscalData upcoming auctions: skipped an unreadable row (%s)", exc)
            continue
        key = (cusip, a.auction_date.isoformat())
        if key not in best or snap >= best[key][0]:
            best[key] = (snap, a)
    return [(cusip, a) for (cusip, _), (_, a) in sorted(best.items(), key=lambda kv: (kv[1][1].issue_date, kv[0]))]


def fetch_upcoming(client: httpx.Client, root_url: str, today: date) -> list[tuple[str, Auction]]:
    """The announced auctions settling from `today` on (one request under the host's pace)."""
    params = {"filter": f"issue_date:gte:{today.isoformat()}", "sort": "-record_date", "page[size]": str(PAGE_SIZE)}
    body = get_json(client, root_url.rstrip("/") + ENDPOINT, params, "FiscalData upcoming auctions")
    data = body.get("data")
    if not isinstance(data, list):
        raise SourceError("FiscalData upcoming auctions: body has no data list")
    return parse_auctions(data)


def due(store: Any, now: datetime) -> bool:
    """Whether the last fetch (meta `auctions_fetched_at`) is older than REFRESH (now: naive UTC)."""
    last = store.get_meta(META_KEY)
    return not last or now - datetime.fromisoformat(last) >= REFRESH


def save(store: Any, auctions: list[tuple[str, Auction]], now: datetime) -> int:
    """Store a fetched answer and when it was fetched."""
    stamp = now.isoformat(timespec="seconds")
    n: int = store.save_auctions(auctions, stamp)
    store.set_meta(META_KEY, stamp)
    return n


def refresh_auctions(store: Any, client: httpx.Client, root_url: str, now: datetime) -> int | None:
    """Fetch and store the upcoming auctions unless the last fetch is younger than REFRESH (now: naive
    UTC); the number stored, or None when it was not time yet. Raises SourceError on failure."""
    if not due(store, now):
        return None
    return save(store, fetch_upcoming(client, root_url, now.date() - timedelta(days=1)), now)
