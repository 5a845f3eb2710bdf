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
from tests.fakes.http import FakeServer
from tests.fakes.telegram import FakeTelegram
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
def fake():
    with FakeServer() as server:
        yield FakeTelegram(server, TOKEN)


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
    assert "FIRING" in (await ask(fake, 501, "/alerts"))[0]
    assert (await ask(fake, 501, "/alert delete 1")) == ["Alert #1 deleted."]
    assert (await ask(fake, 502, "/alert delete 1")) == ["This chat has no alert #1."]   # not another chat's
    assert store.personal_rules("telegram", "501") == []


async def test_fifty_alerts_a_chat(world, fake):
    store = world[0]
    for i in range(50):
        store.add_personal("telegram", "503", "reserves", "<", 2e12 + i, 1, "t", 50)
    assert "already has 50 personal alerts" in (await ask(fake, 503, "/alert reserves < 2T"))[0]


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
    assert "Muted reserves_below_3t until its alert resolves." in fake.answers[-1]["text"]
    assert store.mutes("2026-06-12T00:00:00", "telegram", "505")[0][2:] == ("reserves_below_3t", None, 1)
    await press(-506, "Mute 7d", user_id=66, chat_type="supergroup", title="Desk")   # not an admin
    assert fake.answers[-1]["show_alert"] and "administrators" in fake.answers[-1]["text"]
    assert store.mutes("2026-06-12T00:00:00", "telegram", "-506") == []
    # the mute "until resolved" ends when the alert resolves
    engine.evaluate(datetime(2026, 6, 18, 22), _new_print(store, "2026-06-17", 3.10e12))
    assert store.mutes("2026-06-19T00:00:00", "telegram", "505") == []
