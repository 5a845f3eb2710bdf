"""Slack's App Home tab: a signed app_home_opened event makes the bot publish the verdict, the table
and the public channels' subscriptions (slack-bolt against the fake Web API); nothing personal."""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest

from bot.catalog import default_catalog
from bot.chat.slack import SlackAdapter
from bot.commands import CommandService
from bot.config import Settings
from bot.rules.loader import load_rules
from tests.fakes.http import FakeServer
from tests.fakes.slack import FakeSlack
from tests.proc import free_port
from tests.test_rules_loader import RULES
from tests.test_slack import BOT_TOKEN, SECRET, post, signed

NOW = datetime(2026, 6, 12, 12)


@pytest.fixture
async def home(store):
    cat = default_catalog()
    for day, value in (("2026-05-27", 3.03e12), ("2026-06-03", 3.01e12)):
        store.add_observations("WRESBAL", [(day, value)], source="t", vintage=f"v{day}")
    rules = load_rules(RULES, cat).rules
    svc = CommandService(store, cat, lambda: rules, lambda: NOW)
    with FakeServer() as server:
        fake = FakeSlack(server)
        adapter = SlackAdapter(svc, Settings(slack_bot_token=BOT_TOKEN, slack_api_url=server.url + "/api/",
                                             slack_signing_secret=SECRET, slack_port=free_port()))
        await adapter.start()
        try:
            yield svc, fake, f"http://127.0.0.1:{adapter.port}/slack/events"
        finally:
            await adapter.stop()


def opened(user: str = "U1", tab: str = "home", channel: str = "DHOME") -> str:
    # Events API wrapper + app_home_opened, as in https://api.slack.com/events/app_home_opened
    return json.dumps({"token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                       "event_id": f"Ev{user}{tab}", "event_time": int(time.time()),
                       "event": {"type": "app_home_opened", "user": user, "channel": channel,
                                 "event_ts": "1515449522000016", "tab": tab}})


async def send(url: str, body: str) -> None:
    resp = await post(url, body, signed(body) | {"Content-Type": "application/json"})
    assert resp.status_code == 200


def texts(view: dict) -> str:
    out = []
    for b in view["blocks"]:
        out += [b.get("text", {}).get("text", "")] + [f["text"] for f in b.get("fields", [])]
        out += [e.get("text", "") for e in b.get("elements", [])]
    return "\n".join(out)


async def test_home_shows_verdict_table_and_only_public_channels_subscriptions(home):
    svc, fake, url = home
    store = svc.store
    for chat, kind, topics in (("CPUB", "public", ["reserves", "repo"]), ("CSECRET", "private", ["rrp"]),
                               ("DUSER", "im", ["srf"]), ("CGONE", None, ["tga"])):
        store.ensure_chat("slack", chat, "channel", None, "t")
        for t in topics:
            store.subscribe("slack", chat, t, "t")
        if kind:
            fake.channels[chat] = {"kind": kind, "name": chat.lower()}
    store.ensure_chat("slack", "DUSER", "channel", None, "t")
    store.add_personal("slack", "DUSER", "reserves", "<", 2.951e12, 1, "t", 50)   # someone's own alert
    store.ensure_chat("telegram", "42", "private", None, "t")
    store.subscribe("telegram", "42", "regime", "t")                              # another platform's chat
    await send(url, opened("U7"))
    [call] = fake.views
    assert call["user_id"] == "U7" and call["view"]["type"] == "home"
    shown = texts(call["view"])
    assert svc.status_text("en").text.split("\n")[0] in shown                      # the verdict
    assert "*Reserves*\n$3.010T" in shown                                          # the table, as fields
    assert "<#CPUB>: repo, reserves" in shown
    for secret in ("CSECRET", "DUSER", "CGONE", "rrp", "srf", "tga", "2.951", "42", "regime"):
        assert secret not in shown.replace("Regime", ""), secret


async def test_messages_tab_publishes_nothing_and_no_subscriptions_says_how(home):
    svc, fake, url = home
    await send(url, opened("U8", tab="messages"))
    assert fake.views == []
    svc.store.ensure_chat("slack", "DHOME", "channel", None, "t")
    svc.store.set_language("slack", "DHOME", "zh")                                # the user's DM with the bot
    await send(url, opened("U8"))
    shown = texts(fake.views[-1]["view"])
    assert "还没有公开频道订阅" in shown and "/liquidity subscribe reserves" in shown


async def test_an_unsigned_home_event_publishes_nothing(home):
    _svc, fake, url = home
    body = opened("U9")
    resp = await post(url, body, signed(body, secret="wrong-secret") | {"Content-Type": "application/json"})
    assert resp.status_code == 401 and fake.views == []
