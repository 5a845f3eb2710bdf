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
    # 12 + ECBASSETSW, JPNASSETS, DEXUSEU, DEXJPUS + TLAACBW027SBOG, GDP + the H.4.1 factors WRBWFRBL, WSHOSHO,
    # TREAST, WDTGAL, WLRRAL
    assert "files: 23/23 series ok" in out and "newest data" in out
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


def test_status_shows_the_regime_chat_shows_with_hysteresis_and_only_counts_personal_alerts(cli_env, capsys):
    """Reserves slipped to $2.98T: below the $3.0T scarce edge, not past it by the rule's $50B
    hysteresis. The regime stays ample in the CLI `status` as in chat /status (the CLI used to
    classify the latest value alone: scarce), before and after the rules are evaluated."""
    from datetime import datetime
    from pathlib import Path

    from bot.catalog import default_catalog
    from bot.commands import CommandService
    from bot.engine import Engine
    from bot.rules.lifecycle import Alert, AlertState
    from bot.rules.loader import load_rules
    from bot.store import Store

    weeks = [f"2026-{m:02d}-{d:02d},3100000" for m in (7, 8, 9) for d in (1, 8, 15, 22)]
    (cli_env / "data").mkdir()
    (cli_env / "data" / "WRESBAL.csv").write_text(
        "date,value\n" + "\n".join([*weeks, "2026-10-07,2980000", "2026-10-14,2980000"]) + "\n")
    assert main(["fetch", "--data", str(cli_env / "data")]) == 0
    catalog, now = default_catalog(), datetime(2026, 10, 16, 12)
    rules = load_rules(str(Path(__file__).resolve().parent.parent / "rules"), catalog).rules

    def both() -> tuple[str, str]:
        capsys.readouterr()
        assert main(["status", "--json"]) == 0
        cli = json.loads(capsys.readouterr().out)["reserves"]["regime"]
        store = Store(cli_env / "cli.db")
        try:
            chat = CommandService(store, catalog, lambda: rules, lambda: now).status_text().text
        finally:
            store.close()
        return cli, next(line for line in chat.splitlines() if " and " in line)   # after the stress score

    assert both() == ("ample", "Ample and tightening")          # not evaluated yet: learnt from history
    store = Store(cli_env / "cli.db")
    try:
        Engine(store, catalog, rules).evaluate(now)
        assert store.regimes()["reserves_regime"] == "ample"
        store.save_states([(f"personal_{n}", Alert(state=AlertState.FIRING), None) for n in (12, 13, 14)],
                          now.isoformat())
    finally:
        store.close()
    assert both() == ("ample", "Ample and tightening")          # evaluated: the rule's stored state
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    line = next(row for row in out.splitlines() if row.startswith("firing alerts"))
    assert "personal_" not in out and line.endswith("+ 3 personal alerts"), line
