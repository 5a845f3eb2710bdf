"""Build the pieces from settings: sources, store, rules. No logic of its own."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from bot.catalog import Catalog
from bot.config import Settings
from bot.pace import StoreSlots, shared_pacer
from bot.sources import Source
from bot.sources.fiscaldata import FiscalDataSource
from bot.sources.files import FileSource
from bot.sources.fred import FredApiSource, FredCsvSource
from bot.sources.http import make_client
from bot.sources.nyfed import NyFedSource

if TYPE_CHECKING:
    from bot.store import Storage


def _open_store(settings: Settings) -> "Storage":
    from bot.store import open_store  # on first paced request only (the store imports pandas)

    return open_store(settings)


def build_sources(settings: Settings, catalog: Catalog, data_dirs: list[str] | None,
                  client: httpx.Client | None = None) -> list[Source]:
    """The file source when --data is given; otherwise FRED (API or CSV), NY Fed and FiscalData."""
    if data_dirs:
        return [FileSource(catalog, [Path(d) for d in data_dirs])]
    client = client or make_client(settings.http_timeout)
    # Another process on the same database (a `fetch` beside `run`) shares FRED's pace through it.
    shared_pacer().shared = StoreSlots(lambda: _open_store(settings))
    fred: Source
    if settings.fred_api_key:
        fred = FredApiSource(catalog, settings.secret("fred_api_key") or "", settings.fred_api_url,
                             client=client)
    else:
        fred = FredCsvSource(catalog, client, settings.fred_csv_url)
    return [fred, NyFedSource(catalog, client, settings.nyfed_api_url),
            FiscalDataSource(catalog, client, settings.fiscaldata_api_url)]
