"""Poisoned or absurd rows are refused at the edge, each with a log line; the rest is kept."""

from __future__ import annotations

import logging
from datetime import date, datetime

import pytest

from bot.ingest import ingest_source
from bot.screen import screen
from bot.sources.fred import FredCsvSource
from bot.sources.http import make_client
from bot.sources.nyfed import NyFedSource
from tests.fakes.http import FakeServer, Reply
from tests.fakes.sources import FakeFiscalData, FakeFred, FakeNyFed, fiscal_row, nyfed_operation

NOW = lambda: datetime(2026, 11, 2, 15)  # noqa: E731  (10:00 in New York on Monday 2026-11-02)


@pytest.fixture
def server():
    with FakeServer() as s:
        yield s


def _fred(server, catalog, rows):
    FakeFred(server, {"WRESBAL": rows})
    return FredCsvSource(catalog, make_client(5), server.url)


def test_each_kind_of_poisoned_row_is_refused_and_the_rest_kept(server, store, catalog, caplog):
    rows = [("2026-10-14", "2893000"), ("2026-10-21", "2901000"),
            ("2099-01-07", "2950000"),          # the future: would freeze the series
            ("2300-01-01", "2950000"),          # beyond pandas' calendar: crashed every evaluation
            ("2026-W43-3", "2950000"),          # an ISO-week date
            ("2026-02-30", "2950000"),          # no such day
            ("1970-01-07", "2950000"),          # before the series starts
            ("2026-10-07", "inf"), ("2026-09-30", "-5"), ("2026-09-23", "nan")]
    src = _fred(server, catalog, rows)
    with caplog.at_level(logging.WARNING):
        report = ingest_source(store, src, NOW)
    stored = store.latest_map("WRESBAL")
    assert stored == {"2026-10-14": 2.893e12, "2026-10-21": 2.901e12}
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage() or "skipped" in r.getMessage()]
    assert len(refusals) == 8 and all("WRESBAL" in m for m in refusals), refusals
    assert any("2099-01-07" in m and "after tomorrow" in m for m in refusals)
    assert any("negative" in m for m in refusals) and any("finite" in m for m in refusals)
    # The series itself did not fail, and the next fetch still asks from October.
    assert not [r for r in report.errors if r.series == "WRESBAL"]
    FakeFred(server, {"WRESBAL": [*rows, ("2026-10-28", "2889000")]})
    ingest_source(store, src, NOW)
    assert store.last_date("WRESBAL") == "2026-10-28"
    asked = [h.query for h in server.hits("/graph/fredgraph.csv") if h.query["id"] == "WRESBAL"]
    assert "2026-09-01" < asked[-1]["cosd"] < "2026-10-28"


def test_a_new_print_1000x_off_is_refused_as_a_unit_change(server, store, catalog, caplog):
    src = _fred(server, catalog, [("2026-10-14", "2893000"), ("2026-10-21", "2901")])  # billions, not millions
    with caplog.at_level(logging.WARNING):
        ingest_source(store, src, NOW)  # first import: nothing stored to compare with yet
    store2_rows = [("2026-10-14", "2893000"), ("2026-10-21", "2901000"), ("2026-10-28", "2889")]
    FakeFred(server, {"WRESBAL": store2_rows})
    store.add_observations("WRESBAL", [("2026-10-21", 2.901e12)], source="fred", vintage="fix")
    with caplog.at_level(logging.WARNING):
        ingest_source(store, src, NOW)
    assert "2026-10-28" not in store.latest_map("WRESBAL")
    assert any("probable unit change" in r.getMessage() and "2026-10-28" in r.getMessage() for r in caplog.records)


def test_a_stored_future_date_does_not_freeze_the_series(server, store, catalog):
    store.add_observations("WRESBAL", [("2099-01-07", 2.95e12)], source="old version", vintage="v0")
    src = _fred(server, catalog, [("2026-10-21", "2901000")])
    ingest_source(store, src, NOW)
    assert "2026-10-21" in store.latest_map("WRESBAL")


def test_booleans_and_junk_from_a_json_source_are_skipped(server, store, catalog):
    ops = [nyfed_operation("2026-10-30", "Reverse Repo", 5e9, op_id="ok"),
           nyfed_operation("2026-10-29", "Reverse Repo", True, op_id="bool"),      # type: ignore[arg-type]
           nyfed_operation("2026-10-28", "Reverse Repo", -3e9, op_id="negative")]
    FakeNyFed(server, ops)
    src = NyFedSource(catalog, make_client(5), server.url + "/api", today=date(2026, 11, 2))
    ingest_source(store, src, NOW)
    assert store.latest_map("NYFED_RRP") == {"2026-10-30": 5e9}


def test_screen_is_pure_and_explains(catalog):
    sdef = catalog.series["SOFR"]
    kept, refused = screen(sdef, [("2026-10-30", 3.9), ("2026-10-31", True), ("2026-11-04", 3.9)],
                           {"2026-10-29": 3.91}, date(2026, 11, 3))
    assert kept == [("2026-10-30", 3.9)]
    assert [r.reason for r in refused] == ["not a finite number", "dated after tomorrow (2026-11-03)"]


def test_secrets_echoed_by_a_source_never_reach_the_store(server, store, catalog):
    from bot.sources.fred import FredApiSource

    key = "abcdef0123456789abcdef0123456789"
    server.routes["/fred/series"] = lambda req: Reply(
        500, f'<?xml version="1.0"?><error code="500" message="upstream said: GET /fred/series?api_key={key}"/>',
        "text/xml")
    src = FredApiSource(catalog, key, server.url + "/fred", timeout=5)
    report = ingest_source(store, src, NOW, secrets=[key])
    assert report.errors and all(key not in (r.error or "") for r in report.results)
    assert key not in (store.last_fetches()["fred"]["last_error"] or "")
    assert "***" in store.last_fetches()["fred"]["last_error"]


# ---- answers that are wrong but plausible (issue 19, point 6) ----------------------------------
def test_the_same_date_twice_in_one_answer_is_refused_not_last_one_wins(server, store, catalog, caplog):
    store.add_observations("WRESBAL", [("2026-10-14", 2.893e12)], source="fred", vintage="v0")
    rows = [("2026-10-14", "2893000"), ("2026-10-21", "2901000"), ("2026-10-21", "2991000"),  # which one?
            ("2026-10-28", "2889000"), ("2026-10-28", "2889000")]                            # the same row again
    with caplog.at_level(logging.WARNING):
        report = ingest_source(store, _fred(server, catalog, rows), NOW)
    assert store.latest_map("WRESBAL") == {"2026-10-14": 2.893e12, "2026-10-28": 2.889e12}
    assert len(store.revisions("WRESBAL", "2026-10-28")) == 1 and not [r for r in report.errors if r.series == "WRESBAL"]
    lines = [r.getMessage() for r in caplog.records if "WRESBAL" in r.getMessage()]
    assert sum("2026-10-21" in m and "2 times in one answer with different values" in m for m in lines) == 2
    assert sum("2026-10-28" in m and "kept once" in m for m in lines) == 1


def test_one_operation_listed_twice_is_counted_once(server, store, catalog, caplog):
    ops = [nyfed_operation("2026-10-31", "Repo", 29.4e9, op_id="RP 103126 2"),
           nyfed_operation("2026-10-31", "Repo", 29.4e9, op_id="RP 103126 2"),   # the same operation again
           nyfed_operation("2026-10-31", "Repo", 20.95e9, op_id="RP 103126 1")]  # the morning one: summed
    FakeNyFed(server, ops)
    src = NyFedSource(catalog, make_client(5), server.url + "/api", today=date(2026, 11, 2))
    with caplog.at_level(logging.WARNING):
        ingest_source(store, src, NOW)
    assert store.latest_map("NYFED_SRF") == {"2026-10-31": pytest.approx(50.35e9)}
    assert any("RP 103126 2" in r.getMessage() and "listed twice" in r.getMessage() for r in caplog.records)


def test_one_unreadable_fiscaldata_row_is_skipped_alone(server, store, catalog, caplog):
    from bot.sources.fiscaldata import FiscalDataSource

    close = "Treasury General Account (TGA) Closing Balance"
    FakeFiscalData(server, [fiscal_row("2026-10-28", close, "850000", None),
                            fiscal_row("2026-10-29", close, "n/a", None),
                            fiscal_row("2026-10-30", close, "861000", None),
                            fiscal_row("2026-10-30", close, "16000", None)])  # listed twice, differently
    with caplog.at_level(logging.WARNING):
        report = ingest_source(store, FiscalDataSource(catalog, make_client(5), server.url), NOW)
    assert not report.errors and store.latest_map("TGA_DTS_CLOSE") == {"2026-10-28": 8.5e11}
    assert any("n/a" in r.getMessage() and "2026-10-29" in r.getMessage() for r in caplog.records)
    assert any("2026-10-30 listed twice" in r.getMessage() and "refused" in r.getMessage() for r in caplog.records)
