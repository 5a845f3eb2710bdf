"""Backtest over the real history in ../shared/data: the episodes an analyst knows."""

from __future__ import annotations

import json

import pytest

from bot.cli import main
from bot.metrics import compute_metrics, needed_series
from bot.rules.loader import load_rules
from bot.rules.replay import backtest
from tests.test_rules_loader import RULES


@pytest.fixture(scope="module")
def transitions(history_store):
    from bot.catalog import default_catalog

    catalog = default_catalog()
    frames = compute_metrics(catalog, history_store.load_series(needed_series(catalog)))
    rules = load_rules(RULES, catalog).rules
    return backtest(rules, frames, {k: m.unit for k, m in catalog.metrics.items()})


def test_finds_the_september_2019_repo_spike(transitions):
    sept = [(t.rule_id, t.state, str(t.data_date), str(t.at.date())) for t in transitions
            if "2019-09-16" <= str(t.data_date) <= "2019-09-18" and t.state == "firing"]
    assert ("repo_rate_spike", "firing", "2019-09-17", "2019-09-18") in sept   # SOFR is out the next morning
    assert ("srf_usage_spike", "firing", "2019-09-17", "2019-09-17") in sept   # operation results the same day


def test_reserves_first_fall_below_3t_in_the_2022_09_28_week(transitions):
    after_2021 = [t for t in transitions if t.rule_id == "reserves_below_3t" and t.state == "firing"
                  and t.data_date.year >= 2021]
    first = after_2021[0]
    assert str(first.data_date) == "2022-09-28" and str(first.at.date()) == "2022-09-29"
    assert first.value == pytest.approx(2.960598e12)


def test_no_look_ahead_and_no_flapping(transitions):
    assert all(t.at.date() >= t.data_date for t in transitions)
    per_rule_year: dict[tuple[str, int], int] = {}
    for t in transitions:
        if t.state != "resolved":
            key = (t.rule_id, t.at.year)
            per_rule_year[key] = per_rule_year.get(key, 0) + 1
    # An alert nobody would mute: no rule speaks more than 8 times in any year of 23.
    assert max(per_rule_year.values()) <= 8, sorted(per_rule_year.items(), key=lambda kv: -kv[1])[:3]


def test_backtest_cli_json_lines(shared_data, capsys):
    code = main(["backtest", "--data", str(shared_data / "fred"), "--data", str(shared_data / "treasury"),
                 "--from", "2019-09-01", "--to", "2019-09-30", "--json"])
    assert code == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines and all(set(x) == {"rule", "topic", "state", "date", "data_date", "value", "from", "to"} for x in lines)
    assert all(x["data_date"] <= x["date"] for x in lines)
    assert {"rule": "repo_rate_spike", "topic": "repo", "state": "firing", "date": "2019-09-18", "data_date": "2019-09-17",
            "value": 282.0, "from": None, "to": None} in lines
    assert all("2019-09-01" <= x["date"] <= "2019-09-30" for x in lines)
    regime = [x for x in lines if x["state"] == "regime"]
    assert regime and all(x["from"] and x["to"] for x in regime)


def test_backtest_cli_table_counts_per_year(shared_data, capsys):
    assert main(["backtest", "--data", str(shared_data / "fred"), "--from", "2022-01-01"]) == 0
    out = capsys.readouterr().out
    assert "2022-09-29 2022-09-28 reserves_below_3t" in out and "$2.961T" in out
    assert "per year" in out and "not replayed: stale_reserves" in out
