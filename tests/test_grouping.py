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
    assert text.index("🔴 FIRING: Repo rate spike") < text.index("⚠️ FIRING: SOFR above IORB")
    assert "3rd day in a row (since Dec 2), peak +38 bp" in text
    assert "SOFR 4.03%" in text  # the spread rule states the level of SOFR
    assert store.outbox_counts() == {"pending": 0, "sent": 2, "failed": 0}
    await deliverer.drain_once()
    assert len(texts(fake, 42)) == 1 and not fake.violations  # recorded: never sent again


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
