"""Reserves relative to the banking system (issue 21 §2): commercial-bank assets (H.8) and nominal
GDP as catalog series, the `ratio` metrics built on them without look-ahead."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from bot.catalog import load_catalog
from bot.chart import ChartSpec, Period, build_figure
from bot.chart_marks import era_periods, regime_periods
from bot.cli import main
from bot.commands import CommandService
from bot.format import render
from bot.metrics import compute_metrics
from bot.personal import Personal, rule_for
from bot.rules.loader import load_rules
from bot.rules.replay import backtest, first_run
from bot.sources.files import FileSource
from bot.sources.fred import FredApiSource, FredCsvSource
from bot.sources.http import make_client
from bot.status import current_regimes, regime_bases, regime_note, render_table, snapshot
from tests.fakes.http import FakeServer
from tests.fakes.sources import FakeFred

# Real rows as in ../shared/data/fred (PROVENANCE.md): TLAACBW027SBOG from FRED's fredgraph download
# in schhabra2003/us-liquidity-conditions-monitor @b57aa128 (billions), GDP from opxie1/usd
# data/raw/GDP.csv @f024ceeb (billions, SAAR, dated the quarter's first day).
FRED_ROWS = {"TLAACBW027SBOG": [("2026-08-19", "25648.6542"), ("2026-08-26", "25629.4946")],
             "GDP": [("2025-10-01", "31422.526"), ("2026-01-01", "31865.721")]}
# FRED's `units` text for each (series notes: H.8 "Billions of U.S. Dollars", BEA "Billions of Dollars").
FRED_UNITS = {"TLAACBW027SBOG": "Billions of U.S. Dollars", "GDP": "Billions of Dollars"}


def _raw(data: dict[str, list[tuple[str, float]]]) -> dict[str, pd.Series]:
    return {sid: pd.Series([v for _, v in rows], index=pd.DatetimeIndex([d for d, _ in rows]), dtype=float)
            for sid, rows in data.items()}


def test_fred_csv_and_api_read_both_series_in_dollars(catalog):
    with FakeServer() as server:
        FakeFred(server, FRED_ROWS, units=FRED_UNITS)
        csv = FredCsvSource(catalog, make_client(5), server.url)
        assert csv.fetch(catalog.series["TLAACBW027SBOG"], None)[-1] == ("2026-08-26", pytest.approx(25.6294946e12))
        assert csv.fetch(catalog.series["GDP"], None)[-1] == ("2026-01-01", pytest.approx(31.865721e12))
        api = FredApiSource(catalog, "k" * 32, server.url + "/fred", timeout=5)
        assert api.fetch(catalog.series["GDP"], None)[-1][1] == pytest.approx(31.865721e12)


def test_ratio_uses_only_the_denominator_already_published(catalog):
    """GDP dated 2026-01-01 is public ~85 business days later (early May): reserves of
    2026-03-04 are judged against the print dated 2025-10-01, those of June against 2026-01-01."""
    raw = _raw({"WRESBAL": [("2026-03-04", 3.0e12), ("2026-06-03", 3.0e12)],
                "GDP": [("2025-10-01", 30.0e12), ("2026-01-01", 31.0e12)]})
    f = compute_metrics(catalog, raw)["reserves_to_gdp"]
    assert f.loc["2026-03-04", "value"] == pytest.approx(10.0)
    assert f.loc["2026-06-03", "value"] == pytest.approx(100 * 3.0 / 31.0)
    # Known when the reserves print was (the H.4.1 Thursday), never before.
    assert f.loc["2026-06-03", "known"] == pd.Timestamp("2026-06-04")


def test_ratio_without_a_recent_denominator_is_absent(catalog):
    """A bank-assets print months old is not carried forward for ever (tolerance of a weekly series)."""
    raw = _raw({"WRESBAL": [("2026-06-03", 3.0e12)], "TLAACBW027SBOG": [("2026-01-07", 25.0e12)]})
    frames = compute_metrics(catalog, raw)
    assert frames["reserves_to_bank_assets"].empty
    assert frames["reserves_to_gdp"].empty   # no GDP at all


def test_catalog_refuses_a_ratio_of_two_units(tmp_path):
    text = ("series:\n  A: {source: fred, unit: millions_usd, frequency: weekly, lag: 1, title: a}\n"
            "  B: {source: fred, unit: percent, frequency: daily, lag: 1, title: b}\n"
            "metrics:\n  a: {series: [A], unit: usd}\n  b: {series: [B], unit: percent}\n"
            "  r: {ratio: [a, b], unit: percent}\n")
    (tmp_path / "c.yaml").write_text(text)
    with pytest.raises(ValueError, match="one unit"):
        load_catalog(tmp_path / "c.yaml")


def test_shared_history_july_2020_and_autumn_2019(catalog, shared_data):
    """On the real history (a --data folder): July 2020's $2.9T was ~14% of bank assets, September
    2019's $1.4T ~8% - the comparison a fixed dollar line cannot make."""
    src = FileSource(catalog, [shared_data / "fred"])
    assert {"TLAACBW027SBOG", "GDP"} <= {s.id for s in src.series()}
    raw = {}
    for sid in ("WRESBAL", "TLAACBW027SBOG", "GDP"):
        rows = src.fetch(catalog.series[sid], None)
        raw[sid] = pd.Series([v for _, v in rows], index=pd.DatetimeIndex([d for d, _ in rows]))
    frames = compute_metrics(catalog, raw)
    bank = frames["reserves_to_bank_assets"]["value"]
    assert 13.5 < bank.asof(pd.Timestamp("2020-07-01")) < 15.0
    assert 7.5 < bank.asof(pd.Timestamp("2019-09-18")) < 8.5
    assert 15.0 < bank.asof(pd.Timestamp("2015-06-03")) < 17.0
    gdp = frames["reserves_to_gdp"]["value"]
    assert 6.0 < gdp.asof(pd.Timestamp("2019-09-18")) < 7.0


# ---- the regime judged on the ratio (issue 21 §2) ------------------------------------------------
RULES = Path(__file__).resolve().parent.parent / "rules"


def _history(catalog, folder: Path, ids: tuple[str, ...]) -> dict[str, pd.Series]:
    src = FileSource(catalog, [folder])
    raw = {}
    for sid in ids:
        rows = src.fetch(catalog.series[sid], None)
        raw[sid] = pd.Series([v for _, v in rows], index=pd.DatetimeIndex([d for d, _ in rows]))
    return raw


def _regime_on(transitions, first: str, day: str) -> str:
    """The regime a replay holds on `day` (its first band from `first`, then each change)."""
    held = first
    for t in transitions:
        if t.data_date.isoformat() <= day:
            held = t.to_regime
    return held


@pytest.fixture
def regime_rule(catalog):
    rules = load_rules(RULES, catalog).rules
    return next(r for r in rules if r.id == "reserves_regime")


@pytest.mark.parametrize("ids, measure", [
    (("WRESBAL", "TLAACBW027SBOG", "GDP"), "reserves_to_bank_assets"),
    (("WRESBAL", "GDP"), "reserves_to_gdp")])
def test_real_history_2015_and_july_2020_are_not_scarce_autumn_2019_is(catalog, shared_data, regime_rule, ids, measure):
    frames = compute_metrics(catalog, _history(catalog, shared_data / "fred", ids))
    transitions = backtest([regime_rule], frames, catalog.units)
    assert regime_rule.kind.shown_metric == measure
    first = transitions[0].from_regime
    assert _regime_on(transitions, first, "2015-06-03") == "abundant"
    assert _regime_on(transitions, first, "2020-07-01") == "abundant"   # $2.885T, below the old $3T line
    assert _regime_on(transitions, first, "2019-09-18") == "scarce"     # the repo spike week
    assert all("%" in render(regime_rule, t, catalog).headline for t in transitions)


def test_without_either_series_the_regime_falls_back_to_dollar_bands_and_says_so(catalog, shared_data, regime_rule):
    frames = compute_metrics(catalog, _history(catalog, shared_data / "fred", ("WRESBAL",)))
    transitions = backtest([regime_rule], frames, catalog.units)
    assert regime_rule.kind.shown_metric == "reserves"
    first = transitions[0].from_regime
    assert _regime_on(transitions, first, "2015-06-03") == "scarce"   # what a fixed dollar line says
    text = render(regime_rule, transitions[-1], catalog).headline
    assert "$" in text and "no bank-assets or GDP data" in text
    zh = render(regime_rule, transitions[-1], catalog, "zh").headline
    assert "无银行资产或GDP数据" in zh
    assert regime_note(catalog, [regime_rule], frames) == "Regime judged on Reserves (fallback)"
    assert regime_note(catalog, [regime_rule], frames, lang="zh") == "状态按准备金判断（后备）"
    gdp = compute_metrics(catalog, _history(catalog, shared_data / "fred", ("WRESBAL", "GDP")))
    assert regime_note(catalog, [regime_rule], gdp) == "Regime judged on Reserves/GDP (fallback)"   # 40 wide


def test_status_shows_the_ratio_regime_on_the_reserves_row(catalog, shared_data, regime_rule):
    frames = compute_metrics(catalog, _history(catalog, shared_data / "fred", ("WRESBAL", "TLAACBW027SBOG")))
    now = datetime(2020, 7, 20)
    cut = {k: f[f["known"] <= pd.Timestamp(now)] for k, f in frames.items()}
    regimes = current_regimes([regime_rule], cut, catalog.units, {}, now)
    assert regimes["reserves"] == regimes["reserves_to_bank_assets"] == "abundant"
    rows = snapshot(catalog, cut, now.date(), regimes, bases=regime_bases([regime_rule], cut))
    row = next(r for r in rows if r.metric == "reserves")
    assert row.regime_basis == "reserves_to_bank_assets"
    assert "abundant (on reserves_to_bank_assets)" in render_table(rows)
    assert regime_note(catalog, [regime_rule], cut) == ""   # the first measure decides: nothing to say


def test_cli_status_and_backtest_on_a_data_folder_without_the_new_series(cli_env, shared_data, capsys):
    """A --data folder with reserves only: the regime is judged on the dollar bands, and says so."""
    folder = cli_env / "data"
    folder.mkdir()
    (folder / "WRESBAL.csv").symlink_to(shared_data / "fred" / "WRESBAL.csv")
    assert main(["status", "--json", "--data", str(folder)]) == 0
    reserves = json.loads(capsys.readouterr().out)["reserves"]
    assert reserves["regime_basis"] == "reserves" and reserves["regime"] in ("scarce", "ample", "abundant")
    assert main(["backtest", "--data", str(shared_data / "fred"), "--from", "2020-01-01", "--to", "2020-12-31",
                 "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    regime = [(x["data_date"], x["from"], x["to"]) for x in lines if x["rule"] == "reserves_regime"]
    assert regime == [("2020-03-25", "scarce", "ample"), ("2020-04-08", "ample", "abundant")]


# ---- charts shade the regime from the ratio (issue 21 §2) -----------------------------------------
NOW = datetime(2026, 9, 1, 12)


def _legend(fig) -> list[str]:
    return [t.get_text() for leg in fig.legends for t in leg.get_texts()]


def test_reserves_chart_over_all_history_shades_2015_and_2020_abundant_and_keeps_the_3t_line(
        history_store, catalog):
    rules = load_rules(RULES, catalog).rules
    svc = CommandService(history_store, catalog, lambda: rules, lambda: NOW)
    spec, _ = svc._chart_spec("reserves", "max", "en")
    assert spec.bands == ()                        # no dollar bands painted across 2003-2020
    on = {p.start: p for p in spec.periods}

    def regime(day: str) -> str:
        start = max(s for s in on if s <= day)
        return on[start].label

    assert regime("2015-06-03") == regime("2020-07-01") == "abundant (Reserves / bank assets)"
    assert regime("2019-09-18") == "scarce (Reserves / bank assets)"
    assert "Reserves below $3T: $3.000T" in [t.label for t in spec.thresholds]
    fig = build_figure(spec)
    assert {"scarce (Reserves / bank assets)", "ample (Reserves / bank assets)",
            "abundant (Reserves / bank assets)"} <= set(_legend(fig))
    rule = next(r for r in rules if r.id == "reserves_regime")
    zh = regime_periods(rule, history_store.frames(catalog), catalog, "zh")   # (charts need a CJK font for zh)
    assert zh[-1].label == "充足（准备金/银行资产）"
    # The ratio's own chart has the bands as horizontal levels (9.5% and 13%).
    ratio, _ = svc._chart_spec("reserves_to_bank_assets", "max", "en")
    assert [b.below for b in ratio.bands] == [9.5, 13.0, None] and ratio.periods == ()


def test_a_period_outside_the_plotted_range_has_no_legend_entry():
    s = pd.Series([2.9e12, 3.0e12, 3.1e12], index=pd.DatetimeIndex(["2025-01-01", "2025-06-01", "2025-12-01"]))
    periods = (Period("2003-01-01", "2010-01-01", "scarce (x)", 0), Period("2010-01-01", None, "ample (x)", 1))
    fig = build_figure(ChartSpec(s, "Bank reserves", "usd", "1y", "src", periods=periods))
    assert _legend(fig) == ["ample (x)"]
    assert not build_figure(ChartSpec(s, "Bank reserves", "usd", "1y", "src")).legends


def test_reserves_chart_without_the_ratio_keeps_the_dollar_bands(store, catalog):
    rows = [(f"{d:%Y-%m-%d}", 2.8e12 + (i % 60) * 1e10)
            for i, d in enumerate(pd.date_range("2024-11-20", "2026-08-26", freq="W-WED"))]
    store.add_observations("WRESBAL", rows, source="files", vintage="t")
    rules = load_rules(RULES, catalog).rules
    spec, _ = CommandService(store, catalog, lambda: rules, lambda: NOW)._chart_spec("reserves", "2y", "en")
    assert [b.below for b in spec.bands] == [3.0e12, 3.2e12, None] and spec.periods == ()


# ---- records count only the period a rule's meaning holds (issue 21 §4) ---------------------------
def _repo_frames(catalog, shared_data) -> dict[str, pd.DataFrame]:
    return compute_metrics(catalog, _history(catalog, shared_data / "fred", ("RPONTSYD",)))


def test_srf_record_counts_from_2021_07_28_and_says_so(catalog, shared_data):
    rules = {r.id: r for r in load_rules(RULES, catalog).rules}
    rule = rules["srf_usage_spike"]
    assert rule.record_start == date(2021, 7, 28)
    firings = [t for t in backtest([rule], _repo_frames(catalog, shared_data), catalog.units) if t.state == "firing"]
    assert any(t.data_date.year == 2019 for t in firings)             # 2019's repo operations still alert
    after = [t for t in firings if t.data_date >= date(2021, 7, 28)]
    assert after and after[0].history == (0, None, None)              # none of the 2008-2020 firings counted
    text = render(rule, after[0], catalog).to_text()
    assert "First time this alert has fired since 2021-07-28." in text and "2008" not in text
    assert "这是自2021-07-28以来该提醒首次触发" in render(rule, after[0], catalog, "zh").to_text()


def test_a_rule_without_record_from_counts_all_history(catalog, shared_data):
    rule = next(r for r in load_rules(RULES, catalog).rules if r.id == "srf_usage_spike")
    plain = rule.model_copy(update={"record_from": None})
    firings = [t for t in backtest([plain], _repo_frames(catalog, shared_data), catalog.units) if t.state == "firing"]
    assert firings[-1].history[0] == len(firings) - 1 > 5


def test_record_from_must_be_a_date(tmp_path, catalog):
    path = tmp_path / "r.yaml"
    path.write_text("rules:\n  - id: srf_x\n    topic: srf\n    condition: {level: {metric: srf_usage, op: '>', value: 1}}\n"
                    "    message: m\n    why: w\n    record_from: 28 July 2021\n")
    problems = load_rules(path, catalog).problems
    assert [(p.line, p.message) for p in problems] == [
        (7, "rule srf_x: record_from: '28 July 2021' is not a date: write it as YYYY-MM-DD")]


def test_repo_chart_labels_take_up_before_the_srf_fed_repo_operations(catalog):
    rules = load_rules(RULES, catalog).rules
    assert era_periods(rules, "srf_usage", "en") == (Period("1970-01-01", "2021-07-28", "Fed repo operations"),)
    assert era_periods(rules, "srf_usage", "zh")[0].label == "美联储回购操作"
    assert era_periods(rules, "reserves", "en") == ()
    s = pd.Series([0.0, 40.85e9, 0.0, 2.6e9], index=pd.DatetimeIndex(["2019-09-16", "2019-09-17", "2021-07-29",
                                                                       "2024-09-30"]))
    fig = build_figure(ChartSpec(s, "Repo / SRF usage", "usd", "max", "src",
                                 periods=era_periods(rules, "srf_usage", "en")))
    assert _legend(fig) == ["Fed repo operations"]


def test_a_personal_alerts_record_is_its_own_thresholds(catalog, shared_data):
    """Two chats' alerts on reserves at different lines: each record counts its own crossings;
    one never crossed in the data says it has none."""
    frames = compute_metrics(catalog, _history(catalog, shared_data / "fred", ("WRESBAL",)))
    now = datetime(2026, 9, 1)
    low = rule_for(Personal(1, "telegram", "42", "reserves", "<", 3.2e12), catalog)
    never = rule_for(Personal(2, "telegram", "43", "reserves", "<", 1.0e9), catalog)
    fired = [t for t in backtest([low], frames, catalog.units) if t.state == "firing"]
    run = first_run(low, frames, catalog.units, now)
    assert run.alert.fired == len(fired) and run.alert.first_fired == fired[0].data_date
    file_rule = next(r for r in load_rules(RULES, catalog).rules if r.id == "reserves_below_3t")
    assert run.alert.fired != first_run(file_rule, frames, catalog.units, now).alert.fired
    assert first_run(never, frames, catalog.units, now).alert.fired == 0
    t = replace(fired[0], rule_id=never.id, history=(0, None, None))
    assert "First time this alert has fired in the data on record." in render(never, t, catalog).to_text()


@pytest.mark.parametrize("ids, note", [
    (("WRESBAL",), "Regime judged on Reserves (fallback)"),
    (("WRESBAL", "TLAACBW027SBOG"), None),
])
def test_chat_status_says_when_the_regime_falls_back(tmp_path, catalog, shared_data, ids, note):
    """/status names the measure only when bank assets are missing (a `--data` folder without them)."""
    import shutil

    from bot.ingest import ingest_source
    from bot.store import Store

    d = tmp_path / "data"
    d.mkdir()
    for sid in ids:
        shutil.copy(shared_data / "fred" / f"{sid}.csv", d)
    store = Store(tmp_path / "bot.db")
    ingest_source(store, FileSource(catalog, [d]), lambda: datetime(2026, 6, 10, 12))
    rules = load_rules(RULES, catalog).rules
    text = CommandService(store, catalog, lambda: rules, lambda: datetime(2026, 6, 10, 12)).status_text().text
    store.close()
    assert ("fallback" in text) == (note is not None) and (note is None or note in text), text
