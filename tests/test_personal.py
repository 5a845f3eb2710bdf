"""Personal alerts and mutes, through the real python-telegram-bot against the fake Bot API."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.catalog import default_catalog
from bot.chat.telegram import TelegramAdapter
from bot.commands import CommandService
from bot.config import Settings
from bot.delivery import Deliverer
from bot.engine import Engine
from bot.personal import AlertSyntaxError, parse
from bot.rules.loader import load_rules
from tests.test_rules_loader import RULES
from tests.test_telegram import TOKEN, ask

NOW = datetime(2026, 6, 12, 12)


def test_alert_values_need_the_metrics_unit():
    cat = default_catalog()
    assert parse(["reserves", "<", "2.95T"], cat) == ("reserves", "<", 2.95e12, 1)
    assert parse(["sofr_iorb_spread", ">", "10bp", "for", "3"], cat) == ("sofr_iorb_spread", ">", 10.0, 3)
    assert parse(["sofr", ">", "5%"], cat) == ("sofr", ">", 5.0, 1)
    assert parse(["rrp<100B"], cat) == ("rrp", "<", 1e11, 1)
    for bad in (["reserves", "<", "2.95%"], ["sofr", ">", "5T"], ["reservez", "<", "3T"], ["reserves", "=", "3T"],
                ["reserves", "<", "lots"], []):
        with pytest.raises(AlertSyntaxError):
            parse(bad, cat)


@pytest.fixture
async def world(fake, store):
    """A store with reserves at $3.01T, an engine, the bot, and a deliverer: the pieces `run` wires."""
    cat = default_catalog()
    store.add_observations("WRESBAL", [("2026-05-27", 3.03e12), ("2026-06-03", 3.01e12)], source="t", vintage="v")
    rules = load_rules(RULES, cat).rules
    engine = Engine(store, cat, rules, platforms={"telegram"})
    svc = CommandService(store, cat, lambda: engine.file_rules, lambda: NOW)
    evaluations = []
    svc.personal_changed = lambda: evaluations.append(1)
    tg = TelegramAdapter(svc, Settings(telegram_bot_token=TOKEN, telegram_api_url=fake.server.url))
    await tg.start()
    yield store, engine, tg, Deliverer(store, [tg], lambda: NOW), evaluations
    await tg.stop()


def _new_print(store, day: str, dollars: float) -> dict[str, str]:
    store.add_observations("WRESBAL", [(day, dollars)], source="t", vintage=f"v{day}")
    return {"WRESBAL": day}


async def test_a_personal_alert_is_set_fires_only_to_its_chat_and_is_deleted(world, fake):
    store, engine, _tg, deliver, evaluations = world
    reply = (await ask(fake, 501, "/alert reserves < 2.95T"))[0]
    assert reply.startswith("Alert #1 set: Bank reserves &lt; $2.950T.") and "Now: $3.010T (2026-06-03)" in reply
    assert evaluations  # the runtime re-evaluates at once
    assert (await ask(fake, 503, "/alert reserves < 2.95T"))[0].startswith("Alert #1 set")  # numbered per chat
    engine.evaluate(NOW)                                   # learns its state silently: not below yet
    assert "usage" not in (await ask(fake, 502, "/alert sofr > 5%"))[0].lower()
    usage = (await ask(fake, 501, "/alert reserves < 2.95%"))[0]
    assert "reserves is in usd: write the value with T, B or M" in usage and "Usage: /alert" in usage
    assert "#1 Bank reserves &lt; $2.950T: watching" in (await ask(fake, 501, "/alerts"))[0]
    engine.evaluate(datetime(2026, 6, 11, 22), _new_print(store, "2026-06-10", 2.94e12))
    await deliver.drain_once()
    got = [s.text for s in fake.to(501) if "2.940T" in s.text]
    assert len(got) == 1 and got[0].startswith("<b>⚠️ FIRING: Reserves &lt; $2.950T</b>")
    assert "Bank reserves is $2.940T (your alert: &lt; $2.950T)" in got[0]
    assert not [s for s in fake.to(502) if "2.940T" in s.text]            # only its own chat
    other = [s.text for s in fake.to(503) if "2.940T" in s.text]          # each names its own alert
    assert "/alert delete 1 removes it" in got[0] and len(other) == 1 and "/alert delete 1 removes it" in other[0]
    assert "FIRING" in (await ask(fake, 501, "/alerts"))[0]
    assert (await ask(fake, 501, "/alert delete 1")) == ["Alert #1 deleted."]
    assert (await ask(fake, 502, "/alert delete 2")) == ["This chat has no alert #2."]
    assert (await ask(fake, 502, "/alert delete 1")) == ["Alert #1 deleted."]   # its own #1, not another chat's
    assert len(store.personal_rules("telegram", "503")) == 1
    assert store.personal_rules("telegram", "501") == []


async def test_fifty_alerts_a_chat(world, fake):
    store = world[0]
    for i in range(50):
        store.add_personal("telegram", "503", "reserves", "<", 2e12 + i * 1e9, 1, "t", 50)
    assert "already has 50 personal alerts" in (await ask(fake, 503, "/alert reserves < 1T"))[0]


async def test_mute_holds_an_alert_back_and_unmute_lets_the_next_through(world, fake):
    store, engine, _tg, deliver, _ = world
    store.ensure_chat("telegram", "504", "private", None, "t")
    store.subscribe("telegram", "504", "reserves", "t")
    engine.evaluate(NOW)
    assert (await ask(fake, 504, "/mute reserves 7d")) == ["Muted reserves until 2026-06-19 12:00 UTC."]
    assert "Muted: reserves (2026-06-19 12:00 UTC)" in (await ask(fake, 504, "/list"))[0]
    engine.evaluate(datetime(2026, 6, 11, 22), _new_print(store, "2026-06-10", 2.96e12))   # below $3T: fires
    await deliver.drain_once()
    assert not [s for s in fake.to(504) if "FIRING" in s.text]        # held back for this chat
    assert any(e["rule_id"] == "reserves_below_3t" for e in store.recent_events("reserves"))  # but recorded
    assert (await ask(fake, 504, "/unmute reserves")) == ["Unmuted reserves."]
    engine.evaluate(datetime(2026, 6, 18, 22), _new_print(store, "2026-06-17", 3.10e12))   # back above: resolves
    await deliver.drain_once()
    assert any("RESOLVED" in s.text for s in fake.to(504))
    assert "Usage: /mute" in (await ask(fake, 504, "/mute reserves forever"))[0]


async def test_alert_buttons_chart_and_mute_and_groups_refuse_non_admins(world, fake):
    import asyncio

    store, engine, _tg, deliver, _ = world
    for chat in ("505", "-506"):
        store.ensure_chat("telegram", chat, "private" if chat == "505" else "supergroup", None, "t")
        store.subscribe("telegram", chat, "reserves", "t")
    engine.evaluate(NOW)
    engine.evaluate(datetime(2026, 6, 11, 22), _new_print(store, "2026-06-10", 2.96e12))
    await deliver.drain_once()
    alert = next(s for s in fake.to(505) if "FIRING" in s.text)
    keys = [b["text"] for b in alert.reply_markup["inline_keyboard"][0]]
    assert keys == ["Chart", "Mute 7d", "Mute until resolved"]
    data = {b["text"]: b["callback_data"] for b in alert.reply_markup["inline_keyboard"][0]}

    async def press(chat: int, key: str, **kw) -> None:
        before = len(fake.answers)
        fake.user_presses(chat, data[key], **kw)
        await asyncio.to_thread(fake.wait_for, lambda s: len(fake.answers) > before, 20)

    await press(505, "Chart")
    await asyncio.to_thread(fake.wait_for, lambda s: fake.to(505)[-1].method == "sendPhoto", 20)
    await press(505, "Mute until resolved")
    assert "Muted Reserves below $3T until its alert resolves." in fake.answers[-1]["text"]
    assert store.mutes("2026-06-12T00:00:00", "telegram", "505")[0][2:] == ("reserves_below_3t", None, 1)
    await press(-506, "Mute 7d", user_id=66, chat_type="supergroup", title="Desk")   # not an admin
    assert fake.answers[-1]["show_alert"] and "administrators" in fake.answers[-1]["text"]
    assert store.mutes("2026-06-12T00:00:00", "telegram", "-506") == []
    # the mute "until resolved" ends when the alert resolves
    engine.evaluate(datetime(2026, 6, 18, 22), _new_print(store, "2026-06-17", 3.10e12))
    assert store.mutes("2026-06-19T00:00:00", "telegram", "505") == []


# ---- quiet hours and digests ------------------------------------------------------------
def test_quiet_windows_and_digest_slots_in_local_time():
    from bot.localtime import SpecError, digest_due, parse_digest, parse_quiet, quiet_until

    spec = parse_quiet(["22:00-07:00", "Europe/London"])            # crosses midnight; BST in June
    assert quiet_until(spec, datetime(2026, 6, 11, 22, 30)) == datetime(2026, 6, 12, 6, 0)   # 23:30 local
    assert quiet_until(spec, datetime(2026, 6, 12, 6, 30)) is None                            # 07:30 local
    assert quiet_until(parse_quiet(["12:00-13:00"]), datetime(2026, 6, 12, 12, 59)) == datetime(2026, 6, 12, 13)
    for bad in (["25:00-07:00"], ["22:00"], ["22:00-07:00", "Mars/Base"], ["08:00-08:00"]):
        with pytest.raises(SpecError):
            parse_quiet(bad)
    daily = parse_digest(["daily", "08:00", "Asia/Shanghai"])                # 00:00 UTC
    assert digest_due(daily, datetime(2026, 6, 11, 12), datetime(2026, 6, 11, 23, 59)) is None
    assert digest_due(daily, datetime(2026, 6, 11, 12), datetime(2026, 6, 12, 0, 0)) == datetime(2026, 6, 12)
    assert digest_due(daily, datetime(2026, 6, 12, 0, 1), datetime(2026, 6, 12, 9)) is None   # once a day
    weekly = parse_digest(["weekly", "17:00", "America/New_York"])            # Fridays, 21:00 UTC in June
    assert digest_due(weekly, datetime(2026, 6, 8), datetime(2026, 6, 12, 20, 59)) is None    # Fri 16:59 ET
    assert digest_due(weekly, datetime(2026, 6, 8), datetime(2026, 6, 12, 21, 0)) == datetime(2026, 6, 12, 21)
    assert parse_digest(["off"]) is None


async def test_quiet_hours_hold_a_warning_and_release_it_at_the_end(world, fake):
    store, engine, tg, _deliver, _ = world
    store.ensure_chat("telegram", "507", "private", None, "t")
    store.subscribe("telegram", "507", "reserves", "t")
    store.subscribe("telegram", "507", "repo", "t")
    assert "Quiet hours 22:00-07:00 UTC" in (await ask(fake, 507, "/quiet 22:00-07:00"))[0]
    assert "Usage: /quiet" in (await ask(fake, 507, "/quiet 7pm-8am"))[0]
    engine.evaluate(NOW)
    engine.evaluate(datetime(2026, 6, 11, 22), _new_print(store, "2026-06-10", 2.96e12))   # a warning at 22:00
    critical = store.record("critical_test", __import__("bot.rules.lifecycle", fromlist=["Alert"]).Alert(), [(
        {"topic": "repo", "severity": "critical", "state": "firing", "data_date": "2026-06-11", "value": 1.0,
         "text": "🚨 FIRING: SRF spike\nrepo stress"}, [("telegram", "507", "sub")])], "2026-06-11T22:00:01")
    assert critical
    clock = {"t": datetime(2026, 6, 11, 22, 5)}
    deliverer = Deliverer(store, [tg], lambda: clock["t"])
    await deliverer.drain_once()
    texts = [s.text for s in fake.to(507)]
    assert any("SRF spike" in t for t in texts)                       # critical goes through
    assert not any("Reserves below $3T" in t for t in texts)         # the warning waits
    assert store.outbox_counts()["held"] == 1
    clock["t"] = datetime(2026, 6, 12, 6, 59)
    await deliverer.drain_once()
    assert not any("Reserves below $3T" in s.text for s in fake.to(507))
    clock["t"] = datetime(2026, 6, 12, 7, 0)                          # quiet hours end
    await deliverer.drain_once()
    assert any("Reserves below $3T" in s.text for s in fake.to(507))
    assert "Quiet hours off" in (await ask(fake, 507, "/quiet off"))[0]


async def test_a_digest_arrives_at_its_local_time(world, fake):
    from bot.digest import queue_due_digests

    store, engine, tg, _deliver, _ = world
    store.ensure_chat("telegram", "508", "private", None, "t")
    store.subscribe("telegram", "508", "reserves", "t")
    reply = (await ask(fake, 508, "/digest daily 08:00 Asia/Shanghai"))[0]
    assert reply == "Daily digest at 08:00 Asia/Shanghai."
    svc = tg.commands
    engine.evaluate(NOW)
    engine.evaluate(datetime(2026, 6, 12, 13), _new_print(store, "2026-06-10", 2.96e12))   # after the /digest
    assert queue_due_digests(svc, {"telegram"}, datetime(2026, 6, 12, 23, 59)) == 0       # 07:59 in Shanghai
    assert queue_due_digests(svc, {"telegram"}, datetime(2026, 6, 13, 0, 0)) == 1         # 08:00
    assert queue_due_digests(svc, {"telegram"}, datetime(2026, 6, 13, 0, 1)) == 0         # once
    await Deliverer(store, [tg], lambda: datetime(2026, 6, 13, 0, 0, 5)).drain_once()
    import asyncio

    await asyncio.to_thread(fake.wait_for, lambda s: any(x.method == "sendPhoto" for x in fake.to(508)), 20)
    digest = [x.text for x in fake.to(508) if x.method == "sendMessage"][-1]   # the alert's chart came after
    assert digest.startswith("<b>📋 Daily digest, 2026-06-12</b>")
    assert "\nAmple and " in digest                                     # the /status verdict
    assert "Since the last digest:" in digest and "Reserves below $3T" in digest
    assert "digest" not in (await ask(fake, 508, "/history"))[0]      # digests are not alerts
    assert "Usage: /digest" in (await ask(fake, 508, "/digest hourly"))[0]


async def test_personal_alerts_follow_a_migrated_group_and_skip_a_blocked_chat(world, fake):
    store, engine, _tg, _deliver, _ = world
    store.ensure_chat("telegram", "-509", "group", "Desk", "t")
    a = store.add_personal("telegram", "-509", "reserves", "<", 2.95e12, 1, "t", 50)
    store.ensure_chat("telegram", "510", "private", None, "t")
    b = store.add_personal("telegram", "510", "reserves", "<", 2.95e12, 1, "t", 50)
    store.mute("telegram", "-509", "personal", None, True, "t")
    store.migrate_chat("telegram", "-509", "-100509")
    assert [r[0] for r in store.personal_rules("telegram", "-100509")] == [a.id]
    assert store.mutes("t", "telegram", "-100509")[0][2] == "personal"
    store.unmute("telegram", "-100509", None)
    store.deactivate_chat("telegram", "510", "blocked")
    engine.evaluate(NOW)
    engine.evaluate(datetime(2026, 6, 11, 22), _new_print(store, "2026-06-10", 2.94e12))
    chats = {r[0] for r in store._rows("SELECT chat_id FROM outbox")}
    assert chats == {"-100509"}                       # the migrated group, not the blocked chat
    store.delete_personal("telegram", "-100509", a.number)
    c = store.add_personal("telegram", "-100509", "reserves", "<", 2.95e12, 1, "t", 50)
    assert c.id not in (a.id, b.id)                    # a deleted alert's rule id never comes back
