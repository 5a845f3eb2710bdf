"""Rule evaluation against the store: first run, new data, restart safety, outbox rows."""

from __future__ import annotations

import shutil
from datetime import datetime

import pytest

from bot.engine import Engine
from bot.ingest import ingest_source
from bot.rules.loader import load_rules
from bot.sources.files import FileSource
from bot.store import Store
from tests.test_rules_loader import RULES

NOW = datetime(2026, 9, 1, 12)  # after the last date in the copied files


@pytest.fixture
def data_copy(tmp_path, shared_data):
    d = tmp_path / "data"
    d.mkdir()
    for name in ("WRESBAL", "WALCL", "WTREGEN", "RRPONTSYD", "SOFR", "IORB", "IOER", "EFFR"):
        shutil.copy(shared_data / "fred" / f"{name}.csv", d)
    return d


def engine_for(store, catalog, feeds=(("console", "stdout"),)):
    rules = [r for r in load_rules(RULES, catalog).rules if r.condition.kind != "stale"]
    return Engine(store, catalog, rules, list(feeds), {"console", "telegram"})


def test_first_run_learns_history_silently_then_alerts_on_new_data(tmp_path, data_copy, catalog):
    store = Store(tmp_path / "bot.db")
    ingest_source(store, FileSource(catalog, [data_copy]), lambda: NOW)
    engine = engine_for(store, catalog)
    assert engine.evaluate(NOW) == []  # 23 years of history: nothing is news today
    store.ensure_chat("telegram", "42", "private", None, "t")
    store.subscribe("telegram", "42", "reserves", "t")
    store.ensure_chat("telegram", "43", "private", None, "t")
    store.subscribe("telegram", "43", "repo", "t")
    with open(data_copy / "WRESBAL.csv", "a") as f:
        f.write("2026-06-10,2950000\n")
    ingest_source(store, FileSource(catalog, [data_copy]), lambda: NOW)
    ids = engine.evaluate(datetime(2026, 6, 12, 17))  # within two weeks of the new weekly print
    events = store.recent_events()
    assert [e["rule_id"] for e in events] == ["reserves_below_3t"] and len(ids) == 1
    assert "Bank reserves are $2.950T, below $3.000T (week ending 2026-06-10)" in events[0]["text"]
    assert "Why it matters:" in events[0]["text"]
    due = store.due_outbox("telegram", "2026-09-02")
    assert [(r.chat_id, r.rule_id) for r in due] == [("42", "reserves_below_3t")]  # not chat 43 (repo only)
    assert [r.chat_id for r in store.due_outbox("console", "2026-09-02")] == ["stdout"]
    store.close()
    # A restart neither repeats nor forgets the alert.
    store = Store(tmp_path / "bot.db")
    assert engine_for(store, catalog).evaluate(datetime(2026, 9, 1, 18)) == []
    assert "reserves_below_3t" in store.firing_rules()


def test_first_run_reports_an_alert_firing_on_recent_data(tmp_path, catalog):
    store = Store(tmp_path / "bot.db")
    store.add_observations("WRESBAL", [("2026-05-27", 3.1e12), ("2026-06-03", 2.95e12)], source="t", vintage="v")
    ids = engine_for(store, catalog).evaluate(datetime(2026, 6, 5))
    assert [e["rule_id"] for e in store.recent_events()] == ["reserves_below_3t"] and ids


def test_stale_rule_fires_when_a_source_stops_and_resolves_when_it_returns(tmp_path, catalog):
    store = Store(tmp_path / "bot.db")
    rules = [r for r in load_rules(RULES, catalog).rules if r.id == "stale_sofr"]
    engine = Engine(store, catalog, rules, [("console", "stdout")], {"console"})
    store.add_observations("SOFR", [("2026-06-01", 4.3)], source="t", vintage="v")
    assert engine.evaluate(datetime(2026, 6, 3)) == []
    assert len(engine.evaluate(datetime(2026, 6, 9))) == 1
    assert "No new SOFR data for 8.0 days (newest: 2026-06-01)" in store.recent_events()[0]["text"]
    assert engine.evaluate(datetime(2026, 6, 9, 1)) == []  # still stale: no repeat
    store.add_observations("SOFR", [("2026-06-08", 4.31)], source="t", vintage="v2")
    engine.evaluate(datetime(2026, 6, 9, 9))
    assert store.recent_events()[0]["state"] == "resolved"


def test_resolved_before_delivery_still_delivers_in_order(tmp_path, catalog):
    store = Store(tmp_path / "bot.db")
    engine = engine_for(store, catalog)
    store.add_observations("WRESBAL", [("2026-05-27", 3.1e12)], source="t", vintage="v1")
    engine.evaluate(datetime(2026, 5, 29))
    store.add_observations("WRESBAL", [("2026-06-03", 2.95e12), ("2026-06-10", 3.2e12)], source="t", vintage="v2")
    engine.evaluate(datetime(2026, 6, 12))
    due = store.due_outbox("console", "2026-06-13")
    assert [r.state for r in due if r.rule_id == "reserves_below_3t"] == ["firing", "resolved"]


def test_status_reports_a_failing_source(store, catalog):
    from bot.commands import CommandService
    from bot.store.sqlite import FetchRecord

    store.add_observations("WRESBAL", [("2026-06-03", 3.01e12)], source="t", vintage="v")
    store.log_fetch(FetchRecord("fred", "2026-06-04T10:00:00", "2026-06-04T10:00:01", 1, "2026-06-03", None))
    store.log_fetch(FetchRecord("fred", "2026-06-05T10:00:00", "2026-06-05T10:00:20", 0, None,
                                "WRESBAL: FRED CSV WRESBAL: timed out"))
    reply = CommandService(store, catalog, lambda: [], lambda: datetime(2026, 6, 20)).status_text()
    assert "Reserves" in reply.table and "17d old" in reply.table
    assert "fred failing; last OK 2026-06-04" in reply.footer


def test_alerts_rendered_once_for_many_rules_read_exactly_as_rendered_alone(store, catalog):
    """Rules alike but for id and "why" share one rendering; each event's text and payload must
    be what rendering that rule alone gives, quotes, backslashes and Chinese included."""
    from datetime import date

    from bot.episode import alert_context
    from bot.format import payload, render_all
    from bot.rules.evaluate import SignalInputs
    from bot.rules.lifecycle import Transition
    from bot.rules.model import Rule

    store.add_observations("WRESBAL", [("2026-06-03", 3.01e12), ("2026-06-10", 2.94e12)], source="t", vintage="v")
    base = {"topic": "reserves", "severity": "warning", "condition": {"level": {"metric": "reserves", "op": "<",
                                                                               "value": 2.95e12}},
            "message": "{label} is {value}", "message_zh": "{label}为{value}"}
    rules = [Rule.model_validate({**base, "id": f"alike_{i}", "title": "Alike", "why": why, "why_zh": why_zh})
             for i, (why, why_zh) in enumerate([('He said "tight" \\ C:\\path', "他说“紧”"), ("plain", "普通"),
                                                ("plain", "普通")])]
    rules.append(Rule.model_validate({**base, "id": "untitled", "why": "plain"}))  # its title comes from its id
    engine = Engine(store, catalog, rules)
    engine.refresh(None)
    inputs = SignalInputs(engine.frames, catalog.units)
    t = Transition("x", "firing", date(2026, 6, 10), datetime(2026, 6, 11, 21), 2.94e12, history=(0, None, None))
    for rule in rules:
        alone = render_all(rule, t, catalog, 3.01e12, context=alert_context(rule, t, inputs, catalog))
        assert engine._texts(rule, t, inputs) == (alone["en"].to_text(), payload(alone)), rule.id
    assert len(engine._rendered) == 2  # one rendering served the three titled alike
