"""Analogs on the real history (../shared/data): for a firing alert, the most similar past days the
same rule fired, what followed within 4 weeks from the data only, and the curated episode line."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from bot.analogs import analogs, curated_line, episodes
from bot.format import AlertMessage, payload
from bot.rules.lifecycle import Transition
from bot.rules.loader import load_rules


@pytest.fixture(scope="module")
def rules():
    from bot.catalog import default_catalog

    return {r.id: r for r in load_rules("rules", default_catalog()).rules}


def _sep_2019_now(frames) -> dict:
    """Today's reserves as in Sep 2019: $1.40T, down $120B in 4 weeks (two new prints after the history)."""
    f = frames["reserves"].copy()
    for day, value in (("2026-11-04", 1.52e12), ("2026-12-02", 1.40e12)):
        f.loc[pd.Timestamp(day)] = [value, pd.Timestamp(day) + pd.Timedelta(days=1)]
    return {**frames, "reserves": f.sort_index()}


def test_reserves_falling_like_sep_2019_find_sep_2019_and_its_repo_spike(history_store, catalog, rules):
    frames = _sep_2019_now(history_store.frames(catalog))
    lines = analogs(rules["reserves_below_3t"], catalog, frames, date(2026, 12, 3))
    assert 1 <= len(lines) <= 3
    first = lines[0].splitlines()
    # WRESBAL 2019-09-18 $1,394,122M, 2019-08-21 $1,516,045M; SOFR 5.25% vs IOER 2.10% on 2019-09-17
    assert first[0] == ("2019-09-18: Bank reserves $1.394T, -$121.9B over 4 weeks; to 2019-10-16: Bank reserves "
                        "$1.480T (+$86.2B); SOFR - IORB peaked at +315 bp on 2019-09-17; "
                        "Repo / SRF usage peaked at $72.6B on 2019-10-16.")
    assert first[1].startswith("  Sep 2019 repo spike: ") and first[1].endswith(
        "(https://www.federalreserve.gov/econres/notes/feds-notes/what-happened-in-money-markets-in-september-2019-20200227.htm)")
    zh = analogs(rules["reserves_below_3t"], catalog, frames, date(2026, 12, 3), "zh")[0]
    assert zh.startswith("2019-09-18：银行准备金 $1.394T，4 周变化 -$121.9B；至 2019-10-16：")
    assert "2019 年 9 月回购利率飙升" in zh


def test_no_look_ahead_and_analogs_at_least_8_weeks_apart(history_store, catalog, rules):
    frames = history_store.frames(catalog)
    when = date(2019, 12, 20)
    cut = {m: f[f["known"] <= pd.Timestamp(when)] for m, f in frames.items()}
    for rid in ("reserves_below_3t", "sofr_above_iorb", "reserves_regime"):
        full = analogs(rules[rid], catalog, frames, when)
        assert full == analogs(rules[rid], catalog, cut, when), rid      # later data changes nothing
        days = [date.fromisoformat(x[:10]) for x in full]
        assert all(d <= date(2019, 11, 15) for d in days), rid           # each one's 4 weeks ended before
        assert all(abs((a - b).days) >= 56 for a in days for b in days if a != b), rid


def test_every_curated_episode_has_a_source_and_both_languages():
    assert {e.id for e in episodes()} == {"repo_spike_2019", "dash_for_cash_2020", "debt_ceiling_rebuild_2023",
                                          "srf_records_2025", "qt_end_2025", "rmp_2025"}
    assert all(e.source.startswith("https://") and e.text["zh"] != e.text["en"] for e in episodes())
    assert curated_line(date(2020, 3, 16)).startswith("Mar 2020 dash for cash")
    assert curated_line(date(2021, 6, 1)) is None


def test_a_firing_alert_prints_its_analogs_and_a_resolution_does_not(history_store, catalog, rules):
    from datetime import datetime

    from bot.format import render_all

    frames = _sep_2019_now(history_store.frames(catalog))
    rule = rules["reserves_below_3t"]
    fire = Transition(rule.id, "firing", date(2026, 12, 2), datetime(2026, 12, 3, 21), 1.40e12)
    msgs = render_all(rule, fire, catalog, None, frames=frames)
    text = msgs["en"].to_text()
    assert "\nLast times it looked like this:\n2019-09-18: Bank reserves $1.394T" in text
    assert "历史上相似的情形：\n2019-09-18：银行准备金" in msgs["zh"].to_text()
    from bot.chat.slack import blocks_for

    assert any("*Last times it looked like this:*\n2019-09-18: Bank reserves $1.394T" in b.get("text", {}).get("text", "")
               for b in blocks_for(msgs["en"]))                         # Slack's blocks carry them too
    stored = AlertMessage.from_stored(payload(msgs), "", rule.id,
                                      rule.topic, "firing", "zh")
    assert "历史上相似的情形" in stored.to_text()                   # survives the outbox
    resolved = Transition(rule.id, "resolved", date(2026, 12, 2), datetime(2026, 12, 3, 21), 3.1e12)
    assert "Last times" not in render_all(rule, resolved, catalog, None, frames=frames)["en"].to_text()


def test_a_firing_on_a_quarter_end_says_how_it_compares_with_the_last_8(history_store, catalog, rules):
    from datetime import datetime

    from bot.format import render_all

    frames = history_store.frames(catalog)
    rule = rules["rrp_nearly_empty"]
    fire = Transition(rule.id, "firing", date(2026, 6, 30), datetime(2026, 7, 1, 14), 26.9e9)
    msgs = render_all(rule, fire, catalog, None, frames=frames)
    assert "\nNote: Quarter-end: ON RRP on the last 8 quarter-ends ranged $15.8B–" in msgs["en"].to_text()
    assert "today $26.9B is the 2nd smallest." in msgs["en"].to_text()
    assert "注意：季末：ON RRP 在最近 8 个季末介于" in msgs["zh"].to_text()


def test_the_engine_sends_analogs_end_to_end_in_both_languages(tmp_path, shared_data, catalog):
    import shutil
    from datetime import datetime

    from bot.engine import Engine
    from bot.ingest import ingest_source
    from bot.sources.files import FileSource
    from bot.store import Store

    data = tmp_path / "data"
    data.mkdir()
    for name in ("WRESBAL", "SOFR", "IORB", "IOER", "RPONTSYD"):
        shutil.copy(shared_data / "fred" / f"{name}.csv", data)
    store = Store(tmp_path / "bot.db")
    now = datetime(2026, 9, 1, 12)
    ingest_source(store, FileSource(catalog, [data]), lambda: now)
    rules = [r for r in load_rules("rules/reserves.yaml", catalog).rules]
    engine = Engine(store, catalog, rules, [("console", "stdout")], {"console"})
    assert engine.evaluate(now) == []                                   # history is learnt silently
    with open(data / "WRESBAL.csv", "a") as f:
        f.write("2026-06-10,2950000\n")
    ingest_source(store, FileSource(catalog, [data]), lambda: now)
    assert engine.evaluate(datetime(2026, 6, 12, 17))
    text, body = store._rows("SELECT text, payload FROM alert_events WHERE rule_id = 'reserves_below_3t'")[0]
    lines = text.splitlines()
    past = lines[lines.index("Last times it looked like this:") + 1:-1]
    assert 1 <= len([x for x in past if not x.startswith("  ")]) <= 3
    assert all(x[:10] < "2026-05-01" and " over 4 weeks; to " in x for x in past if not x.startswith("  "))
    zh = AlertMessage.from_stored(body, text, "reserves_below_3t", "reserves", "firing", "zh").to_text()
    assert "历史上相似的情形：" in zh and "4 周变化" in zh
    store.close()
