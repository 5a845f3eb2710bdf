"""New York Fed markets API (no key): ON RRP and repo (SRF) operation results, reference rates."""

from __future__ import annotations

import html
import logging
import re
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import httpx

from bot.catalog import Catalog, SeriesDef
from bot.sources import Rows, Source, SourceError, scale
from bot.sources.http import get_json

log = logging.getLogger(__name__)
DEFAULT_URL = "https://markets.newyorkfed.org/api"
FIRST_FETCH_DAYS = 120  # history before this comes from FRED (the metric splices the two)

# Repo and reverse repo results share one search endpoint, filtered by operation type.
_OPERATIONS = {"NYFED_RRP": "Reverse Repo", "NYFED_SRF": "Repo"}
_RATES = {"NYFED_SOFR": "secured/sofr", "NYFED_TGCR": "secured/tgcr", "NYFED_EFFR": "unsecured/effr"}


class NyFedSource(Source):
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

    def _get(self, path: str, params: dict[str, str], sdef: SeriesDef) -> dict[str, Any]:
        return get_json(self._client, self._root + path, params, f"NY Fed {sdef.id}")


_TAGS = re.compile(r"<[^>]+>")
_SVE = re.compile(r"small\s+value\s+exercise|\bSVE\b", re.I)
# Regular ON RRP and SRF operations are open to tens of billions; a Small Value Exercise is
# capped at a few hundred million (e.g. $200M on 2024-10-16). A note is the primary signal.
SVE_MAX_LIMIT = 1e9


def is_small_value_exercise(op: dict[str, Any]) -> bool:
    """A test operation (not usage): its note says so (sometimes inside HTML), or its
    operation limit is a test-sized one."""
    note = _TAGS.sub(" ", html.unescape(str(op.get("note") or "")))
    if _SVE.search(note):
        return True
    limit = _number(op.get("operationLimit"))
    return limit is not None and 0 < limit <= SVE_MAX_LIMIT


def is_overnight(op: dict[str, Any]) -> bool:
    """Only overnight operations are ON RRP / SRF usage; term operations are not. An overnight
    operation over a weekend or holiday still says "Overnight" with termCalenderDays >= 2."""
    term = str(op.get("term") or "").strip().lower()
    if term:
        return term == "overnight"
    days = _number(op.get("termCalenderDays"))
    return days is None or days <= 4  # older records without `term`: a long weekend at most


def _number(raw: object) -> float | None:
    if raw is None or isinstance(raw, bool) or raw == "":
        return None
    try:
        return float(str(raw).replace(",", ""))
    except ValueError:
        return None


def operations_by_date(body: dict[str, Any], op_type: str, series_id: str) -> list[tuple[str, float]]:
    """Sum accepted dollars per operation date over overnight, non-test operations of `op_type`.

    The API lists operations newest first and some days have two SRF operations (morning and
    afternoon): they are summed, but an operation listed twice (same `operationId`) counts once.
    A malformed operation is skipped with a log line, never the whole answer. An empty list
    (weekends, holidays) is a normal answer, not an outage.
    """
    try:
        ops = body["repo"]["operations"]
    except (KeyError, TypeError):
        raise SourceError(f"NY Fed {series_id}: body has no repo.operations") from None
    if not isinstance(ops, list):
        raise SourceError(f"NY Fed {series_id}: repo.operations is not a list")
    totals: dict[str, float] = defaultdict(float)
    seen: set[str] = set()
    for op in ops:
        if not isinstance(op, dict) or op.get("operationType") != op_type:
            continue
        if str(op.get("auctionStatus") or "Results").lower() not in ("results", ""):
            continue  # an announcement has no accepted amount yet
        if not is_overnight(op) or is_small_value_exercise(op):
            continue
        day = str(op.get("operationDate", ""))
        amount = _number(op.get("totalAmtAccepted"))
        try:
            date.fromisoformat(day)
        except ValueError:
            amount = None
        if amount is None:
            log.warning("NY Fed %s: skipped operation %r (date %r, totalAmtAccepted %r)", series_id,
                        op.get("operationId"), day, op.get("totalAmtAccepted"))
            continue
        op_id = str(op.get("operationId") or "")
        if op_id in seen:  # listed twice: summing both would double the day's take-up
            log.warning("NY Fed %s: operation %s (%s) listed twice; counted once", series_id, op_id, day)
            continue
        if op_id:
            seen.add(op_id)
        totals[day] += amount
    return sorted(totals.items())


def rates_by_date(body: dict[str, Any], series_id: str) -> list[tuple[str, float]]:
    """Reference rates as (effectiveDate, percentRate); a malformed record is skipped and logged."""
    refs = body.get("refRates")
    if not isinstance(refs, list):
        raise SourceError(f"NY Fed {series_id}: body has no refRates list")
    rows = []
    for r in refs:
        try:
            day = str(r["effectiveDate"])
            date.fromisoformat(day)
            rate = _number(r["percentRate"])
            if rate is None:
                raise ValueError("no rate")
            rows.append((day, rate))
        except (KeyError, TypeError, ValueError):
            log.warning("NY Fed %s: skipped rate record %s", series_id, str(r)[:80])
    return sorted(rows)
