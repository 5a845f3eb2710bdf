"""Treasury FiscalData: Daily Treasury Statement, TGA closing balance (millions, as strings)."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import httpx

from bot.catalog import Catalog, SeriesDef
from bot.sources import Rows, Source, SourceError, scale
from bot.sources.http import get_json

log = logging.getLogger(__name__)
DEFAULT_URL = "https://api.fiscaldata.treasury.gov/services/api/fiscal_service"
ENDPOINT = "/v1/accounting/dts/operating_cash_balance"
# First day of the DTS format with an explicit closing-balance row.
FIRST_DATE = date(2022, 4, 18)
PAGE_SIZE = 1000
MAX_PAGES = 20

# The TGA row's label changed over time; the newest format puts the close in open_today_bal.
_LABELS = {
    "treasury general account (tga) closing balance": ("open_today_bal", 3),
    "treasury general account (tga)": ("close_today_bal", 2),
    "federal reserve account": ("close_today_bal", 1),
}


class FiscalDataSource(Source):
    name = "fiscaldata"

    def __init__(self, catalog: Catalog, client: httpx.Client, root_url: str = DEFAULT_URL):
        self._catalog = catalog
        self._client = client
        self._root = root_url.rstrip("/")

    def series(self) -> list[SeriesDef]:
        return self._catalog.series_for_source("fiscaldata")

    def fetch(self, sdef: SeriesDef, start: date | None) -> Rows:
        start = max(start or FIRST_DATE, FIRST_DATE)
        records: list[dict[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            params = {"filter": f"record_date:gte:{start.isoformat()}", "sort": "record_date",
                      "page[size]": str(PAGE_SIZE), "page[number]": str(page),
                      "fields": "record_date,account_type,open_today_bal,close_today_bal"}
            body = get_json(self._client, self._root + ENDPOINT, params, f"FiscalData {sdef.id}")
            data = body.get("data")
            if not isinstance(data, list):
                raise SourceError(f"FiscalData {sdef.id}: body has no data list")
            records.extend(data)
            pages = (body.get("meta") or {}).get("total-pages") or 1
            if page >= int(pages):
                break
        return scale(tga_closing_balances(records), sdef)


def tga_closing_balances(records: list[dict[str, Any]]) -> list[tuple[str, float]]:
    """One closing balance per record date from DTS operating-cash rows, any label format. An
    unreadable row is skipped alone; a date listed twice with different balances is dropped."""
    best: dict[str, tuple[int, float]] = {}
    conflicts: set[str] = set()
    for rec in records:
        label = str(rec.get("account_type", "")).strip().lower()
        if label not in _LABELS:
            continue
        field, rank = _LABELS[label]
        raw = rec.get(field)
        if raw in (None, "", "null"):
            continue
        day = str(rec.get("record_date", ""))
        try:
            date.fromisoformat(day)
            value = float(str(raw).replace(",", ""))
        except ValueError:  # one unreadable row ("n/a") is skipped alone, never the whole series
            log.warning("FiscalData TGA: skipped row %r %s=%r (not a date and a number)", day, field, raw)
            continue
        if day in best and rank == best[day][0]:  # the same row twice: which one is right?
            if value != best[day][1]:
                conflicts.add(day)
            log.warning("FiscalData TGA: %s listed twice (%s=%r and %r)%s", day, field, raw, best[day][1],
                        "; date refused" if value != best[day][1] else "; kept once")
        elif day not in best or rank > best[day][0]:
            best[day] = (rank, value)
    return sorted((d, v) for d, (_, v) in best.items() if d not in conflicts)
