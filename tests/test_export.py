"""`liquidity-bot export` (CSV and JSON lines, catalog units) and `fetch`'s exit code."""

from __future__ import annotations

import csv
import io
import json

import pytest

from bot.cli import main
from tests.fakes.http import FakeServer
from tests.fakes.sources import FakeFred


@pytest.fixture
def filled(cli_env, shared_data, capsys):
    assert main(["fetch", "--data", str(shared_data / "fred"), "--data", str(shared_data / "treasury")]) == 0
    capsys.readouterr()
    return cli_env


def test_export_csv_in_dollars_and_bp(filled, capsys):
    assert main(["export", "reserves", "sofr_iorb_spread", "--from", "2022-09-21", "--to", "2022-09-30"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["date", "reserves", "sofr_iorb_spread"]
    by_date = {r[0]: r[1:] for r in rows[1:]}
    assert float(by_date["2022-09-28"][0]) == pytest.approx(2.960598e12)       # dollars, not millions
    assert by_date["2022-09-26"][0] == "" and by_date["2022-09-26"][1] != ""     # no weekly print that day
    assert min(by_date) >= "2022-09-21" and max(by_date) <= "2022-09-30"


def test_export_json_lines_carry_the_unit(filled, capsys):
    assert main(["export", "sofr", "rrp", "--from", "2019-09-17", "--to", "2019-09-17", "--format", "json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert {"metric": "sofr", "date": "2019-09-17", "value": 5.25, "unit": "percent"} in lines
    rrp = next(x for x in lines if x["metric"] == "rrp")
    assert rrp["unit"] == "usd" and rrp["value"] > 1e6


def test_export_unknown_metric_is_a_clear_error(cli_env, capsys):
    assert main(["export", "reservez"]) == 2
    err = capsys.readouterr().err
    assert "unknown metric(s): reservez" in err and "reserves" in err


def test_fetch_exits_non_zero_naming_the_failed_series(cli_env, monkeypatch, capsys):
    with FakeServer() as server:
        FakeFred(server, {"WRESBAL": [("2026-10-21", "2901000")]})   # every other series: 404
        monkeypatch.setenv("FRED_CSV_URL", server.url)
        monkeypatch.setenv("NYFED_API_URL", "http://127.0.0.1:9")
        monkeypatch.setenv("FISCALDATA_API_URL", "http://127.0.0.1:9")
        monkeypatch.setenv("HTTP_TIMEOUT", "2")
        code = main(["fetch"])
    captured = capsys.readouterr()
    assert code == 1
    assert "failed:" in captured.err and "WALCL" in captured.err and "TGA_DTS_CLOSE" in captured.err
    assert "WRESBAL" not in captured.err.split("failed:")[1]
