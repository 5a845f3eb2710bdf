"""New York Fed markets API (no key): ON RRP and repo (SRF) operation results, reference rates."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import httpx

from bot.catalog import Catalog, SeriesDef
from bot.sources import Rows, SourceError, scale
from bot.sources.http import get_json

DEFAULT_URL = "https://markets.newyorkfed.org/api"
FIRST_FETCH_DAYS = 120  # history before this comes from FRED (the metric splices the two)

# Repo and reverse repo results share one search endpoint, filtered by operation type.
_OPERATIONS = {"NYFED_RRP": "Reverse Repo", "NYFED_SRF": "Repo"}
_RATES = {"NYFED_SOFR": "secured/sofr", "NYFED_TGCR": "secured/tgcr", "NYFED_EFFR": "unsecured/effr"}


class NyFedSource:
    name = "nyfed"

    def __init__(self, catalog: Catalog, client: httpx.Client, root_url: str = DEFAULT_URL,
                 today: date | None = None):
        self._catalog = catalog
        self._client = client
        self._root = root_url.rstrip("/")
        self._today = today

    def series(self) -> list[SeriesDef]:
        return self._catalog.series_for_source("nyfed")

    def fetch(self, sdef: SeriesDef, start: date | None) -> Rows:
        end = self._today or date.today()
        start = start or end - timedelta(days=FIRST_FETCH_DAYS)
        params = {"startDate": start.isoformat(), "endDate": end.isoformat()}
        if sdef.id in _OPERATIONS:
            op_type = _OPERATIONS[sdef.id]
            body = self._get("/rp/results/search.json", params | {"operationTypes": op_type}, sdef)
            return scale(operations_by_date(body, op_type, sdef.id), sdef)
        if sdef.id in _RATES:
            body = self._get(f"/rates/{_RATES[sdef.id]}/search.json", params | {"type": "rate"}, sdef)
            return scale(rates_by_date(body, sdef.id), sdef)
        raise SourceError(f"NY Fed: no endpoint known for {sdef.id}")

    def _get(self, path: str, params: dict, sdef: SeriesDef) -> dict:
        return get_json(self._client, self._root + path, params, f"NY Fed {sdef.id}")


def operations_by_date(body: dict, op_type: str, series_id: str) -> list[tuple[str, float]]:
    """Sum accepted dollars per operation date; small-value test operations are not usage.

    An empty list (weekends, holidays) is a normal answer, not an outage.
    """
    try:
        ops = body["repo"]["operations"]
    except (KeyError, TypeError):
        raise SourceError(f"NY Fed {series_id}: body has no repo.operations") from None
    totals: dict[str, float] = defaultdict(float)
    for op in ops:
        if not isinstance(op, dict) or op.get("operationType") != op_type:
            continue
        if str(op.get("isSmallValue", "")).upper() == "Y":
            continue
        day = str(op.get("operationDate", ""))
        try:
            date.fromisoformat(day)
            totals[day] += float(op.get("totalAmtAccepted", 0) or 0)
        except (TypeError, ValueError):
            raise SourceError(f"NY Fed {series_id}: bad operation {op.get('operationId')!r}") from None
    return sorted(totals.items())


def rates_by_date(body: dict, series_id: str) -> list[tuple[str, float]]:
    """Reference rates as (effectiveDate, percentRate)."""
    refs = body.get("refRates")
    if not isinstance(refs, list):
        raise SourceError(f"NY Fed {series_id}: body has no refRates list")
    rows = []
    for r in refs:
        try:
            day = str(r["effectiveDate"])
            date.fromisoformat(day)
            rows.append((day, float(r["percentRate"])))
        except (KeyError, TypeError, ValueError):
            raise SourceError(f"NY Fed {series_id}: bad rate record {str(r)[:80]}") from None
    return sorted(rows)
