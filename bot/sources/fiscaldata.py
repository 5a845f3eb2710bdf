"""Treasury FiscalData: Daily Treasury Statement, TGA closing balance (millions, as strings)."""

from __future__ import annotations

from datetime import date

import httpx

from bot.catalog import Catalog, SeriesDef
from bot.sources import Rows, SourceError, scale
from bot.sources.http import get_json

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


class FiscalDataSource:
    name = "fiscaldata"

    def __init__(self, catalog: Catalog, client: httpx.Client, root_url: str = DEFAULT_URL):
        self._catalog = catalog
        self._client = client
        self._root = root_url.rstrip("/")

    def series(self) -> list[SeriesDef]:
        return self._catalog.series_for_source("fiscaldata")

    def fetch(self, sdef: SeriesDef, start: date | None) -> Rows:
        start = max(start or FIRST_DATE, FIRST_DATE)
        records: list[dict] = []
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


def tga_closing_balances(records: list[dict]) -> list[tuple[str, float]]:
    """One closing balance per record date from DTS operating-cash rows, any label format."""
    best: dict[str, tuple[int, float]] = {}
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
        except ValueError:
            raise SourceError(f"FiscalData TGA: cannot read {day!r} {field}={raw!r}") from None
        if day not in best or rank > best[day][0]:
            best[day] = (rank, value)
    return sorted((d, v) for d, (_, v) in best.items())
