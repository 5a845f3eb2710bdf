"""Source adapters against local fakes speaking the real wire formats."""

from __future__ import annotations

from datetime import date

import pytest

from bot.sources import SourceError
from bot.sources.fiscaldata import FiscalDataSource
from bot.sources.files import FileSource
from bot.sources.fred import FredApiSource, FredCsvSource
from bot.sources.http import make_client
from bot.sources.nyfed import NyFedSource
from bot.units import UnitError
from tests.fakes.http import FakeServer, Reply
from tests.fakes.sources import FakeFred, fiscal_row, nyfed_operation, nyfed_rate

WRESBAL = [("2022-09-21", "3046233"), ("2022-09-28", "2960598"), ("2022-10-05", ".")]


@pytest.fixture
def server():
    with FakeServer() as s:
        yield s


def test_fredapi_reads_xml_converts_millions_and_skips_dots(server, catalog):
    FakeFred(server, {"WRESBAL": WRESBAL})
    src = FredApiSource(catalog, "k" * 32, server.url + "/fred", timeout=5)
    rows = src.fetch(catalog.series["WRESBAL"], None)
    assert rows == [("2022-09-21", 3.046233e12), ("2022-09-28", 2.960598e12)]
    # The key travels in the query string (as fredapi sends it) and the units were checked once.
    assert server.hits("/fred/series")[0].query["api_key"] == "k" * 32


def test_fredapi_asks_only_for_new_observations(server, catalog):
    FakeFred(server, {"WRESBAL": WRESBAL})
    src = FredApiSource(catalog, "k" * 32, server.url + "/fred", timeout=5)
    rows = src.fetch(catalog.series["WRESBAL"], date(2022, 9, 28))
    assert [d for d, _ in rows] == ["2022-09-28"]
    assert server.hits("/fred/series/observations")[0].query["observation_start"] == "2022-09-28"


def test_fredapi_refuses_a_unit_that_does_not_match_the_catalog(server, catalog):
    FakeFred(server, {"WRESBAL": WRESBAL}, units={"WRESBAL": "Billions of U.S. Dollars"})
    src = FredApiSource(catalog, "k" * 32, server.url + "/fred", timeout=5)
    with pytest.raises(UnitError, match="Billions"):
        src.fetch(catalog.series["WRESBAL"], None)


def test_fredapi_http_error_and_timeout_are_clear_and_keyless(server, catalog):
    FakeFred(server, {"WRESBAL": WRESBAL})
    server.faults["/fred/series"] = [Reply(500, "<html>oops</html>", "text/html")]
    src = FredApiSource(catalog, "SECRETKEY" * 4, server.url + "/fred", timeout=0.5)
    with pytest.raises(SourceError) as err:
        src.fetch(catalog.series["WRESBAL"], None)
    assert "HTTP 500" in str(err.value) and "SECRETKEY" not in str(err.value)
    server.faults["/fred/series"] = [Reply(200, "<x/>", "text/xml", delay=2)]
    with pytest.raises(SourceError, match="network error|timed out"):
        src.fetch(catalog.series["WRESBAL"], None)


def test_keyless_csv_both_header_styles(server, catalog):
    fred = FakeFred(server, {"SOFR": [("2019-09-16", "2.43"), ("2019-09-17", "5.25"), ("2019-09-18", ".")]})
    src = FredCsvSource(catalog, make_client(5), server.url)
    assert src.fetch(catalog.series["SOFR"], None) == [("2019-09-16", 2.43), ("2019-09-17", 5.25)]
    fred.csv_header = "DATE"  # the header before Dec 2024
    assert src.fetch(catalog.series["SOFR"], date(2019, 9, 17)) == [("2019-09-17", 5.25)]
    assert server.hits("/graph/fredgraph.csv")[-1].query == {"id": "SOFR", "cosd": "2019-09-17"}


@pytest.mark.parametrize("body,message", [
    ("<html>maintenance</html>", "unexpected CSV header"),
    ("observation_date,SOFR\n2019-09-17,abc\n", "line 2"),
    ("observation_date,WRESBAL\n2019-09-17,1\n", "CSV column is 'WRESBAL'"),
])
def test_keyless_csv_malformed_bodies(server, catalog, body, message):
    server.routes["/graph/fredgraph.csv"] = lambda req: Reply(200, body, "text/csv")
    src = FredCsvSource(catalog, make_client(5), server.url)
    with pytest.raises(SourceError, match=message):
        src.fetch(catalog.series["SOFR"], None)


def test_keyless_csv_5xx_and_dead_network(catalog, server):
    server.faults["/graph/fredgraph.csv"] = [Reply(503, "busy", "text/plain")]
    src = FredCsvSource(catalog, make_client(2), server.url)
    with pytest.raises(SourceError, match="FRED CSV SOFR: HTTP 503"):
        src.fetch(catalog.series["SOFR"], None)
    dead = FredCsvSource(catalog, make_client(2), "http://127.0.0.1:9")
    with pytest.raises(SourceError, match="network error"):
        dead.fetch(catalog.series["SOFR"], None)


def test_nyfed_operations_sum_per_day_and_skip_test_operations(server, catalog):
    ops = [nyfed_operation("2025-12-31", "Repo", 25e9, op_id="am"), nyfed_operation("2025-12-31", "Repo", 49.4e9, op_id="pm"),
           nyfed_operation("2025-12-30", "Repo", 1e6, small="Y"), nyfed_operation("2025-12-31", "Reverse Repo", 1e11)]
    server.routes["/api/rp/results/search.json"] = lambda req: Reply(200, {"repo": {"operations": ops}})
    src = NyFedSource(catalog, make_client(5), server.url + "/api", today=date(2026, 1, 2))
    assert src.fetch(catalog.series["NYFED_SRF"], date(2025, 12, 20)) == [("2025-12-31", 74.4e9)]
    q = server.hits("/api/rp/results/search.json")[0].query
    assert q == {"startDate": "2025-12-20", "endDate": "2026-01-02", "operationTypes": "Repo"}


def test_nyfed_holiday_empty_list_is_not_an_error(server, catalog):
    server.routes["/api/rp/results/search.json"] = lambda req: Reply(200, {"repo": {"operations": []}})
    src = NyFedSource(catalog, make_client(5), server.url + "/api", today=date(2026, 1, 1))
    assert src.fetch(catalog.series["NYFED_RRP"], None) == []


def test_nyfed_rates_and_malformed_body(server, catalog):
    server.routes["/api/rates/secured/sofr/search.json"] = lambda req: Reply(
        200, {"refRates": [nyfed_rate("2019-09-17", "SOFR", 5.25), nyfed_rate("2019-09-16", "SOFR", 2.43)]})
    src = NyFedSource(catalog, make_client(5), server.url + "/api", today=date(2019, 9, 18))
    assert src.fetch(catalog.series["NYFED_SOFR"], None) == [("2019-09-16", 2.43), ("2019-09-17", 5.25)]
    assert server.hits("/api/rates/secured/sofr/search.json")[0].query["type"] == "rate"
    server.routes["/api/rates/secured/sofr/search.json"] = lambda req: Reply(200, {"unexpected": True})
    with pytest.raises(SourceError, match="no refRates"):
        src.fetch(catalog.series["NYFED_SOFR"], None)
    server.routes["/api/rates/secured/sofr/search.json"] = lambda req: Reply(200, "not json", "text/html")
    with pytest.raises(SourceError, match="not JSON"):
        src.fetch(catalog.series["NYFED_SOFR"], None)


def test_fiscaldata_every_label_format_and_pagination(server, catalog):
    pages = {
        "1": [fiscal_row("2021-09-01", "Federal Reserve Account", "200000", "210000"),
              fiscal_row("2022-01-03", "Treasury General Account (TGA)", "700,000", "706000")],
        "2": [fiscal_row("2023-06-01", "Treasury General Account (TGA) Opening Balance", "23000", None),
              fiscal_row("2023-06-01", "Treasury General Account (TGA) Closing Balance", "22892", None),
              fiscal_row("2023-06-01", "Total TGA Deposits (Table II)", "1", None)],
    }
    server.routes["/v1/accounting/dts/operating_cash_balance"] = lambda req: Reply(
        200, {"data": pages[req.query["page[number]"]], "meta": {"total-pages": 2}})
    src = FiscalDataSource(catalog, make_client(5), server.url)
    rows = src.fetch(catalog.series["TGA_DTS_CLOSE"], date(2021, 1, 1))
    assert rows == [("2021-09-01", 210000e6), ("2022-01-03", 706000e6), ("2023-06-01", 22892e6)]
    assert len(server.hits("/v1/accounting/dts/operating_cash_balance")) == 2


def test_file_source_reads_both_headers_and_skips_unchanged_files(tmp_path, catalog):
    (tmp_path / "WRESBAL.csv").write_text("observation_date,WRESBAL\n2022-09-28,2960598\n")
    (tmp_path / "SOFR.csv").write_text("date,value\n2019-09-17,5.25\n")
    src = FileSource(catalog, [tmp_path])
    assert {s.id for s in src.series()} == {"WRESBAL", "SOFR"}
    assert src.fetch(catalog.series["WRESBAL"], None) == [("2022-09-28", 2.960598e12)]
    assert src.fetch(catalog.series["WRESBAL"], date(2022, 9, 1)) == []  # unchanged since the last read
    with pytest.raises(SourceError, match="not a directory"):
        FileSource(catalog, [tmp_path / "missing"])
