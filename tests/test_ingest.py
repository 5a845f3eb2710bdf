"""Ingest into a real SQLite store: known values, revisions, unit guard, failures isolated."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.ingest import ingest_source
from bot.metrics import compute_metrics, needed_series
from bot.sources.files import FileSource
from bot.sources.fred import FredCsvSource
from bot.sources.http import make_client
from bot.sources.nyfed import NyFedSource
from tests.fakes.sources import FakeNyFed, nyfed_operation
from tests.fakes.http import FakeServer, Reply
from tests.fakes.sources import FakeFred

NOW = lambda: datetime(2026, 11, 1, 12)  # noqa: E731


def test_real_history_known_values(history_store, catalog):
    frames = compute_metrics(catalog, history_store.load_series(needed_series(catalog)))
    assert frames["reserves"].loc["2022-09-28", "value"] == pytest.approx(2.960598e12)
    assert frames["sofr"].loc["2019-09-17", "value"] == 5.25
    assert frames["iorb"].loc["2019-09-19", "value"] == 1.80          # IOER spliced before 2021-07-29
    assert frames["iorb"].loc["2023-07-27", "value"] == 5.40
    assert frames["rrp"].loc["2022-12-30", "value"] == pytest.approx(2553.716e9)
    assert frames["tga_daily"].loc["2023-06-01", "value"] == pytest.approx(22892e6)
    # SOFR 5.25% against IOER 2.10% on the day of the 2019 repo spike: +315 bp.
    assert frames["sofr_iorb_spread"].loc["2019-09-17", "value"] == pytest.approx(315)
    nl = frames["net_liquidity"].loc["2022-09-28", "value"]
    walcl = history_store.latest_map("WALCL")["2022-09-28"]
    tga = history_store.latest_map("WTREGEN")["2022-09-28"]
    rrp = history_store.latest_map("RRPONTSYD")["2022-09-28"]
    assert nl == pytest.approx(walcl - tga - rrp)
    # Weekly H.4.1 numbers dated Wednesday are public on Thursday: never earlier.
    assert str(frames["reserves"].loc["2022-09-28", "known"].date()) == "2022-09-29"


def test_reingest_adds_nothing_and_revisions_are_kept(tmp_path, store, catalog):
    f = tmp_path / "WRESBAL.csv"
    f.write_text("date,value\n2022-09-21,3046233\n2022-09-28,2960598\n")
    src = FileSource(catalog, [tmp_path])
    assert ingest_source(store, src, NOW).added == 2
    assert ingest_source(store, FileSource(catalog, [tmp_path]), NOW).added == 0
    f.write_text("date,value\n2022-09-21,3046233\n2022-09-28,2961000\n2022-10-05,3087000\n")
    report = ingest_source(store, FileSource(catalog, [tmp_path]), lambda: datetime(2026, 11, 2))
    assert report.added == 2
    assert [v for _, v in store.revisions("WRESBAL", "2022-09-28")] == [2.960598e12, 2.961e12]
    assert store.latest_map("WRESBAL")["2022-09-28"] == 2.961e12


def test_a_silent_unit_change_upstream_is_refused(tmp_path, store, catalog):
    (tmp_path / "WTREGEN.csv").write_text("date,value\n2023-06-07,44756\n2023-06-14,60000\n")
    ingest_source(store, FileSource(catalog, [tmp_path]), NOW)
    (tmp_path / "WTREGEN.csv").write_text("date,value\n2023-06-07,44.756\n2023-06-14,60\n2023-06-21,70\n")
    report = ingest_source(store, FileSource(catalog, [tmp_path]), NOW)
    assert report.added == 0 and "did the unit change" in report.errors[0].error
    assert store.latest_map("WTREGEN")["2023-06-07"] == 44756e6  # nothing already stored was lost


def test_one_failing_series_does_not_stop_the_others(store, catalog):
    with FakeServer() as server:
        FakeFred(server, {"WRESBAL": [("2022-09-28", "2960598")], "SOFR": [("2019-09-17", "5.25")]})
        server.faults["/graph/fredgraph.csv"] = [Reply(502, "bad gateway", "text/plain")]
        report = ingest_source(store, FredCsvSource(catalog, make_client(5), server.url), NOW)
    errors = {r.series: r.error for r in report.errors}
    assert "HTTP 502" in errors["WRESBAL"] and "HTTP 404" in errors["WALCL"]
    assert "SOFR" not in errors and store.last_date("SOFR") == "2019-09-17"  # the healthy series still updated
    assert store.last_date("WRESBAL") is None
    log = store.last_fetches()["fred"]
    assert "WRESBAL: FRED CSV WRESBAL: HTTP 502 Bad Gateway" in log["last_error"] and log["last_rows"] == 1
    assert not report.down


def test_nyfed_rows_overlap_and_splice_over_fred(store, catalog):
    with FakeServer() as server:
        FakeNyFed(server, [nyfed_operation("2026-07-31", "Reverse Repo", 2151000000)])
        src = NyFedSource(catalog, make_client(5), server.url + "/api", today=date(2026, 8, 1))
        report = ingest_source(store, src, NOW)
    assert not report.errors
    store.add_observations("RRPONTSYD", [("2026-07-30", 1.076e9), ("2026-07-31", 9.9e9)], source="fred", vintage="v")
    frames = compute_metrics(catalog, store.load_series(needed_series(catalog)))
    # NY Fed wins from its first date on; FRED fills the history before it.
    assert frames["rrp"]["value"].to_dict() == {
        __import__("pandas").Timestamp("2026-07-30"): 1.076e9, __import__("pandas").Timestamp("2026-07-31"): 2.151e9}
