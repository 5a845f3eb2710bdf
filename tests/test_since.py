"""Every firing alert says since when and how far; change and spread rules state the level."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.engine import Engine
from bot.episode import Episode, ordinal, short_date, since_line
from bot.rules.loader import load_rules
from bot.rules.model import Rule
from tests.test_rules_loader import RULES

IORB = 3.90
# SOFR around IORB in December 2026: below on Dec 1, then above from Dec 2 (peak Dec 3).
SOFR = [("2026-12-01", 3.88), ("2026-12-02", 3.95), ("2026-12-03", 4.28), ("2026-12-04", 4.03)]


def shipped(catalog, *ids):
    return [r for r in load_rules(RULES, catalog).rules if r.id in ids]


def spread_store(store, sofr=SOFR):
    days = ("2026-11-27", "2026-11-30", "2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04")
    store.add_observations("IORB", [(d, IORB) for d in days], source="t", vintage="v")
    store.add_observations("SOFR", [("2026-11-27", 3.86), ("2026-11-30", 3.87)], source="t", vintage="v")
    return store


def test_a_spread_alert_says_since_when_its_peak_and_the_level_of_sofr(store, catalog):
    engine = Engine(spread_store(store), catalog, shipped(catalog, "sofr_above_iorb"))
    engine.evaluate(datetime(2026, 11, 30, 18))
    store.add_observations("SOFR", SOFR, source="t", vintage="v2")
    assert engine.evaluate(datetime(2026, 12, 7, 18))
    text = store.recent_events()[0]["text"]
    assert "3rd day above IORB (since Dec 2), peak +38 bp" in text  # 4.28% - 3.90%
    assert "Value +13 bp · SOFR 4.03% · threshold +0 bp · -25 bp since the previous print" in text


def test_the_same_in_chinese(store, catalog):
    import json

    engine = Engine(spread_store(store), catalog, shipped(catalog, "sofr_above_iorb"))
    engine.evaluate(datetime(2026, 11, 30, 18))
    store.add_observations("SOFR", SOFR, source="t", vintage="v2")
    engine.evaluate(datetime(2026, 12, 7, 18))
    zh = json.loads(store.recent_events()[0]["payload"])["zh"]
    assert zh["since"] == "连续第3天高于IORB（自12月2日起），峰值+38 bp"
    assert "SOFR 4.03%" in zh["facts"]


def test_a_change_rule_states_the_level_and_the_metrics_own_previous_print(store, catalog):
    """ON RRP down $50B in a week: "since the previous print" is the RRP level's own move
    (-$40.0B from $140.0B), not the change of the weekly change (-$30.0B)."""
    rule = Rule.model_validate({"id": "rrp_drain", "topic": "rrp", "severity": "info",
                                "condition": {"change": {"metric": "rrp", "window": {"days": 7}, "op": "<",
                                                         "value": -45e9}},
                                "why": "Cash leaving ON RRP.", "message": "ON RRP fell {amount} in {window}"})
    store.add_observations("RRPONTSYD", [("2026-11-23", 160e9), ("2026-11-24", 150e9)], source="t", vintage="v")
    engine = Engine(store, catalog, [rule])
    engine.evaluate(datetime(2026, 11, 24, 18))
    store.add_observations("RRPONTSYD", [("2026-11-30", 140e9), ("2026-12-01", 100e9)], source="t", vintage="v2")
    assert engine.evaluate(datetime(2026, 12, 1, 18))
    text = store.recent_events()[0]["text"]
    assert "ON RRP fell $50.0B in 1 week" in text  # Dec 1 against Nov 24
    facts = next(line for line in text.splitlines() if line.startswith("Value"))
    assert "ON RRP $100.0B" in facts and "-$40.0B since the previous print" in facts


def test_a_level_alert_counts_weeks_and_its_peak_is_the_lowest_value(store, catalog):
    store.add_observations("WRESBAL", [("2026-11-04", 3.1e12), ("2026-11-11", 2.98e12), ("2026-11-18", 2.91e12),
                                       ("2026-11-25", 2.95e12)], source="t", vintage="v")
    rule = Rule.model_validate({"id": "reserves_low", "topic": "reserves", "severity": "warning", "for": 3,
                                "condition": {"level": {"metric": "reserves", "op": "<", "value": 3e12}},
                                "why": "Scarce.", "message": "Reserves {value}"})
    engine = Engine(store, catalog, [rule])
    assert engine.evaluate(datetime(2026, 11, 27, 18))
    text = store.recent_events()[0]["text"]
    assert "3rd week below $3.000T (since Nov 11), peak $2.910T" in text


@pytest.mark.parametrize("n,text", [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"),
                                    (13, "13th"), (21, "21st"), (22, "22nd"), (101, "101st"), (111, "111th")])
def test_english_ordinals(n, text):
    assert ordinal(n, "en") == text


def test_dates_carry_their_year_only_when_it_is_not_this_years():
    assert short_date(date(2026, 12, 3), date(2026, 12, 4), "en") == "Dec 3"
    assert short_date(date(2025, 12, 30), date(2026, 1, 2), "en") == "Dec 30, 2025"
    assert short_date(date(2025, 12, 30), date(2026, 1, 2), "zh") == "2025年12月30日"
    ep = Episode(date(2025, 12, 30), 3, 38.0, 1)
    assert since_line(ep, date(2026, 1, 2), "+38 bp", "en") == "3rd day in a row (since Dec 30, 2025), peak +38 bp"
    assert since_line(Episode(date(2026, 1, 2), 1, 38.0, 1), date(2026, 1, 2), "+38 bp", "en") == \
        "First print of this run (Jan 2)"
    assert since_line(Episode(date(2026, 1, 1), 30, 5.0, 30), date(2026, 3, 1), "5", "en").startswith("30th print")


def test_resolved_alerts_have_no_since_line(store, catalog):
    engine = Engine(spread_store(store), catalog, shipped(catalog, "sofr_above_iorb"))
    engine.evaluate(datetime(2026, 11, 30, 18))
    store.add_observations("SOFR", [*SOFR, ("2026-12-07", 3.80)], source="t", vintage="v2")
    engine.evaluate(datetime(2026, 12, 8, 18))
    resolved = store.recent_events()[0]
    assert resolved["state"] == "resolved" and "in a row" not in resolved["text"]
    assert resolved["text"].startswith("✅ RESOLVED: SOFR above IORB")
