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
from tests.fakes.sources import FakeFiscalData, FakeFred, FakeNyFed, fiscal_row, nyfed_fixture, nyfed_operation, nyfed_rate

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
    src = FredApiSource(catalog, "SECRETKEY" * 4, server.url + "/fred", timeout=1)
    with pytest.raises(SourceError) as err:
        src.fetch(catalog.series["WRESBAL"], None)
    assert "HTTP 500" in str(err.value) and "SECRETKEY" not in str(err.value)
    server.faults["/fred/series"] = [Reply(200, "<x/>", "text/xml", delay=2)]
    with pytest.raises(SourceError, match=r"network error|timed out"):
        src.fetch(catalog.series["WRESBAL"], None)


def test_fredapi_goes_through_the_polite_client(server, catalog):
    """With a key, FRED requests carry our User-Agent and count against the per-host budget."""
    from bot.budget import Budget

    FakeFred(server, {"WRESBAL": WRESBAL})
    src = FredApiSource(catalog, "SECRETKEY" * 4, server.url + "/fred", client=make_client(5, Budget(per_minute=3)))
    src.fetch(catalog.series["WRESBAL"], None)  # series info + observations: 2 requests
    assert all(h.headers["user-agent"].startswith("liquidity-bot/") for h in server.requests)
    src.fetch(catalog.series["WRESBAL"], None)  # the 4th request in a minute is refused
    with pytest.raises(SourceError, match="politeness budget") as err:
        src.fetch(catalog.series["WRESBAL"], None)
    assert "SECRETKEY" not in str(err.value) and len(server.hits("/fred/series/observations")) == 2


def test_keyless_csv_both_header_styles(server, catalog):
    fred = FakeFred(server, {"SOFR": [("2019-09-16", "2.43"), ("2019-09-17", "5.25"), ("2019-09-18", ".")]})
    src = FredCsvSource(catalog, make_client(5), server.url)
    assert src.fetch(catalog.series["SOFR"], None) == [("2019-09-16", 2.43), ("2019-09-17", 5.25)]
    fred.csv_header = "DATE"  # the header before Dec 2024
    assert src.fetch(catalog.series["SOFR"], date(2019, 9, 17)) == [("2019-09-17", 5.25)]
    assert server.hits("/graph/fredgraph.csv")[-1].query == {"id": "SOFR", "cosd": "2019-09-17"}


@pytest.mark.parametrize("body,message", [
    ("<html>maintenance</html>", "unexpected CSV header"),
    ("observation_date,WRESBAL\n2019-09-17,1\n", "CSV column is 'WRESBAL'"),
])
def test_keyless_csv_malformed_bodies(server, catalog, body, message):
    server.routes["/graph/fredgraph.csv"] = lambda req: Reply(200, body, "text/csv")
    src = FredCsvSource(catalog, make_client(5), server.url)
    with pytest.raises(SourceError, match=message):
        src.fetch(catalog.series["SOFR"], None)


def test_keyless_csv_bad_row_is_skipped_not_fatal(server, catalog, caplog):
    server.routes["/graph/fredgraph.csv"] = lambda req: Reply(
        200, "observation_date,SOFR\n2019-09-16,2.43\n2019-09-17,abc\n2019-09-18,\n2019-09-19,2.30\n", "application/csv")
    src = FredCsvSource(catalog, make_client(5), server.url)
    assert src.fetch(catalog.series["SOFR"], None) == [("2019-09-16", 2.43), ("2019-09-19", 2.30)]
    assert any("line 3" in r.getMessage() for r in caplog.records)


def test_keyless_csv_5xx_and_dead_network(catalog, server):
    server.faults["/graph/fredgraph.csv"] = [Reply(503, "busy", "text/plain")]
    src = FredCsvSource(catalog, make_client(2), server.url)
    with pytest.raises(SourceError, match="FRED CSV SOFR: HTTP 503"):
        src.fetch(catalog.series["SOFR"], None)
    dead = FredCsvSource(catalog, make_client(2), "http://127.0.0.1:9")
    with pytest.raises(SourceError, match="network error"):
        dead.fetch(catalog.series["SOFR"], None)


def test_nyfed_on_rrp_2024_10_16_excludes_the_small_value_exercise(server, catalog):
    FakeNyFed(server, nyfed_fixture("nyfed_rp_reverserepo_2024-10-16.json"))
    src = NyFedSource(catalog, make_client(5), server.url + "/api", today=date(2024, 10, 17))
    rows = src.fetch(catalog.series["NYFED_RRP"], date(2024, 10, 1))
    # The SVE ($114M, its note inside HTML) is not ON RRP: counting it would add ~0.04% here and ~16% near $1B.
    assert rows == [("2024-10-15", 247e9), ("2024-10-16", 272.028e9)]
    q = server.hits("/api/rp/results/search.json")[0].query
    assert q == {"startDate": "2024-10-01", "endDate": "2024-10-17", "operationTypes": "Reverse Repo"}


def test_nyfed_srf_2025_10_31_sums_two_operations_and_skips_term_and_tests(server, catalog):
    FakeNyFed(server, nyfed_fixture("nyfed_rp_repo_2025-10-31.json"))
    src = NyFedSource(catalog, make_client(5), server.url + "/api", today=date(2025, 11, 3))
    rows = dict(src.fetch(catalog.series["NYFED_SRF"], date(2025, 10, 20)))
    assert rows["2025-10-31"] == pytest.approx(50.35e9)   # morning + afternoon, all collateral
    assert rows["2025-10-30"] == 0.0                      # the term repo and the SVE are not usage


def test_nyfed_test_and_term_operations_never_count(catalog):
    from bot.sources.nyfed import operations_by_date

    ops = [nyfed_operation("2026-03-02", "Reverse Repo", 5e9, op_id="a"),
           nyfed_operation("2026-03-02", "Reverse Repo", 9e9, op_id="b", term="Term"),
           nyfed_operation("2026-03-02", "Reverse Repo", 1e8, op_id="c",
                           note="Statement Regarding Reverse Repurchase Agreement Small&nbsp;Value Exercise"),
           nyfed_operation("2026-03-02", "Reverse Repo", "n/a", op_id="d"),   # malformed: skipped, not fatal
           nyfed_operation("2026-03-02", "Repo", 7e9, op_id="e")]
    assert operations_by_date({"repo": {"operations": ops}}, "Reverse Repo", "NYFED_RRP") == [("2026-03-02", 5e9)]


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


def test_fiscaldata_filters_and_pages_as_the_real_api(server, catalog, monkeypatch):
    import bot.sources.fiscaldata as fd

    monkeypatch.setattr(fd, "PAGE_SIZE", 2)  # three pages of the real paging shape
    close = "Treasury General Account (TGA) Closing Balance"
    rows = [fiscal_row("2023-05-31", close, "48500", None),
            fiscal_row("2023-06-01", "Treasury General Account (TGA) Opening Balance", "23000", None),
            fiscal_row("2023-06-01", close, "22892", None),
            fiscal_row("2023-06-01", "Total TGA Deposits (Table II)", "1", None),
            fiscal_row("2023-06-02", close, "39000", None),
            fiscal_row("2021-09-01", "Federal Reserve Account", "200000", "210000")]  # before the first asked date
    FakeFiscalData(server, rows)
    src = FiscalDataSource(catalog, make_client(5), server.url)
    got = src.fetch(catalog.series["TGA_DTS_CLOSE"], date(2023, 5, 1))
    assert got == [("2023-05-31", 48500e6), ("2023-06-01", 22892e6), ("2023-06-02", 39000e6)]
    hits = server.hits("/v1/accounting/dts/operating_cash_balance")
    assert len(hits) == 3 and hits[0].query["filter"] == "record_date:gte:2023-05-01"


def test_fiscaldata_every_label_format():
    from bot.sources.fiscaldata import tga_closing_balances

    rows = [fiscal_row("2021-09-01", "Federal Reserve Account", "200000", "210000"),
            fiscal_row("2022-01-03", "Treasury General Account (TGA)", "700,000", "706000"),
            fiscal_row("2023-06-01", "Treasury General Account (TGA) Opening Balance", "23000", None),
            fiscal_row("2023-06-01", "Treasury General Account (TGA) Closing Balance", "22892", None)]
    assert tga_closing_balances(rows) == [("2021-09-01", 210000.0), ("2022-01-03", 706000.0), ("2023-06-01", 22892.0)]


def test_file_source_reads_both_headers_and_skips_unchanged_files(tmp_path, catalog):
    (tmp_path / "WRESBAL.csv").write_text("observation_date,WRESBAL\n2022-09-28,2960598\n")
    (tmp_path / "SOFR.csv").write_text("date,value\n2019-09-17,5.25\n")
    src = FileSource(catalog, [tmp_path])
    assert {s.id for s in src.series()} == {"WRESBAL", "SOFR"}
    assert src.fetch(catalog.series["WRESBAL"], None) == [("2022-09-28", 2.960598e12)]
    assert src.fetch(catalog.series["WRESBAL"], date(2022, 9, 1)) == []  # unchanged since the last read
    with pytest.raises(SourceError, match="not a directory"):
        FileSource(catalog, [tmp_path / "missing"])
