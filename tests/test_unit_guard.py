"""The unit-change guard never refuses a real print, and still refuses a print in the wrong unit.

Real prints: every file in ../shared/data (FRED, H.4.1 and Treasury history, see its PROVENANCE.md)
replayed one print at a time, as daily runs would see them.
"""

from __future__ import annotations

import csv
import logging
from collections import deque
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from bot.catalog import SeriesDef
from bot.ingest import ingest_source
from bot.screen import screen
from bot.sources.files import FileSource

NOW = lambda: datetime(2026, 11, 2, 15)  # noqa: E731
# Units of the files the catalog does not name (PROVENANCE.md). Exchange rates and the S&P 500
# index are no unit we store: they are screened as plain numbers with the percent rules.
OTHER_UNITS = {"GDP": "billions_usd", "TLAACBW027SBOG": "billions_usd", "DGS10": "percent", "DFF": "percent",
               "DEXJPUS": "percent", "DEXUSEU": "percent", "SP500": "percent"}


def _read(path: Path, sdef: SeriesDef) -> list[tuple[str, float]]:
    with path.open() as f:
        return [(r["date"], float(r["value"]) * sdef.factor) for r in csv.DictReader(f)]


def _sdef(catalog, stem: str) -> SeriesDef:
    return catalog.series.get(stem) or SeriesDef(id=stem, source="files", unit=OTHER_UNITS.get(stem, "millions_usd"),
                                                 frequency="daily", lag=0, title=stem)


def _replay(sdef: SeriesDef, rows: list[tuple[str, float]]) -> list[str]:
    """Feed rows one at a time; `stored` is what has been kept so far (its last ~400 days)."""
    stored: dict[str, float] = {}
    order: deque[str] = deque()
    refused = []
    for d, v in rows:
        kept, bad = screen(sdef, [(d, v)], stored, date.fromisoformat(d) + timedelta(days=1))
        refused += [f"{sdef.id} {r}" for r in bad]
        for kd, kv in kept:
            stored[kd] = kv
            order.append(kd)
        cut = (date.fromisoformat(d) - timedelta(days=400)).isoformat()
        while len(order) > 5 and order[0] < cut:
            stored.pop(order.popleft())
    return refused


def test_replaying_every_real_series_one_print_at_a_time_refuses_nothing(shared_data, catalog):
    files = sorted(shared_data.rglob("*.csv"))
    assert len(files) >= 20 and {"RRPONTSYD", "RPONTSYD", "WRESBAL", "TGA_DTS_CLOSE"} <= {p.stem for p in files}
    refused: list[str] = []
    for path in files:
        sdef = _sdef(catalog, path.stem)
        refused += _replay(sdef, _read(path, sdef))
    assert refused == []


def test_on_rrp_falling_to_a_million_after_ten_billion_is_kept(catalog):
    """2020-12-31 $9.651B, then the real $0.001B on 2021-01-04 (refused for four evenings before)."""
    sdef = catalog.series["RRPONTSYD"]
    stored = {"2020-12-29": 0.0, "2020-12-30": 0.0, "2020-12-31": 9.651e9}
    kept, refused = screen(sdef, [("2021-01-04", 0.001e9), ("2021-01-05", 0.0), ("2021-01-06", 0.3e9)], stored,
                           date(2021, 1, 7))
    assert refused == [] and kept[0] == ("2021-01-04", 1e6)


@pytest.mark.parametrize("sid", ["WRESBAL", "WALCL"])
@pytest.mark.parametrize("factor", [1e3, 1e-3])
def test_a_reserves_or_assets_print_1000x_off_is_refused_at_any_recent_date(shared_data, catalog, sid, factor):
    sdef = catalog.series[sid]
    rows = _read(shared_data / "fred" / f"{sid}.csv", sdef)
    for i in range(len(rows) - 150, len(rows)):  # the last ~3 years, each week as the new print
        d, v = rows[i]
        kept, refused = screen(sdef, [(d, v * factor)], dict(rows[i - 60:i]), date.fromisoformat(d) + timedelta(1))
        assert kept == [] and "probable unit change" in refused[0].reason, (d, v * factor)
        assert refused[0].unit_change


def test_a_first_fetch_whose_newest_value_is_1000x_the_others_keeps_the_others(tmp_path, store, catalog, caplog):
    (tmp_path / "WRESBAL.csv").write_text("date,value\n2026-10-07,2893000\n2026-10-14,2901000\n"
                                          "2026-10-21,2889000\n2026-10-28,2889000000\n")
    with caplog.at_level(logging.WARNING):
        report = ingest_source(store, FileSource(catalog, [tmp_path]), NOW)
    assert sorted(store.latest_map("WRESBAL")) == ["2026-10-07", "2026-10-14", "2026-10-21"]
    assert report.results[0].refused == 1 and not report.errors
    assert any("2026-10-28" in r.getMessage() and "probable unit change" in r.getMessage() for r in caplog.records)


def test_an_old_date_revised_1000x_is_refused_alone_and_no_vintage_stored(tmp_path, store, catalog, caplog):
    (tmp_path / "WRESBAL.csv").write_text("date,value\n2026-10-07,2893000\n2026-10-14,2901000\n2026-10-21,2889000\n")
    ingest_source(store, FileSource(catalog, [tmp_path]), NOW)
    (tmp_path / "WRESBAL.csv").write_text("date,value\n2026-10-07,2893000\n2026-10-14,2901000000\n"
                                          "2026-10-21,2889500\n2026-10-28,2875000\n")
    with caplog.at_level(logging.WARNING):
        report = ingest_source(store, FileSource(catalog, [tmp_path]), NOW)
    stored = store.latest_map("WRESBAL")
    assert stored["2026-10-14"] == 2.901e12 and len(store.revisions("WRESBAL", "2026-10-14")) == 1
    assert stored["2026-10-21"] == 2.8895e12 and stored["2026-10-28"] == 2.875e12  # a real revision, a new print
    assert report.results[0].refused == 1
    assert any("2026-10-14" in r.getMessage() and "a revision to 1e+03x" in r.getMessage() for r in caplog.records)
