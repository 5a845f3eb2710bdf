"""End to end against the fake Bot API: one evaluation's alerts for a chat are one message, most
severe first, saying since when; quiet hours still hold each non-critical alert."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from bot.chat.telegram import TelegramAdapter
from bot.commands import CommandService
from bot.config import Settings
from bot.delivery import Deliverer
from bot.engine import Engine
from bot.format import AlertMessage, group, split_message
from tests.fakes.telegram import TOKEN
from tests.test_since import SOFR, shipped, spread_store

T0 = datetime(2026, 12, 7, 18)
# Dec 3's SOFR jump (3.95% -> 4.28%, +33 bp over IORB in a day) fires the critical repo_rate_spike;
# Dec 4 makes the third day above IORB, firing the warning sofr_above_iorb: one catch-up, one release.
RULES = ("sofr_above_iorb", "repo_rate_spike")


@pytest.fixture
async def telegram(fake, store, catalog):
    commands = CommandService(store, catalog, lambda: [], lambda: T0)
    tg = TelegramAdapter(commands, Settings(telegram_bot_token=TOKEN, telegram_api_url=fake.server.url))
    await tg.start()
    yield tg
    await tg.stop()


def two_alerts_on_one_release(store, catalog, chat="42", rules=RULES):
    store.ensure_chat("telegram", chat, "private", None, "t")
    store.subscribe("telegram", chat, "repo", "t")
    engine = Engine(spread_store(store), catalog, shipped(catalog, *rules), [], {"telegram"})
    engine.evaluate(datetime(2026, 11, 30, 18))
    store.add_observations("SOFR", SOFR, source="t", vintage="v2")
    assert len(engine.evaluate(T0)) == len(rules)
    return engine


def texts(fake, chat):
    return [s.text for s in fake.to(chat) if s.method == "sendMessage"]


async def test_two_rules_firing_on_one_release_are_one_message_most_severe_first(telegram, fake, store, catalog):
    two_alerts_on_one_release(store, catalog)
    deliverer = Deliverer(store, [telegram], lambda: T0)
    await deliverer.drain_once()
    sent = texts(fake, 42)
    assert len(sent) == 1
    text = sent[0]
    assert text.startswith("<b>🔴 FIRING: Repo rate spike</b>")
    assert text.index("🔴 FIRING: Repo rate spike") < text.index("<b>⚠️ FIRING: SOFR above IORB</b>")
    assert "3rd day above IORB (since Dec 2), peak +38 bp" in text
    assert "SOFR 4.03%" in text  # the spread rule states the level of SOFR
    assert store.outbox_counts() == {"pending": 0, "sent": 2, "failed": 0}
    await deliverer.drain_once()
    assert len(texts(fake, 42)) == 1 and not fake.violations  # recorded: never sent again
    # One chart, of what the rules compare: the SOFR - IORB spread in bp (not SOFR alone in percent).
    await asyncio.to_thread(fake.wait_for, lambda s: any(x.method == "sendPhoto" for x in s), 60)
    photos = [x for x in fake.to(42) if x.method == "sendPhoto"]
    assert len(photos) == 1 and photos[0].text.startswith("SOFR - IORB") and photos[0].photo


async def test_a_429_retries_the_whole_group_as_one_message(telegram, fake, store, catalog):
    from tests.fakes.telegram import FakeTelegram

    two_alerts_on_one_release(store, catalog)
    fake.faults["42"] = [FakeTelegram.too_many(1)]
    clock = {"t": T0}
    deliverer = Deliverer(store, [telegram], lambda: clock["t"])
    await deliverer.drain_once()
    assert store.outbox_counts()["pending"] == 2
    clock["t"] = datetime(2026, 12, 7, 18, 0, 5)
    await deliverer.drain_once()
    assert len(texts(fake, 42)) == 1 and "SOFR above IORB" in texts(fake, 42)[0]
    assert store.outbox_counts() == {"pending": 0, "sent": 2, "failed": 0}


async def test_quiet_hours_hold_the_warning_and_let_the_critical_through_alone(telegram, fake, store, catalog):
    two_alerts_on_one_release(store, catalog)
    store.set_chat_setting("telegram", "42", "quiet", "17:00-19:00 UTC")
    clock = {"t": T0}
    deliverer = Deliverer(store, [telegram], lambda: clock["t"])
    await deliverer.drain_once()
    assert len(texts(fake, 42)) == 1 and "SOFR above IORB" not in texts(fake, 42)[0]
    clock["t"] = datetime(2026, 12, 7, 19, 0, 1)
    await deliverer.drain_once()
    later = texts(fake, 42)
    assert len(later) == 2 and later[1].startswith("<b>⚠️ FIRING: SOFR above IORB</b>")


async def test_a_group_never_reaches_a_chat_not_subscribed(telegram, fake, store, catalog):
    store.ensure_chat("telegram", "7", "private", None, "t")
    store.subscribe("telegram", "7", "reserves", "t")
    two_alerts_on_one_release(store, catalog)
    await Deliverer(store, [telegram], lambda: T0).drain_once()
    await asyncio.sleep(0)
    assert fake.to(7) == [] and len(texts(fake, 42)) == 1


def message(rule_id, severity, state, body="x"):
    return AlertMessage(rule_id, "repo", severity, state, body, "", "2026-12-04", "NY Fed", heading=rule_id)


def test_grouping_orders_by_severity_keeps_each_rules_order_and_marks_resolved():
    g = group([message("a", "info", "firing"), message("b", "warning", "resolved"),
               message("c", "critical", "firing"), message("b", "warning", "firing"), message("d", "warning", "firing")])
    titles = [line for line in g.to_text().splitlines() if "FIRING" in line or "RESOLVED" in line]
    # b resolved then fired again: it ranks as a firing warning, its two messages in their order
    assert titles == ["🔴 FIRING: c", "✅ RESOLVED: b", "⚠️ FIRING: b", "⚠️ FIRING: d", "ℹ️ FIRING: a"]
    g = group([message("e", "critical", "resolved"), message("f", "info", "firing")])
    assert g.to_text().splitlines()[0] == "ℹ️ FIRING: f"  # resolved goes after anything firing


def test_a_long_group_splits_between_alerts_under_telegrams_limit():
    g = group([message(f"r{i}", "warning", "firing", "word " * 150) for i in range(12)])
    chunks = split_message(g.to_text(), 4089)
    assert len(chunks) > 1 and all(len(c) <= 4089 for c in chunks)
    assert all(c.startswith("⚠️ FIRING: r") for c in chunks)  # each chunk starts at an alert
    assert "".join(chunks).count("FIRING") == 12


# ---- inhibition: a firing stale-data alert holds back alerts on the metrics built from it ----

def net_liquidity_rule():
    from bot.rules.model import Rule

    return Rule.model_validate({"id": "net_liq_low", "title": "Net liquidity low", "topic": "net_liquidity",
                                "severity": "warning", "clear": 5.66e12, "why": "Less cash in the system.",
                                "condition": {"level": {"metric": "net_liquidity", "op": "<", "value": 5.65e12}},
                                "message": "Net liquidity is {value}"})


def rrp_goes_stale_then_assets_fall(store, catalog):
    """ON RRP stops after Nov 25; the Dec 2 H.4.1 print drops Fed assets by $100B, so net
    liquidity (assets - TGA - RRP) falls to $5.6T on RRP data a week old."""
    store.ensure_chat("telegram", "42", "private", None, "t")
    store.subscribe("telegram", "42", "all", "t")
    store.add_observations("WALCL", [("2026-11-18", 6.6e12), ("2026-11-25", 6.6e12)], source="t", vintage="v")
    store.add_observations("WTREGEN", [("2026-11-18", 0.8e12), ("2026-11-25", 0.8e12)], source="t", vintage="v")
    store.add_observations("RRPONTSYD", [(f"2026-11-{d}", 0.1e12) for d in (18, 19, 20, 23, 24, 25)],
                           source="t", vintage="v")
    engine = Engine(store, catalog, [*shipped(catalog, "stale_rrp"), net_liquidity_rule()], [], {"telegram"})
    engine.evaluate(datetime(2026, 11, 27, 18))
    store.add_observations("WALCL", [("2026-12-02", 6.5e12)], source="t", vintage="v2")
    store.add_observations("WTREGEN", [("2026-12-02", 0.8e12)], source="t", vintage="v2")
    assert len(engine.evaluate(datetime(2026, 12, 3, 18))) == 2  # both recorded
    return engine


def rrp_returns(store, engine, value):
    days = ("11-26", "11-27", "11-30", "12-01", "12-02", "12-03")
    store.add_observations("RRPONTSYD", [(f"2026-{d}", value) for d in days], source="t", vintage="v3")
    engine.evaluate(datetime(2026, 12, 3, 19))


async def test_a_stale_data_alert_holds_back_a_derived_alert_until_the_data_returns(telegram, fake, store, catalog):
    engine = rrp_goes_stale_then_assets_fall(store, catalog)
    clock = {"t": datetime(2026, 12, 3, 18, 0, 1)}
    deliverer = Deliverer(store, [telegram], lambda: clock["t"])
    await deliverer.drain_once()
    assert [t.split("\n")[0] for t in texts(fake, 42)] == ["<b>⚠️ FIRING: ON RRP data is late</b>"]
    assert "Net liquidity" not in texts(fake, 42)[0]
    rrp_returns(store, engine, 0.1e12)  # still $5.6T with the fresh RRP: sent, with the resolution
    clock["t"] = datetime(2026, 12, 3, 19, 0, 1)
    await deliverer.drain_once()
    sent = texts(fake, 42)
    assert len(sent) == 2
    assert sent[1].startswith("<b>⚠️ FIRING: Net liquidity low</b>")
    assert "✅ RESOLVED: ON RRP data is late" in sent[1]
    assert store.get_meta("inhibited_events") == "[]"


async def test_a_held_back_alert_no_longer_true_is_dropped(telegram, fake, store, catalog):
    engine = rrp_goes_stale_then_assets_fall(store, catalog)
    deliverer = Deliverer(store, [telegram], lambda: datetime(2026, 12, 3, 19, 0, 1))
    rrp_returns(store, engine, 0.0)  # ON RRP drained to zero: net liquidity $5.7T, never below
    await deliverer.drain_once()
    sent = texts(fake, 42)
    assert len(sent) == 2 and not any("Net liquidity low" in t for t in sent)
    assert sent[1].startswith("<b>✅ RESOLVED: ON RRP data is late</b>")
    assert store.outbox_counts() == {"pending": 0, "sent": 2, "failed": 0}


def test_held_back_alerts_survive_a_restart(store, catalog):
    rrp_goes_stale_then_assets_fall(store, catalog)
    engine = Engine(store, catalog, [*shipped(catalog, "stale_rrp"), net_liquidity_rule()], [], {"telegram"})
    rrp_returns(store, engine, 0.1e12)
    assert [r.rule_id for r in store.due_outbox("telegram", "2026-12-09") if r.state == "firing"] == \
        ["stale_rrp", "net_liq_low"]


def test_release_sends_the_newest_still_true_and_drops_a_resolution_nobody_heard_fire():
    from bot.inhibit import Held, release
    from bot.rules.lifecycle import Alert, AlertState

    held = [Held(1, "a", "firing", "2026-12-01"), Held(2, "b", "firing", "2026-12-01"),
            Held(3, "b", "resolved", "2026-12-02"), Held(4, "c", "firing", "2026-12-02")]
    current = {"a": Alert(AlertState.FIRING), "b": Alert(AlertState.RESOLVED), "c": Alert(AlertState.FIRING)}
    send, drop, keep = release(held, {"c"}, current)
    assert [h.event_id for h in send] == [1] and [h.event_id for h in drop] == [2, 3]
    assert [h.event_id for h in keep] == [4]


async def test_a_group_the_store_cannot_record_is_never_sent_again(telegram, fake, store, catalog):
    """Delivered, then the disk is full: the group's rows are held as sent (one message, not
    one per drain) and recorded together once the store accepts writes."""
    import sqlite3

    two_alerts_on_one_release(store, catalog)
    deliverer = Deliverer(store, [telegram], lambda: T0)
    real = store.mark_sent

    def full(row_id, at):
        raise sqlite3.OperationalError("database or disk is full")
    store.mark_sent = full  # mark_sent_many records through it, in one transaction
    for _ in range(3):
        await deliverer.drain_once()
    assert len(texts(fake, 42)) == 1 and deliverer.degraded
    assert store.outbox_counts()["pending"] == 2  # the transaction wrote nothing
    store.mark_sent = real
    await deliverer.drain_once()
    assert len(texts(fake, 42)) == 1 and store.outbox_counts() == {"pending": 0, "sent": 2, "failed": 0}


def test_slack_shows_the_since_line_and_the_groups_other_alerts(store, catalog):
    from bot.chat.slack import blocks_for

    two_alerts_on_one_release(store, catalog)
    rows = store.due_outbox("telegram", "2026-12-08")
    g = group([AlertMessage.from_stored(r.payload, r.text, r.rule_id, r.topic, r.state) for r in rows])
    text = str(blocks_for(g))
    assert "Repo rate spike" in text and "SOFR above IORB" in text
    assert "3rd day above IORB (since Dec 2), peak +38 bp" in text
