"""The liquidity stress score (issue 21): episodes on real history, no look-ahead, stale data said,
the CLI's lines and JSON, and README's table of lights per year."""

from __future__ import annotations

import json
import re
import statistics
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from bot.catalog import default_catalog
from bot.cli import main
from bot.metrics import compute_metrics
from bot.stress import default_model, history, latest
from bot.stress_text import confidence_text, headline, to_json

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def frames(history_store):
    return history_store.frames(default_catalog())


@pytest.fixture(scope="module")
def scores(frames):
    return history(default_catalog(), frames)


def _window(scores, a: str, b: str) -> list[int]:
    out = [s.score for s in scores if a <= s.date.isoformat() <= b]
    assert out, f"no scores between {a} and {b}"
    return out


@pytest.mark.parametrize("a,b,peak,floor", [
    ("2019-09-17", "2019-09-30", 75, 50),   # the repo spike: SOFR 5.25% against IOER 2.10%
    ("2020-03-09", "2020-03-31", 75, 25),   # the March 2020 dash for cash
])
def test_stress_episodes_read_high(scores, a, b, peak, floor):
    x = _window(scores, a, b)
    assert max(x) >= peak and min(x) >= floor and statistics.median(x) >= 50, x


def test_late_2025_srf_records_read_strained_never_calm(scores):
    x = _window(scores, "2025-10-27", "2025-12-31")
    assert statistics.median(x) >= 50 and min(x) >= 25, x


@pytest.mark.parametrize("a,b", [("2015-05-01", "2015-08-31"), ("2021-05-01", "2021-08-31")])
def test_abundant_reserves_read_calm(scores, a, b):
    x = _window(scores, a, b)
    assert statistics.median(x) < 25 and max(x) < 50, x


def _known_by(frames, day: date) -> dict:
    cut = pd.Timestamp(day)
    return {k: f[f["known"] <= cut] for k, f in frames.items()}


@pytest.mark.parametrize("day", [date(2019, 9, 17), date(2020, 3, 16), date(2025, 10, 31)])
def test_a_days_score_does_not_change_when_later_data_arrives(frames, day):
    cat = default_catalog()
    then = latest(cat, _known_by(frames, day), day)
    now = latest(cat, frames, day)
    assert then == now and then is not None


def test_stale_data_lowers_confidence_and_says_so(frames):
    cat = default_catalog()
    day = date(2025, 11, 12)
    fresh = latest(cat, frames, day)
    cut = pd.Timestamp("2025-10-31")   # the SOFR feed stopped 12 days before
    stopped = {**frames, **{k: frames[k][frames[k].index <= cut] for k in ("sofr", "sofr_iorb_spread")}}
    later = latest(cat, stopped, day)
    assert fresh is not None and later is not None
    assert "sofr_iorb" in later.stale and "sofr_iorb" not in later.components
    assert later.coverage < fresh.coverage
    text = confidence_text(later)
    assert "stale" in text and "SOFR−IORB" in text and f"{round(later.coverage * 100)}%" in text
    assert "little changed" not in headline(later)
    zh = confidence_text(later, "zh")
    assert zh != text and "SOFR−IORB" in zh


def _scenario() -> dict:
    """Three days of SOFR 15 bp over IORB and a $30B SRF take-up, on a scarce-ish system."""
    days = pd.bdate_range("2026-01-05", "2026-03-06")
    last3 = days[-3:]
    sofr = pd.Series(3.65, index=days)
    sofr[last3] = 3.80   # IORB 3.65%: +15 bp
    srf = pd.Series(0.0, index=days)
    srf[days[-1]] = 30e9
    weds = pd.date_range("2025-11-05", "2026-03-04", freq="W-WED")
    return {"NYFED_SOFR": sofr, "NYFED_EFFR": pd.Series(3.64, index=days), "IORB": pd.Series(3.65, index=days),
            "NYFED_SRF": srf, "NYFED_RRP": pd.Series(5e9, index=days),
            "WRESBAL": pd.Series(2.85e12, index=weds), "WALCL": pd.Series(6.5e12, index=weds),
            "WTREGEN": pd.Series(0.85e12, index=weds)}


def test_repo_above_iorb_three_days_and_an_srf_take_up_read_strained_with_their_drivers():
    cat = default_catalog()
    frames = compute_metrics(cat, _scenario())
    s = latest(cat, frames, date(2026, 3, 9))
    assert s is not None and s.light in ("strained", "stress"), s
    line = headline(s)
    assert line.startswith(("🟠 Strained", "🔴 Stress")) and f" {s.score} — " in line
    assert "SOFR +15 bp over IORB 3 days" in line and "SRF $30.0B" in line
    zh = headline(s, "zh")
    assert "SOFR" in zh and "+15 bp" in zh and "$30.0B" in zh and "Strained" not in zh
    assert "tgcr_onrrp" in s.missing   # TGCR comes only from the NY Fed: its weight went to the others


def test_model_components_have_weights_reasons_and_readme_names_them():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Liquidity stress score", 1)[1].split("\n## ", 1)[0]
    for c in default_model().components.values():
        assert c.weight > 0 and c.reason
        assert f"`{c.name}`" in section, c.name


def test_readme_table_of_lights_per_year_is_what_the_command_prints(scores):
    from bot.cli_stress import year_table

    readme = (ROOT / "README.md").read_text()
    table = "\n".join(year_table(scores))
    assert table in readme, "regenerate README's table with `liquidity-bot stress --data ... | tail`:\n" + table


def test_stress_json_lines_have_exactly_the_documented_keys(cli_env, shared_data, capsys):
    args = ["stress", "--data", str(shared_data / "fred"), "--data", str(shared_data / "treasury"),
            "--from", "2019-09-16", "--to", "2019-09-18"]
    assert main([*args, "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    objs = [json.loads(line) for line in lines]
    assert [o["date"] for o in objs] == ["2019-09-16", "2019-09-17", "2019-09-18"]
    for o in objs:
        assert set(o) == {"date", "score", "light", "components", "drivers"}
        assert 0 <= o["score"] <= 100 and o["light"] in ("calm", "watch", "strained", "stress")
        assert set(o["components"]) == set(default_model().components)
        assert o["components"]["tgcr_onrrp"] is None   # no TGCR in FRED's files
        assert 1 <= len(o["drivers"]) <= 2 and all(isinstance(d, str) for d in o["drivers"])
    assert objs[-1]["light"] == "stress" and any("SOFR +315 bp over IORB" in d for d in objs[-1]["drivers"])
    assert main(args) == 0
    out = capsys.readouterr().out
    assert re.search(r"^2019-09-18 +\d+ stress .*missing: tgcr_onrrp", out, re.M)
    assert "| 2019 | 0 | 0 |" in out
    assert main(["status"]) == 0   # the same store: CLI status opens with the score
    # Today is months after the files end: no score from stale data (never "calm" by default).
    assert capsys.readouterr().out.splitlines()[0] == "Stress score: too little fresh data"


def test_stress_to_before_from_is_refused(cli_env, capsys):
    assert main(["stress", "--from", "2020-01-02", "--to", "2020-01-01"]) == 2
    assert "--to is before --from" in capsys.readouterr().err


def test_to_json_names_every_component_even_when_left_out(scores):
    o = to_json(scores[-1])
    assert list(o) == ["date", "score", "light", "components", "drivers"]
    assert set(o["components"]) == set(default_model().components)


# ---- §3: the verdict reads the score -------------------------------------------------------------
@pytest.fixture(scope="module")
def shipped_rules():
    from bot.rules.loader import load_rules

    return load_rules(str(ROOT / "rules"), default_catalog()).rules


def _status(store, rules, now, lang="en"):
    from bot.commands import CommandService

    return CommandService(store, default_catalog(), lambda: rules, lambda: now)


def test_status_opens_with_the_light_score_and_drivers_and_shows_rate_levels(history_store, shipped_rules):
    from datetime import datetime

    service = _status(history_store, shipped_rules, datetime(2025, 10, 31, 18))
    lines = service.status_text().text.splitlines()
    assert re.match(r"🟠 Strained \d+ — SOFR \+1\d bp over IORB \d+ days", lines[0]), lines[0]
    assert "Confidence" in lines[1] and "stale, left out: SRF take-up" in lines[1]   # the files end in April
    assert any(re.fullmatch(r"SOFR \d\.\d\d% · EFFR \d\.\d\d% · IORB \d\.\d\d%", line) for line in lines)
    assert any(re.fullmatch(r"Range \d\.\d\d–\d\.\d\d%", line) for line in lines)
    zh = service.status_text("zh").text.splitlines()
    assert re.match(r"🟠 紧张 \d+ — SOFR 高出 IORB \+1\d bp，连续 \d+ 天", zh[0]), zh[0]
    assert "可信度" in zh[1] and "SRF 使用量" in zh[1]
    assert any(line.startswith("目标区间 ") for line in zh)
    digest = service.digest_message("telegram", "1", "daily", "2025-10-30", "en")
    assert digest.splitlines()[1] == lines[0]   # the digest opens with the same verdict


def test_a_firing_critical_alert_raises_a_calm_light_and_is_named(history_store, shipped_rules):
    from datetime import datetime

    from bot.rules.lifecycle import Alert, AlertState

    service = _status(history_store, shipped_rules, datetime(2021, 6, 15, 18))
    assert service.status_text().text.startswith("🟢 Calm ")   # mid-2021: reserves abundant
    history_store.save_states([("srf_usage_spike", Alert(state=AlertState.FIRING), None)], "2021-06-15T18:00:00")
    try:
        lines = service.status_text().text.splitlines()
        zh = service.status_text("zh").text.splitlines()
    finally:
        history_store._run("DELETE FROM alert_state WHERE rule_id = 'srf_usage_spike'")
    assert lines[0].startswith("🟠 Strained ") and lines[1] == "⚠️ Critical alert firing: Repo / SRF usage spike"
    assert zh[0].startswith("🟠 紧张 ") and zh[1] == "⚠️ 严重警报触发中：回购 / SRF 用量激增"


def test_tgcr_is_measured_against_the_on_rrp_rate_of_its_day():
    """The ON RRP rate: the policy floor + 5 bp from 2021-06-17 to 2024-12-18, the floor since."""
    from bot.stress import tgcr_onrrp_spread

    cat = default_catalog()
    days = pd.DatetimeIndex(["2024-12-10", "2025-01-10"])
    raw = {"NYFED_TGCR": pd.Series([4.60, 4.30], index=days), "DFEDTARL": pd.Series([4.50, 4.25], index=days)}
    spread = tgcr_onrrp_spread(default_model(), compute_metrics(cat, raw))
    assert spread["value"].round(6).tolist() == [5.0, 5.0]   # 4.60 - (4.50 + 0.05); 4.30 - 4.25
    frames = compute_metrics(cat, {**_scenario(), "NYFED_TGCR": pd.Series(3.80, index=pd.bdate_range("2026-01-05", "2026-03-06")),
                                   "DFEDTARL": pd.Series(3.50, index=pd.bdate_range("2026-01-05", "2026-03-06"))})
    s = latest(cat, frames, date(2026, 3, 9))
    assert s is not None and "tgcr_onrrp" not in s.missing and s.components["tgcr_onrrp"] == 100   # +30 bp


def test_a_bad_model_file_is_refused_naming_the_component(tmp_path):
    from bot.stress import STRESS_PATH, load_model

    bad = tmp_path / "stress.yaml"
    bad.write_text(STRESS_PATH.read_text().replace("[[-10, 0], [0, 40], [5, 60], [15, 100]]", "[[0, 40], [-10, 0]]"))
    with pytest.raises(ValueError, match="points must rise"):
        load_model(bad)
    bad.write_text(STRESS_PATH.read_text().replace("peak_of: [sofr_iorb,", "peak_of: [sofr_iorbx,"))
    with pytest.raises(ValueError, match="spread_peak peak_of sofr_iorbx"):
        load_model(bad)
