"""`liquidity-bot fetch` and `status` as a user runs them."""

from __future__ import annotations

import json

import pytest

from bot.cli import main
from bot.units import fmt_change, fmt_pct, fmt_usd, fmt_value


def test_fetch_then_status_json_matches_the_files(cli_env, shared_data, capsys):
    fred, tsy = str(shared_data / "fred"), str(shared_data / "treasury")
    assert main(["fetch", "--data", fred, "--data", tsy]) == 0
    out = capsys.readouterr().out
    assert "files: 16/16 series ok" in out   # 12 + ECBASSETSW, JPNASSETS, DEXUSEU, DEXJPUS and "newest data" in out
    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    for metric in ("reserves", "rrp", "tga", "fed_assets", "net_liquidity", "sofr", "iorb",
                   "sofr_iorb_spread", "effr_iorb_spread"):
        assert {"value", "unit", "date"} <= status[metric].keys(), metric
    assert status["reserves"]["value"] == 3013902e6 and status["reserves"]["unit"] == "usd"
    assert status["reserves"]["date"] == "2026-06-03" and status["reserves"]["regime"] == "ample"
    assert status["rrp"]["value"] == pytest.approx(2.151e9) and status["rrp"]["date"] == "2026-07-31"
    assert status["sofr"] == status["sofr"] | {"value": 3.65, "unit": "percent", "date": "2026-07-30"}
    assert status["iorb"]["value"] == 3.65 and status["sofr_iorb_spread"]["unit"] == "bp"
    def file_value(series: str, day: str) -> float:
        rows = dict(line.split(",") for line in (shared_data / "fred" / f"{series}.csv").read_text().split()[1:])
        return float(rows[day])

    nl = status["net_liquidity"]
    assert nl["date"] == "2026-07-29"
    expected = (file_value("WALCL", "2026-07-29") - file_value("WTREGEN", "2026-07-29")) * 1e6 \
        - file_value("RRPONTSYD", "2026-07-29") * 1e9
    assert nl["value"] == pytest.approx(expected)


def test_status_without_network_answers_from_the_store_with_data_age(cli_env, shared_data, capsys):
    main(["fetch", "--data", str(shared_data / "fred")])
    capsys.readouterr()
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    line = next(row for row in out.splitlines() if row.startswith("reserves "))
    assert "$3.014T" in line and "2026-06-03" in line and "d " in line and "STALE" in line
    assert "files: last success" in out


def test_status_on_an_empty_store_says_what_to_do(cli_env, capsys):
    assert main(["status"]) == 1
    assert "liquidity-bot fetch" in capsys.readouterr().out


@pytest.mark.parametrize("value,unit,text", [
    (2.960598e12, "usd", "$2.961T"), (412.3e9, "usd", "$412.3B"), (5.33, "percent", "5.33%"),
    (-12.0, "bp", "-12 bp"), (950e6, "usd", "$950.0M"),
])
def test_every_value_says_its_unit(value, unit, text):
    assert fmt_value(value, unit) == text


def test_changes_have_signs_and_rate_changes_are_in_bp():
    assert fmt_usd(-52.7e9, signed=True) == "-$52.7B"
    assert fmt_change(0.25, "percent") == "+25 bp"
    assert fmt_pct(5.25) == "5.25%"
