"""The real slack-bolt / slack-sdk against a local fake Web API and a fake Socket Mode server."""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from urllib.parse import urlencode

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier

from bot.chat.slack import SlackAdapter, blocks_for
from bot.commands import CommandService
from bot.config import Settings
from bot.delivery import Deliverer
from bot.format import AlertMessage
from bot.rules.lifecycle import Alert
from bot.rules.loader import load_rules
from tests.fakes.http import FakeServer
from tests.fakes.slack import FakeSlack, FakeSocketMode
from tests.proc import free_port
from tests.test_rules_loader import RULES

BOT_TOKEN = "xoxb-1111-2222-fakeslacktoken"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def signed(body: str, secret: str = SECRET, ts: int | None = None) -> dict:
    ts = int(time.time()) if ts is None else ts
    sig = SignatureVerifier(secret).generate_signature(timestamp=str(ts), body=body)
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": sig,
            "Content-Type": "application/x-www-form-urlencoded"}


def slash(text: str, channel: str = "C1", user: str = "U1") -> str:
    return urlencode({"token": "x", "team_id": "T1", "channel_id": channel, "channel_name": "desk", "user_id": user,
                      "command": "/liquidity", "text": text, "response_url": "http://127.0.0.1:9/r",
                      "trigger_id": "t1", "api_app_id": "A1"})


@pytest.fixture
def fake():
    with FakeServer() as server:
        yield FakeSlack(server)


def make(store, catalog, fake, **kw) -> SlackAdapter:
    rules = load_rules(RULES, catalog).rules
    settings = Settings(slack_bot_token=BOT_TOKEN, slack_api_url=fake.server.url + "/api/", **kw)
    return SlackAdapter(CommandService(store, catalog, lambda: rules, lambda: datetime(2026, 9, 1),
                                       admin_ids=settings.admin_ids), settings)


@pytest.fixture
async def http_mode(fake, history_store, catalog):
    adapter = make(history_store, catalog, fake, slack_signing_secret=SECRET, slack_port=free_port())
    await adapter.start()
    yield adapter, f"http://127.0.0.1:{adapter.port}/slack/events"
    await adapter.stop()


async def post(url: str, body: str, headers: dict) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(url, content=body, headers=headers, timeout=10)


async def test_signed_status_is_answered_and_the_chart_uploaded(http_mode, fake):
    _adapter, url = http_mode
    body = slash("status")
    resp = await post(url, body, signed(body))
    assert resp.status_code == 200
    reply = resp.json()
    assert reply["response_type"] == "in_channel"
    assert reply["text"].startswith("Stress score: too little fresh data\nAmple and ")  # the stress score, then the verdict
    fields = [f["text"] for b in reply["blocks"] if b["type"] == "section" for f in b.get("fields", [])]
    assert any(f.startswith("*Reserves*\n$3.014T") for f in fields)     # Block Kit fields, human labels
    assert any(f.startswith("*SOFR−IORB*") for f in fields)
    deadline = time.monotonic() + 10
    while not fake.uploads and time.monotonic() < deadline:
        import asyncio
        await asyncio.sleep(0.05)
    assert fake.uploads and fake.uploads[0]["channel"] == "C1"


@pytest.mark.parametrize("headers", [
    {"Content-Type": "application/x-www-form-urlencoded"},                     # unsigned
    "bad-secret",                                                             # wrong signature
    "stale",                                                                  # replayed 10 minutes later
])
async def test_unsigned_bad_or_stale_requests_get_401_and_do_nothing(http_mode, headers):
    adapter, url = http_mode
    body = slash("subscribe reserves", channel="CEVIL")
    if headers == "bad-secret":
        headers = signed(body, secret="not-the-secret")
    elif headers == "stale":
        headers = signed(body, ts=int(time.time()) - 600)
    resp = await post(url, body, headers)
    assert resp.status_code == 401
    assert adapter.commands.store.subscriptions("slack", "CEVIL") == []


async def test_subcommands_subscriptions_belong_to_the_channel(http_mode):
    adapter, url = http_mode
    for text, expected in (("subscribe reserves", "Subscribed to reserves alerts."),
                           ("subscribe reservez", "Did you mean reserves?"),
                           ("list", "reserves"), ("frobnicate", "Unknown command /liquidity frobnicate"),
                           ("", "/liquidity subscribe &lt;topic&gt;"), ("rules", "Reserves below $3T"),
                           ("help", "/liquidity chart &lt;metric&gt; [period]")):
        body = slash(text, channel="CDESK")
        resp = await post(url, body, signed(body))
        assert resp.status_code == 200 and expected in resp.json()["text"], text
    assert adapter.commands.store.subscriptions("slack", "CDESK") == ["reserves"]


async def test_app_mention_answers_in_the_thread(http_mode, fake):
    _adapter, url = http_mode
    body = json.dumps({"token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                       "event_id": "Ev1", "event_time": int(time.time()),
                       "event": {"type": "app_mention", "user": "U1", "text": "<@UBOT> list", "ts": "1.2",
                                 "channel": "CMENTION", "event_ts": "1.2"}})
    headers = signed(body) | {"Content-Type": "application/json"}
    resp = await post(url, body, headers)
    assert resp.status_code == 200
    assert fake.to("CMENTION") and "No subscriptions yet" in fake.to("CMENTION")[0].text


async def test_socket_mode_slash_command_is_acked(fake, store, catalog):
    ws = FakeSocketMode()
    await ws.start()
    fake.ws_url = ws.url
    adapter = make(store, catalog, fake, slack_app_token="xapp-1-A1-fakeapptoken")
    assert adapter.mode == "socket"
    await adapter.start()
    try:
        ack = await ws.slash_command("env-1", "subscribe repo", channel="CSOCK")
        assert ack["payload"]["text"] == "Subscribed to repo alerts."
        assert store.subscriptions("slack", "CSOCK") == ["repo"]
    finally:
        await adapter.stop()
        await ws.stop()


def message(state: str = "firing") -> AlertMessage:
    return AlertMessage("reserves_below_3t", "reserves", "warning", state,
                        "Bank reserves are $2.950T, below $3.000T (week ending 2026-06-10).",
                        "Below about $3T reserves have repeatedly turned scarce.", "2026-06-10", "Bank reserves",
                        "quarter-end: repo and reserves often move for a few days around it.",
                        heading="Reserves below $3T", facts="Value $2.950T · threshold $3.000T")


async def test_alerts_reach_feed_and_subscribed_channels_once_with_errors_handled(fake, store, catalog, caplog):
    caplog.set_level(logging.INFO, logger="bot")
    adapter = make(store, catalog, fake, slack_feed_channel="CFEED")
    for ch in ("CSUB", "CGONE", "CFEED"):
        store.ensure_chat("slack", ch, "channel", None, "t")
    store.subscribe("slack", "CSUB", "reserves", "t")
    store.subscribe("slack", "CGONE", "all", "t")
    store.subscribe("slack", "CFEED", "reserves", "t")  # also the feed: still once
    fake.faults["CGONE"] = [FakeSlack.error("not_in_channel")]
    fake.faults["CSUB"] = [FakeSlack.ratelimited(1), FakeSlack.ratelimited(1), FakeSlack.ratelimited(1)]
    dest = [(p, c, "sub") for p, c in store.subscribers("reserves")]
    dest += [("slack", "CFEED", "feed")] if ("slack", "CFEED", "sub") not in dest else []
    m = message()
    store.record("reserves_below_3t", Alert(), [({"topic": "reserves", "severity": "warning", "state": "firing",
                                                  "data_date": "2026-06-10", "value": 2.95e12, "text": m.to_text(),
                                                  "payload": m.to_json()}, dest)], "2026-06-11T00:00:00")
    clock = {"t": datetime(2026, 6, 11)}
    d = Deliverer(store, [adapter], lambda: clock["t"])
    await d.drain_once()
    for i in range(1, 6):  # the outbox (not the SDK) retries each 429 after its Retry-After
        clock["t"] = datetime(2026, 6, 11, 0, 0, 10 * i)
        await d.drain_once()
    assert len(fake.to("CFEED")) == 1 and len(fake.to("CSUB")) == 1 and fake.to("CGONE") == []
    attempts = store._one("SELECT attempts FROM outbox WHERE chat_id = 'CSUB'")[0]
    assert attempts == 4  # three 429s and the delivery: each try once, never retried twice over
    post_ = fake.to("CFEED")[0]
    assert post_.blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "⚠️ FIRING: Reserves below $3T",
                                                          "emoji": True}}
    assert "$2.950T, below $3.000T" in post_.blocks[1]["text"]["text"]
    assert post_.blocks[2]["text"]["text"].startswith("Value $2.950T · threshold $3.000T")
    assert post_.blocks[3]["text"]["text"].startswith("*Why it matters:*")
    context = next(b for b in post_.blocks if b["type"] == "context")
    assert "data as of 2026-06-10" in context["elements"][0]["text"]
    assert post_.blocks[-1]["type"] == "actions"                     # the buttons, last
    assert post_.text.startswith("⚠️ FIRING: Reserves below $3T\nBank reserves")  # plain-text fallback
    assert store.subscribers("reserves") == [("slack", "CFEED"), ("slack", "CSUB")]  # CGONE paused
    assert caplog.text.count("cannot post to CGONE (not_in_channel)") == 1
    assert BOT_TOKEN not in caplog.text


async def test_unsigned_garbage_gets_401_quietly(history_store, catalog, fake, caplog):
    import httpx

    caplog.set_level(logging.DEBUG)
    adapter = make(history_store, catalog, fake, slack_signing_secret=SECRET, slack_port=free_port())
    await adapter.start()
    try:
        url = f"http://127.0.0.1:{adapter.port}/slack/events"
        async with httpx.AsyncClient() as client:
            for body in (b"\xff\xfe garbage", b"{\"type\": \"url_verification\"", b"payload=%7B%7D"):
                r = await client.post(url, content=body, headers={"Content-Type": "application/json"})
                assert r.status_code == 401
    finally:
        await adapter.stop()
    assert "Traceback" not in caplog.text


async def _wait_uploads(fake, n: int) -> None:
    import asyncio

    deadline = time.monotonic() + 15
    while len(fake.uploads) < n and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


async def test_chart_subcommand_uploads_a_png(http_mode, fake):
    _adapter, url = http_mode
    body = slash("chart reserves 1y", channel="CCHART")
    resp = await post(url, body, signed(body))
    assert resp.status_code == 200 and resp.json()["response_type"] == "in_channel"
    await _wait_uploads(fake, 1)
    assert fake.uploads and fake.uploads[0]["channel"] == "CCHART"
    assert fake.uploads[0]["files"][0]["title"] == "Bank reserves, last year"
    wrong = slash("chart reservs", channel="CCHART")
    assert "Did you mean reserves?" in (await post(url, wrong, signed(wrong))).json()["text"]


async def test_echoed_user_text_cannot_ping_or_link(http_mode):
    _adapter, url = http_mode
    body = slash("subscribe <!channel> <https://evil.example|click>", channel="CESC")
    text = (await post(url, body, signed(body))).json()["text"]
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text and "<https://" not in text


async def test_slack_admin_only_limits_channel_changes(fake, history_store, catalog):
    adapter = make(history_store, catalog, fake, slack_signing_secret=SECRET, slack_port=free_port(),
                   slack_admin_only=True, admin_ids=frozenset({"UBOSS"}))
    fake.workspace_admins.add("UADMIN")
    await adapter.start()
    url = f"http://127.0.0.1:{adapter.port}/slack/events"
    try:
        for user, expected in (("UNOBODY", "Sorry, only this chat's administrators"),
                               ("UADMIN", "Subscribed to repo alerts."), ("UBOSS", "Already subscribed to repo.")):
            body = slash("subscribe repo", channel="CADM", user=user)
            assert expected in (await post(url, body, signed(body))).json()["text"], user
        body = slash("list", channel="CADM", user="UNOBODY")  # reading is for everyone
        assert "repo" in (await post(url, body, signed(body))).json()["text"]
    finally:
        await adapter.stop()
    assert history_store.subscriptions("slack", "CADM") == ["repo"]


async def test_a_chinese_channel_gets_chinese_status(http_mode):
    _adapter, url = http_mode
    body = slash("lang zh", channel="CZH")
    assert "简体中文" in (await post(url, body, signed(body))).json()["text"]
    body = slash("status", channel="CZH")
    reply = (await post(url, body, signed(body))).json()
    fields = [f["text"] for b in reply["blocks"] if b["type"] == "section" for f in b.get("fields", [])]
    assert any(f.startswith("*准备金*\n$3.014T") for f in fields)


async def test_alert_buttons_mute_and_chart(http_mode, fake):
    """Block Kit buttons under an alert (block_actions payloads as Slack posts them:
    https://api.slack.com/reference/interaction-payloads/block-actions)."""
    import asyncio

    from tests.fakes.http import Reply as HTTPReply

    adapter, url = http_mode
    store = adapter.commands.store
    store.ensure_chat("slack", "CBTN", "channel", None, "t")
    eid = store.record("reserves_below_3t", Alert(), [({"topic": "reserves", "severity": "warning", "state": "firing",
                                                       "data_date": "2026-06-10", "value": 2.95e12, "text": "x"}, [])],
                       "2026-06-11T00:00:00")[0]
    from dataclasses import replace

    blocks = blocks_for(replace(message(), event_id=eid, metric="reserves"))
    actions = next(b for b in blocks if b["type"] == "actions")["elements"]
    assert [a["text"]["text"] for a in actions] == ["Chart", "Mute 7d", "Mute until resolved"]
    responses: list[dict] = []
    fake.server.routes["/respond"] = lambda req: (responses.append(json.loads(req.body)), HTTPReply(200, "ok",
                                                                                                   "text/plain"))[1]

    async def press(action: dict, user: str = "U1") -> None:
        payload = {"type": "block_actions", "team": {"id": "T1", "domain": "desk"}, "api_app_id": "A1",
                   "user": {"id": user, "username": "u", "team_id": "T1"}, "token": "x", "trigger_id": "t1",
                   "container": {"type": "message", "message_ts": "1.1", "channel_id": "CBTN", "is_ephemeral": False},
                   "channel": {"id": "CBTN", "name": "desk"}, "response_url": fake.server.url + "/respond",
                   "actions": [{**action, "block_id": f"alert-{eid}", "action_ts": "1.2"}]}
        body = urlencode({"payload": json.dumps(payload)})
        assert (await post(url, body, signed(body))).status_code == 200

    await press(actions[2])
    for _ in range(100):
        if responses:
            break
        await asyncio.sleep(0.05)
    assert responses[-1]["text"] == "Muted Reserves below $3T until its alert resolves."
    assert responses[-1]["response_type"] == "ephemeral"
    assert store.mutes("2026-06-12T00:00:00", "slack", "CBTN")[0][2] == "reserves_below_3t"
    await press(actions[0])
    await _wait_uploads(fake, 1)
    assert fake.uploads[-1]["channel"] == "CBTN"


async def test_personal_alert_from_slack(http_mode):
    adapter, url = http_mode
    body = slash("alert reserves &lt; 2.95T", channel="CPERS")   # Slack escapes what users type
    text = (await post(url, body, signed(body))).json()["text"]
    assert text.startswith("Alert #") and "Bank reserves &lt; $2.950T" in text          # and we escape it back
    body = slash("alerts", channel="CPERS")
    assert "Bank reserves &lt; $2.950T: watching" in (await post(url, body, signed(body))).json()["text"]
    assert adapter.commands.store.personal_rules("slack", "CPERS")[0][3:6] == ("reserves", "<", 2.95e12)


async def test_a_hundred_commands_from_one_user_get_one_notice_and_do_not_hold_up_another(http_mode):
    import asyncio

    from bot.throttle import MAX_PENDING

    _adapter, url = http_mode
    flood = [slash("status", user="UFLOOD") for _ in range(100)]
    async with httpx.AsyncClient() as client:
        sent = [asyncio.create_task(client.post(url, content=b, headers=signed(b), timeout=30)) for b in flood]
        await asyncio.sleep(0.05)
        body = slash("help", user="UOTHER")
        other = await client.post(url, content=body, headers=signed(body), timeout=30)
        answers = [r.text for r in await asyncio.gather(*sent)]
    assert "Liquidity Bot watches" in other.json()["text"]            # the bystander is answered
    assert sum("Slow down" in a for a in answers) == 1                 # one notice for the flood
    assert sum('"in_channel"' in a for a in answers) <= 20 + MAX_PENDING  # the rest skipped


def signed_bytes(body: bytes, content_type: str | None) -> dict:
    """Slack's v0 signature over raw bytes (the SDK helper wants text; garbage may not be)."""
    import hashlib
    import hmac

    ts = str(int(time.time()))
    sig = "v0=" + hmac.new(SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig} | (
        {"Content-Type": content_type} if content_type else {})


FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize("body,content_type", [
    (b"", FORM),                                                                   # empty
    (b"\xff\xfe garbage", FORM),                                                   # not UTF-8
    (b"{not json", "application/json"),                                            # not JSON
    (b"[1, 2]", "application/json"),                                               # JSON, not an event
    (b'{"type": "event_callback", "event": 5}', "application/json"),              # bolt: 500 + traceback
    (b'{"type": "event_callback", "event": {"type": "app_mention"}}', "application/json"),  # no channel
    (b"payload=%7Bnot", FORM),                                                     # payload not JSON
    (b"payload=" + json.dumps({"type": "block_actions", "actions": [{}]}).encode(), FORM),  # bolt: 500
    (b"command=%2Fliquidity&text=status", FORM),                                   # no channel_id
    (slash("status").encode(), "text/plain"),                                      # wrong content type
    (slash("status").encode(), None),                                              # no content type
])
async def test_signed_malformed_bodies_get_400_with_one_line_and_no_traceback(http_mode, caplog, body,
                                                                               content_type):
    _adapter, url = http_mode
    caplog.set_level(logging.DEBUG)
    async with httpx.AsyncClient() as client:
        r = await client.post(url, content=body, headers=signed_bytes(body, content_type), timeout=10)
        again = await client.post(url, content=body, headers=signed_bytes(body, content_type), timeout=10)
    assert r.status_code == 400 and again.status_code == 400
    warnings = [x.getMessage() for x in caplog.records if x.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith("slack: refused a signed request: "), warnings
    assert "Traceback" not in caplog.text and "Error handling request" not in caplog.text


async def test_a_bad_signature_over_garbage_is_401_and_a_huge_body_413(http_mode, caplog):
    _adapter, url = http_mode
    caplog.set_level(logging.DEBUG)
    garbage = b"\xff\xfe garbage"
    async with httpx.AsyncClient() as client:
        forged = signed_bytes(garbage, FORM) | {"X-Slack-Signature": "v0=" + "0" * 64}
        assert (await client.post(url, content=garbage, headers=forged, timeout=10)).status_code == 401
        huge = b"command=%2Fliquidity&text=" + b"x" * 2_000_000
        assert (await client.post(url, content=huge, headers=signed_bytes(huge, FORM), timeout=30)).status_code == 413
        good = slash("help").encode()
        assert (await client.post(url, content=good, headers=signed_bytes(good, FORM), timeout=10)).status_code == 200
    warnings = [x.getMessage() for x in caplog.records if x.levelno >= logging.WARNING]
    assert warnings == ["slack: refused a request with a missing, wrong or stale signature (401)",
                        "slack: refused a request body over 1 MB (413)"]
    assert "Traceback" not in caplog.text
