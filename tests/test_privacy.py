"""Personal alerts are private to their chat: every command, button and digest, seen from a
Telegram chat and a Slack channel at once (real python-telegram-bot and slack-bolt against
the fakes); per-chat numbers, bounds, duplicates and the 50-a-chat cap in the database."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from datetime import datetime
from urllib.parse import urlencode

import pytest

from bot.catalog import default_catalog
from bot.chat.slack import SlackAdapter
from bot.chat.telegram import TelegramAdapter
from bot.commands import CommandService
from bot.config import Settings
from bot.delivery import Deliverer
from bot.engine import Engine
from bot.rules.loader import load_rules
from bot.store.sqlite import SQLiteStore
from tests.fakes.http import FakeServer
from tests.fakes.http import Reply as HTTPReply
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import TOKEN
from tests.proc import free_port
from tests.test_rules_loader import RULES
from tests.test_slack import BOT_TOKEN, SECRET, post, signed
from tests.test_telegram import ask

NOW = datetime(2026, 6, 12, 12)
TG, SL = 601, "CPRIV"
TG_LINE, SL_LINE = "2.951T", "2.967T"      # each chat's private threshold, as replies would print it


def _print(store, day: str, dollars: float) -> dict[str, str]:
    store.add_observations("WRESBAL", [(day, dollars)], source="t", vintage=f"v{day}")
    return {"WRESBAL": day}


@pytest.fixture
async def both(fake, store):
    """Reserves at $3.01T, the engine, the Telegram bot and the Slack app (HTTP mode) on one store."""
    cat = default_catalog()
    _print(store, "2026-05-27", 3.03e12)
    _print(store, "2026-06-03", 3.01e12)
    rules = load_rules(RULES, cat).rules
    engine = Engine(store, cat, rules, platforms={"telegram", "slack"})
    svc = CommandService(store, cat, lambda: engine.file_rules, lambda: NOW)
    tg = TelegramAdapter(svc, Settings(telegram_bot_token=TOKEN, telegram_api_url=fake.server.url))
    with FakeServer() as server:
        slack_fake = FakeSlack(server)
        sl = SlackAdapter(svc, Settings(slack_bot_token=BOT_TOKEN, slack_api_url=server.url + "/api/",
                                        slack_signing_secret=SECRET, slack_port=free_port()))
        await tg.start()
        await sl.start()
        try:
            yield svc, engine, tg, sl, slack_fake
        finally:
            await sl.stop()
            await tg.stop()


async def slack_says(sl: SlackAdapter, text: str, channel: str = SL, user: str = "U1") -> str:
    body = urlencode({"token": "x", "team_id": "T1", "channel_id": channel, "channel_name": "desk",
                      "user_id": user, "command": "/liquidity", "text": text,
                      "response_url": "http://127.0.0.1:9/r", "trigger_id": "t1", "api_app_id": "A1"})
    resp = await post(f"http://127.0.0.1:{sl.port}/slack/events", body, signed(body))
    assert resp.status_code == 200
    return resp.json()["text"]


async def test_every_listing_shows_a_chat_only_its_own_personal_alerts(both, fake):
    svc, engine, tg, sl, slack_fake = both
    store = svc.store
    assert (await ask(fake, TG, "/subscribe reserves"))[0] == "Subscribed to reserves alerts."
    assert (await ask(fake, TG, f"/alert reserves < {TG_LINE}"))[0].startswith("Alert #1 set")
    assert (await slack_says(sl, "subscribe reserves")) == "Subscribed to reserves alerts."
    assert (await slack_says(sl, f"alert reserves &lt; {SL_LINE}")).startswith("Alert #1 set")  # numbered per chat
    assert (await slack_says(sl, "alert rrp &lt; 50B")).startswith("Alert #2 set")
    engine.evaluate(NOW)
    engine.evaluate(datetime(2026, 6, 11, 22), _print(store, "2026-06-10", 2.94e12))   # all three fire
    await Deliverer(store, [tg, sl], lambda: NOW).drain_once()
    await asyncio.gather(*tg._charts)    # the alert's chart follows it: let it arrive before we ask
    assert (await ask(fake, TG, "/mute #1 7d"))[0] == "Muted Your alert #1: Reserves &lt; $2.951T until 2026-06-19 12:00 UTC."
    assert (await slack_says(sl, "mute #1 resolved")).startswith("Muted Your alert #1: Reserves &lt; $2.967T")

    tg_texts = {cmd: (await ask(fake, TG, cmd))[0] for cmd in ("/history", "/history all", "/alerts", "/list",
                                                               "/rules", "/help")}
    tg_texts["/status"] = (await ask(fake, TG, "/status", n=2))[0]
    tg_texts["alerts sent"] = "\n".join(s.text or "" for s in fake.to(TG))
    sl_texts = {cmd: await slack_says(sl, cmd) for cmd in ("history", "history all", "alerts", "list", "rules",
                                                           "status", "help")}
    sl_texts["alerts sent"] = "\n".join(str(p) for p in slack_fake.to(SL))
    sl_texts["digest"] = svc.digest_message("slack", SL, "daily", "2026-06-01", "en")
    tg_texts["digest"] = svc.digest_message("telegram", str(TG), "daily", "2026-06-01", "en")

    for where, texts, foreign in (("telegram", tg_texts, (SL_LINE, "$50.0B")), ("slack", sl_texts, (TG_LINE,))):
        for cmd, text in texts.items():
            assert "personal_" not in text, (where, cmd, text)                  # never a raw id
            for line in foreign:
                assert line not in text, (where, cmd, text)                      # never another chat's threshold
    # ... and each sees its own, by number and title
    assert "FIRING Your alert #1: Reserves &lt; $2.951T (2026-06-10)" in tg_texts["/history"]
    assert "FIRING Reserves below $3T (2026-06-10)" in tg_texts["/history"]           # the shared rules' too
    assert "• Your alert #1: Reserves &lt; $2.951T" in tg_texts["/status"]
    assert "#1 Bank reserves &lt; $2.951T: FIRING" in tg_texts["/alerts"]
    assert "Muted: Your alert #1: Reserves &lt; $2.951T (2026-06-19 12:00 UTC)" in tg_texts["/list"]
    assert "Your alert #1: Reserves < $2.951T (2026-06-10)" in tg_texts["digest"]
    assert "Your alert #1: Reserves &lt; $2.967T" in sl_texts["history"]
    assert "Your alert #1: Reserves &lt; $2.967T" in sl_texts["status"]
    assert "#2 ON RRP" in sl_texts["alerts"]
    assert "Your alert #1: Reserves < $2.967T (2026-06-10)" in sl_texts["digest"]


async def test_buttons_never_cross_chats_or_roles(both, fake):
    svc, engine, _tg, sl, slack_fake = both
    store = svc.store
    store.ensure_chat("slack", SL, "channel", None, "t")
    theirs = store.add_personal("slack", SL, "reserves", "<", 2.967e12, 1, "t", 50)
    store.ensure_chat("telegram", str(TG), "private", None, "t")
    mine = store.add_personal("telegram", str(TG), "reserves", "<", 2.951e12, 1, "t", 50)
    store.ensure_chat("telegram", "-100700", "channel", "Desk news", "t")
    store.subscribe("telegram", "-100700", "reserves", "t")
    engine.evaluate(NOW)
    engine.evaluate(datetime(2026, 6, 11, 22), _print(store, "2026-06-10", 2.94e12))
    events = {e["rule_id"]: e["id"] for e in store.recent_events(limit=20)}

    async def press(chat: int, data: str, **kw) -> dict:
        before = len(fake.answers)
        fake.user_presses(chat, data, **kw)
        await asyncio.to_thread(fake.wait_for, lambda s: len(fake.answers) > before, 20)
        return fake.answers[-1]

    # a Telegram chat pressing "Mute" on the Slack channel's personal alert (a crafted callback)
    answer = await press(TG, f"m7|{events[f'personal_{theirs.id}']}")
    assert answer["show_alert"] and "too old" in answer["text"]
    assert store.mutes("2026-06-12T00:00:00", "telegram", str(TG)) == []
    # a channel subscriber who is not an admin presses "Mute 7d" under a channel post
    answer = await press(-100700, f"m7|{events['reserves_below_3t']}", user_id=66, chat_type="channel",
                         title="Desk news")
    assert answer["show_alert"] and "administrators" in answer["text"]
    assert store.mutes("2026-06-12T00:00:00", "telegram", "-100700") == []
    fake.admins["-100700"].add(5)
    answer = await press(-100700, f"m7|{events['reserves_below_3t']}", user_id=5, chat_type="channel",
                         title="Desk news")
    assert not answer["show_alert"] and answer["text"].startswith("Muted Reserves below $3T until")
    for data in ("m7|²", "mr|99999999999999999999999999999999"):     # garbage in a button: a clear answer
        assert "too old" in (await press(TG, data))["text"]
    # the Slack channel pressing "Mute 7d" on the Telegram chat's personal alert (a crafted action)
    responses: list[dict] = []
    slack_fake.server.routes["/respond"] = lambda req: (responses.append(json.loads(req.body)),
                                                        HTTPReply(200, "ok", "text/plain"))[1]
    payload = {"type": "block_actions", "team": {"id": "T1", "domain": "desk"}, "api_app_id": "A1",
               "user": {"id": "U1", "username": "u", "team_id": "T1"}, "token": "x", "trigger_id": "t1",
               "container": {"type": "message", "message_ts": "1.1", "channel_id": SL, "is_ephemeral": False},
               "channel": {"id": SL, "name": "desk"}, "response_url": slack_fake.server.url + "/respond",
               "actions": [{"action_id": "liquidity_mute_7d", "type": "button", "value":
                            str(events[f"personal_{mine.id}"]), "block_id": "alert-1", "action_ts": "1.2"}]}
    body = urlencode({"payload": json.dumps(payload)})
    assert (await post(f"http://127.0.0.1:{sl.port}/slack/events", body, signed(body))).status_code == 200
    for _ in range(200):
        if responses:
            break
        await asyncio.sleep(0.05)
    assert "too old" in responses[-1]["text"]
    assert store.mutes("2026-06-12T00:00:00", "slack", SL) == []


async def test_a_mute_until_resolved_ends_only_in_its_own_chat(both):
    svc, engine, *_ = both
    store = svc.store
    for chat, line in (("701", 2.95e12), ("702", 2.98e12)):
        store.ensure_chat("telegram", chat, "private", None, "t")
        store.add_personal("telegram", chat, "reserves", "<", line, 1, "t", 50)
        store.mute("telegram", chat, "personal", None, True, "t")
    engine.evaluate(NOW)
    engine.evaluate(datetime(2026, 6, 11, 22), _print(store, "2026-06-10", 2.97e12))   # 702's fires
    engine.evaluate(datetime(2026, 6, 18, 22), _print(store, "2026-06-17", 3.10e12))   # and resolves
    assert store.mutes("t", "telegram", "702") == []                                   # its own mute ended
    assert [m[2] for m in store.mutes("t", "telegram", "701")] == ["personal"]        # the other chat's stays


async def test_an_alert_that_already_holds_says_so_at_once_and_tells_when_it_stops(both, fake):
    svc, engine, tg, *_ = both
    store = svc.store
    for day in ("2026-03-04", "2026-03-11", "2026-04-01", "2026-05-06"):   # below $3.05T for months
        _print(store, day, 3.02e12)
    engine.evaluate(NOW)
    reply = (await ask(fake, 611, "/alert reserves < 3.05T"))[0]
    assert reply == ("Alert #1 set: Bank reserves &lt; $3.050T. Now: $3.010T (2026-06-03). This already holds now: "
                     "Bank reserves $3.010T (2026-06-03). I will tell this chat when it stops holding and when it "
                     "holds again.")
    assert engine.evaluate(NOW) == []          # learnt silently: it has held since March, no stale "news"
    engine.evaluate(datetime(2026, 6, 11, 22), _print(store, "2026-06-10", 3.10e12))   # it stops holding
    await Deliverer(store, [tg], lambda: NOW).drain_once()
    assert any("RESOLVED: Reserves &lt; $3.050T</b>" in s.text for s in fake.to(611)), [
        s.text for s in fake.to(611)]
    not_yet = (await ask(fake, 611, "/alert reserves < 2.9T"))[0]
    assert not_yet.endswith("I will tell this chat when it happens.") and "already holds" not in not_yet


async def test_hostile_alert_input_gets_usage_or_range_never_a_crash(both, fake):
    svc, *_ = both
    huge = "9" * 62
    cases = {
        f"/alert reserves < {huge}T": "reserves takes a value above $0 and at most $100.000T.",
        "/alert reserves < -1T": "reserves takes a value above $0 and at most $100.000T.",
        "/alert sofr > 60%": "sofr takes a value from -5.00% to 50.00%.",
        "/alert sofr_iorb_spread > 5000bp": "sofr_iorb_spread takes a value from -1000 bp to +1000 bp.",
        "/alert reserves < 2²T": "is not a number with a unit",
        f"/alert reserves < 3T for {'9' * 30}": "I did not understand that alert.",
        "/alert delete ²": "Which alert? /alerts shows their numbers.",
        f"/alert delete {'9' * 30}": "Which alert? /alerts shows their numbers.",
        f"/mute all {'9' * 30}d": "Usage: /mute",
        "/mute #²  7d": "Usage: /mute",
    }
    for i, (text, expected) in enumerate(cases.items()):   # a chat each: ten in a minute would be throttled
        reply = (await ask(fake, 640 + i, text))[0]
        assert expected in reply and "went wrong" not in reply, (text, reply)
    assert svc.store.personal_rules() == []
    ok = (await ask(fake, 621, "/alert rrp_change_1w < -50B"))[0]          # a change may be negative
    assert ok.startswith("Alert #1 set: ON RRP 1-week change &lt; -$50.0B")
    assert (await ask(fake, 621, "/alert rrp_change_1w < -50000M"))[0] == (
        "This alert is already set as #1: ON RRP 1-week change &lt; -$50.0B.")     # a duplicate: its number
    assert len(svc.store.personal_rules("telegram", "621")) == 1


async def test_one_absurd_stored_alert_does_not_silence_the_others(both, fake, caplog):
    svc, engine, tg, *_ = both
    store = svc.store
    store.ensure_chat("telegram", "631", "private", None, "t")
    store.subscribe("telegram", "631", "reserves", "t")
    # stored by an older version, before bounds: its title cannot even be built
    store._run("INSERT INTO personal_rules (platform, chat_id, metric, op, value, for_n, created_at, number)"
               " VALUES ('telegram', '632', 'reserves', '<', ?, 1, 't', 1)", [float("9" * 62) * 1e12])
    store.set_meta("personal_version", "x")
    engine.evaluate(NOW)
    engine.evaluate(datetime(2026, 6, 11, 22), _print(store, "2026-06-10", 2.96e12))
    await Deliverer(store, [tg], lambda: NOW).drain_once()
    assert any("Reserves below $3T" in (s.text or "") for s in fake.to(631))         # the subscriber's alert came
    assert sum("not a valid rule" in r.getMessage() for r in caplog.records
               if r.levelno >= logging.WARNING) == 1                                 # logged once, not per pass


async def test_a_rule_whose_evaluation_raises_is_logged_once_and_the_others_go_on(both, fake, caplog,
                                                                                  monkeypatch):
    import bot.engine

    svc, engine, tg, *_ = both
    store = svc.store
    store.ensure_chat("telegram", "633", "private", None, "t")
    store.subscribe("telegram", "633", "reserves", "t")
    broken = store.add_personal("telegram", "634", "reserves", "<", 2.97e12, 1, "t", 50)
    real = bot.engine.first_run

    def first_run(rule, *args, **kw):  # a bug that only this one rule hits
        if rule.id == f"personal_{broken.id}":
            raise ZeroDivisionError("boom")
        return real(rule, *args, **kw)

    monkeypatch.setattr(bot.engine, "first_run", first_run)
    engine.evaluate(NOW)
    engine.evaluate(datetime(2026, 6, 11, 22), _print(store, "2026-06-10", 2.96e12))
    await Deliverer(store, [tg], lambda: NOW).drain_once()
    assert any("Reserves below $3T" in (s.text or "") for s in fake.to(633))
    assert sum("evaluation failed" in r.getMessage() for r in caplog.records) == 1


# ---- the store: numbers, the cap under concurrency, the migration ------------------------
@pytest.fixture(params=["sqlite", "postgres"])
def store_pair(request, tmp_path):
    """Two connections to one database, as two replicas (or threads) would have."""
    if request.param == "sqlite":
        a, b = SQLiteStore(tmp_path / "s.db"), SQLiteStore(tmp_path / "s.db")
    else:
        from bot.store.postgres import PostgresStore

        url = request.getfixturevalue("pg_url")
        a, b = PostgresStore(url), PostgresStore(url)
    yield a, b
    a.close()
    b.close()


def test_two_replicas_adding_at_once_never_pass_fifty(store_pair):
    a, b = store_pair
    a.ensure_chat("telegram", "9", "private", None, "t")
    start = threading.Barrier(2)
    results: list = []

    def add(s, offset: int) -> None:
        start.wait()
        for i in range(40):
            results.append(s.add_personal("telegram", "9", "reserves", "<", 1e12 + (offset + i) * 1e9, 1, "t", 50))

    threads = [threading.Thread(target=add, args=(s, k * 100)) for k, s in enumerate((a, b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = a.personal_rules("telegram", "9")
    assert len(rows) == 50 and sum(r is None for r in results) == 30
    assert sorted(r[7] for r in rows) == list(range(1, 51))                       # #1..#50, each once
    assert b.add_personal("telegram", "10", "rrp", "<", 1e11, 1, "t", 50).number == 1   # a new chat starts at #1


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_the_migration_numbers_existing_alerts_per_chat(kind, tmp_path, monkeypatch, request):
    import bot.store.migrations as migrations

    if kind == "sqlite":
        where, opener = tmp_path / "old.db", SQLiteStore
    else:
        from bot.store.postgres import PostgresStore

        where, opener = request.getfixturevalue("pg_url"), PostgresStore
    full = list(migrations.MIGRATIONS)
    monkeypatch.setattr(migrations, "MIGRATIONS", [m for m in full if m.name != "mC01_personal_number"])
    old = opener(where)
    for chat in ("1", "2", "1", "3", "2", "1"):   # global ids 1..6, as before this change
        old._run("INSERT INTO personal_rules (platform, chat_id, metric, op, value, for_n, created_at)"
                 " VALUES ('telegram', ?, 'reserves', '<', 3e12, 1, 't')", [chat])
    from bot.rules.lifecycle import Alert

    old.save_states([("personal_3", Alert(), "abc"), ("reserves_below_3t", Alert(), "def")], "t")
    old.close()
    monkeypatch.setattr(migrations, "MIGRATIONS", full)
    new = opener(where)
    assert [(r[0], r[2], r[7]) for r in new.personal_rules()] == [
        (1, "1", 1), (2, "2", 1), (3, "1", 2), (4, "3", 1), (5, "2", 2), (6, "1", 3)]
    # "#2" in its text is a new definition: continued from its state, not replayed (no repeated alert)
    assert new.rule_hashes() == {"personal_3": None, "reserves_below_3t": "def"}
    new.close()


def test_history_deletion_and_mutes_stay_in_their_chat_on_both_databases(store_pair):
    from bot.rules.lifecycle import Alert

    s, _other = store_pair
    for chat in ("1", "2"):
        s.ensure_chat("telegram", chat, "private", None, "t")
    mine = s.add_personal("telegram", "1", "reserves", "<", 2.95e12, 1, "t", 50)
    theirs = s.add_personal("telegram", "2", "reserves", "<", 2.97e12, 1, "t", 50)
    for rule_id, topic in ((f"personal_{mine.id}", "personal"), (f"personal_{theirs.id}", "personal"),
                           ("reserves_below_3t", "reserves")):
        s.record(rule_id, Alert(), [({"topic": topic, "severity": "warning", "state": "firing",
                                      "data_date": "2026-06-10", "value": 2.94e12, "text": "x"}, [])], "t")
    seen = [(e["rule_id"], e["personal_number"]) for e in s.chat_history("telegram", "1")]
    assert seen == [("reserves_below_3t", None), (f"personal_{mine.id}", 1)]
    assert [e["rule_id"] for e in s.chat_history("telegram", "1", "personal")] == [f"personal_{mine.id}"]
    assert s.personal_owner(f"personal_{theirs.id}") == ("telegram", "2") and s.personal_owner("personal_²") is None
    for chat in ("1", "2"):
        s.mute("telegram", chat, "personal", None, True, "t")
    assert s.end_resolved_mutes([f"personal_{theirs.id}", "personal"], ("telegram", "2")) == 1
    assert [m[:3] for m in s.mutes("t")] == [("telegram", "1", "personal")]
    assert not s.delete_personal("telegram", "1", 2) and s.delete_personal("telegram", "2", 1)
    assert [r[0] for r in s.personal_rules()] == [mine.id]
