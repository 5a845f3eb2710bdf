"""FRED: fredapi when FRED_API_KEY is set, the keyless fredgraph CSV otherwise."""

from __future__ import annotations

import csv
import io
import logging
import math
from datetime import date

import httpx

from bot.catalog import Catalog, SeriesDef
from bot.sources import Rows, Source, SourceError, scale
from bot.sources.http import get, make_client
from bot.units import UnitError, fred_units_to_catalog

log = logging.getLogger(__name__)
DEFAULT_API_URL = "https://api.stlouisfed.org/fred"
DEFAULT_CSV_URL = "https://fred.stlouisfed.org"


def _live(catalog: Catalog) -> list[SeriesDef]:
    return catalog.series_for_source("fred")


class FredApiSource(Source):
    """FRED's API through fredapi (XML). Checks each series' units against the catalog once."""

    name = "fred"

    def __init__(self, catalog: Catalog, api_key: str, root_url: str = DEFAULT_API_URL, timeout: float = 20,
                 client: httpx.Client | None = None):
        from bot.sources.fred_api import PoliteFred  # fredapi pulls in pandas: only when a key is set

        self._catalog = catalog
        self._fred = PoliteFred(api_key, root_url, client or make_client(timeout))
        self._units_ok: set[str] = set()

    def series(self) -> list[SeriesDef]:
        return _live(self._catalog)

    def _check_units(self, sdef: SeriesDef) -> None:
        if sdef.id in self._units_ok:
            return
        info = self._fred.get_series_info(sdef.id)
        published = str(info.get("units", ""))
        unit = fred_units_to_catalog(published)
        if unit != sdef.unit:
            raise UnitError(f"FRED publishes {sdef.id} in {published!r}; the catalog expects {sdef.unit}")
        self._units_ok.add(sdef.id)

    def fetch(self, sdef: SeriesDef, start: date | None) -> Rows:
        try:
            self._check_units(sdef)
            data = self._fred.get_series(sdef.id, observation_start=start.isoformat() if start else None)
        except ValueError as exc:  # fredapi's own "No data exists..." and similar
            if isinstance(exc, UnitError):
                raise
            raise SourceError(str(exc)) from None
        rows = [(ts.strftime("%Y-%m-%d"), float(v)) for ts, v in data.items()
                if v is not None and not math.isnan(float(v))]
        return scale(rows, sdef)


class FredCsvSource(Source):
    """FRED's keyless CSV download (`/graph/fredgraph.csv?id=X&cosd=DATE`)."""

    name = "fred"

    def __init__(self, catalog: Catalog, client: httpx.Client, root_url: str = DEFAULT_CSV_URL):
        self._catalog = catalog
        self._client = client
        self._root = root_url.rstrip("/")
        self.bytes_fetched = 0

    def series(self) -> list[SeriesDef]:
        return _live(self._catalog)

    def fetch(self, sdef: SeriesDef, start: date | None) -> Rows:
        params = {"id": sdef.id}
        if start:
            params["cosd"] = start.isoformat()
        resp = get(self._client, f"{self._root}/graph/fredgraph.csv", params, f"FRED CSV {sdef.id}")
        self.bytes_fetched += len(resp.content)
        return scale(parse_fred_csv(resp.text, sdef.id), sdef)


def parse_fred_csv(text: str, series_id: str) -> list[tuple[str, float]]:
    """Parse a FRED-style CSV: header `observation_date,ID` (or `DATE,ID`, or `date,value`).

    Missing values ('.' or blank) are skipped; a row that is not a date and a number is skipped
    with a log line (one bad row never costs the rest). Dates and values are checked again at ingest.
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise SourceError(f"{series_id}: empty CSV") from None
    if len(header) < 2 or header[0].lower() not in ("observation_date", "date"):
        raise SourceError(f"{series_id}: unexpected CSV header {header[:3]}")
    if header[1] not in (series_id, "value"):
        raise SourceError(f"{series_id}: CSV column is {header[1]!r}, expected {series_id!r} or 'value'")
    rows: list[tuple[str, float]] = []
    for n, rec in enumerate(reader, start=2):
        if not rec or not rec[0].strip():
            continue
        d, raw = rec[0].strip(), (rec[1].strip() if len(rec) > 1 else "")
        if raw in ("", "."):
            continue
        try:
            date.fromisoformat(d)
            rows.append((d, float(raw)))
        except ValueError:
            log.warning("%s: CSV line %d skipped: cannot read %r,%r", series_id, n, d[:40], raw[:40])
    return rows
