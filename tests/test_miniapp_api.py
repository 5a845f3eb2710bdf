"""The Mini App's API: only signed initData edits, and only the signer's own private chat; an edit
is what that chat then sees in /alerts through the real Telegram adapter (fake Bot API)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.chat.telegram import TelegramAdapter
from bot.commands import CommandService
from bot.config import Settings
from bot.miniapp.routes import MiniAppDeps, install
from bot.rules.loader import load_rules
from bot.throttle import Throttle
from tests.fakes.telegram import TOKEN
from tests.fakes.webapp import init_data
from tests.test_rules_loader import RULES
from tests.test_telegram import ask

AUTH = 1_780_000_000                      # when the test initData was signed
NOW = datetime.fromtimestamp(AUTH + 600, timezone.utc).replace(tzinfo=None)
ME, OTHER = 1001, 2002


def tma(raw: str) -> dict[str, str]:
    return {"Authorization": f"tma {raw}"}


def mine(user: int = ME, **kw) -> dict[str, str]:
    return tma(init_data(user_id=user, auth_date=AUTH, token=TOKEN, **kw))


@pytest.fixture
async def app(store, catalog):
    rules = load_rules(RULES, catalog).rules
    svc = CommandService(store, catalog, lambda: rules, lambda: NOW)
    aio = web.Application()
    install(aio, MiniAppDeps(svc, lambda: TOKEN, lambda: NOW, Throttle(burst=200, every=1.0, notice_every=0.0)))
    async with TestClient(TestServer(aio, host="127.0.0.1")) as client:
        yield svc, client


def snapshot(store) -> tuple:
    return (store.personal_rules(), store.mutes("2000-01-01"), store.chat_settings("telegram", str(ME)),
            store.digests())


@pytest.mark.parametrize("headers", [
    {},                                                                        # no initData at all
    tma(init_data(user_id=ME, auth_date=AUTH, token=TOKEN, hash_="ab" * 32)),  # forged hash
    tma(init_data(user_id=ME, auth_date=AUTH, token="999:another-bots-token")),  # another bot's
    tma(init_data(user_id=ME, auth_date=AUTH - 2 * 86400, token=TOKEN)),       # two days old
    {"Authorization": "Bearer " + init_data(user_id=ME, auth_date=AUTH, token=TOKEN)},  # wrong scheme
    tma(init_data(user_id=ME, auth_date=AUTH, token=TOKEN).replace("1001", "2002")),    # tampered user
])
async def test_without_valid_init_data_every_call_is_401_and_nothing_changes(app, headers):
    svc, client = app
    before = snapshot(svc.store)
    bodies = {"alert_add": {"metric": "reserves", "op": "<", "value": "2.95T"}, "alert_delete": {"number": "1"},
              "mute": {"target": "reserves", "how": "7d"}, "unmute": {"target": "all"},
              "quiet": {"spec": "22:00-07:00 UTC"}, "digest": {"spec": "daily 08:00"}, "lang": {"lang": "zh"}}
    for action, body in bodies.items():
        resp = await client.post(f"/app/api/{action}", json=body, headers=headers)
        assert resp.status == 401, action
        assert await resp.json() == {"error": "unauthorized"}
    resp = await client.get("/app/api/state", headers=headers)
    assert resp.status == 401
    assert snapshot(svc.store) == before
    assert svc.store.personal_rules() == [] and svc.store.language("telegram", str(ME)) is None


async def test_a_valid_edit_is_what_that_chat_sees_in_alerts_and_no_other_chat(app, fake):
    svc, client = app
    resp = await client.post("/app/api/alert_add", json={"metric": "reserves", "op": "<", "value": "2.95T"},
                             headers=mine())
    assert resp.status == 200
    body = await resp.json()
    assert body["message"].startswith("Alert #1 set: Bank reserves < $2.950T.")
    assert [(a["number"], a["title"], a["firing"]) for a in body["state"]["alerts"]] == [
        (1, "Reserves < $2.950T", False)]
    tg = TelegramAdapter(svc, Settings(telegram_bot_token=TOKEN, telegram_api_url=fake.server.url))
    await tg.start()
    try:
        assert (await ask(fake, ME, "/alerts"))[0] == "#1 Bank reserves &lt; $2.950T: watching"
        assert (await ask(fake, OTHER, "/alerts"))[0].startswith("No personal alerts yet.")
        assert (await ask(fake, ME, "/alert delete 1"))[0] == "Alert #1 deleted."
    finally:
        await tg.stop()
    theirs = await (await client.get("/app/api/state", headers=mine(OTHER))).json()
    assert theirs["alerts"] == [] and "2.950T" not in json.dumps(theirs)
    assert (await (await client.get("/app/api/state", headers=mine())).json())["alerts"] == []


async def test_deleting_another_chats_alert_by_number_deletes_only_your_own(app):
    svc, client = app
    await client.post("/app/api/alert_add", json={"metric": "rrp", "op": "<", "value": "50B"}, headers=mine(OTHER))
    resp = await client.post("/app/api/alert_delete", json={"number": "1"}, headers=mine())
    assert (await resp.json())["message"] == "This chat has no alert #1."
    assert [r[2] for r in svc.store.personal_rules()] == [str(OTHER)]


async def test_mutes_quiet_hours_digest_and_language_edit_the_chat_as_its_commands_do(app):
    svc, client = app
    await client.post("/app/api/alert_add", json={"metric": "reserves", "op": "<", "value": "2.95T", "for": "2"},
                      headers=mine())
    said = {}
    for action, body in (("mute", {"target": "#1", "how": "7d"}), ("mute", {"target": "repo", "how": "resolved"}),
                         ("quiet", {"spec": "22:00-07:00 Europe/London"}), ("digest", {"spec": "daily 08:00 UTC"}),
                         ("unmute", {"target": "repo"})):
        resp = await client.post(f"/app/api/{action}", json=body, headers=mine())
        assert resp.status == 200
        said[action] = await resp.json()
    state = said["unmute"]["state"]
    assert said["mute"]["message"] == "Muted repo until its alert resolves."
    assert [(m["target"], m["title"], m["until"]) for m in state["mutes"]] == [
        ("#1", "Your alert #1: Reserves < $2.950T", "2026-06-04T20:36")]     # the chat's number, not an id
    assert "personal_" not in json.dumps(state)
    assert state["alerts"][0]["for"] == 2
    assert (state["quiet"], state["digest"]) == ("22:00-07:00 Europe/London", "daily 08:00 UTC")
    assert svc.list("telegram", str(ME)).text.endswith("Muted: Your alert #1: Reserves < $2.950T (2026-06-04 20:36 UTC)")
    resp = await client.post("/app/api/lang", json={"lang": "zh"}, headers=mine())
    body = await resp.json()
    assert body["state"]["lang"] == "zh" and body["state"]["text"]["alerts"] == "个人提醒"
    assert svc.language("telegram", str(ME)) == "zh"
    off = await (await client.post("/app/api/quiet", json={"spec": "off"}, headers=mine())).json()
    assert off["state"]["quiet"] is None


async def test_bad_bodies_are_refused_and_change_nothing(app):
    svc, client = app
    for action, body in (("alert_add", {"metric": "reserves", "op": "<"}), ("alert_add", "[1, 2]"),
                         ("alert_add", {"metric": "delete", "op": "1", "value": "x"}), ("nosuch", {}),
                         ("mute", {"target": ["all"], "how": "7d"}), ("lang", "{not json")):
        data = body if isinstance(body, str) else json.dumps(body)
        resp = await client.post(f"/app/api/{action}", data=data, headers=mine())
        assert resp.status == 400, (action, body)
    big = json.dumps({"metric": "reserves", "op": "<", "value": "2.95T", "pad": "x" * 4000})
    resp = await client.post("/app/api/alert_add", data=big, headers=mine())
    assert resp.status == 413
    assert svc.store.personal_rules() == []


async def test_one_address_is_rate_limited(store, catalog):
    svc = CommandService(store, catalog, lambda: [], lambda: NOW)
    aio = web.Application()
    install(aio, MiniAppDeps(svc, lambda: TOKEN, lambda: NOW, Throttle(burst=5, every=3600.0, notice_every=0.0)))
    async with TestClient(TestServer(aio, host="127.0.0.1")) as client:
        codes = [(await client.get("/app/api/state", headers=mine())).status for _ in range(7)]
    assert codes == [200] * 5 + [429] * 2


async def test_the_page_loads_no_inline_script_and_no_secret(app):
    _svc, client = app
    resp = await client.get("/app/")
    html = await resp.text()
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert '<script src="static/app.js" defer></script>' in html       # relative: works under a path prefix
    assert html.count("<script") == 1 and " on" not in html.replace("<html", "").split("<body", 1)[1]
    js = await (await client.get("/app/static/app.js")).text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in js                                   # values go in with textContent only
    assert (await client.get("/app/static/../routes.py")).status == 404
    assert (await client.get("/app/static/initdata.py")).status == 404
    state = await (await client.get("/app/api/state", headers=mine())).text()
    for page in (html, js, state):
        assert TOKEN not in page and TOKEN.split(":")[1] not in page


async def test_installed_beside_other_routes_it_leaves_them_as_they_were(store, catalog):
    """wWeb's app (and /healthz, /metrics) keep their own answers and headers: install adds routes only."""
    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    svc = CommandService(store, catalog, lambda: [], lambda: NOW)
    aio = web.Application(client_max_size=1024)                      # as bot/health.py builds its app
    aio.router.add_get("/healthz", healthz)
    install(aio, MiniAppDeps.from_settings(Settings(telegram_bot_token=TOKEN), svc, lambda: NOW))
    async with TestClient(TestServer(aio, host="127.0.0.1")) as client:
        resp = await client.get("/healthz")
        assert await resp.json() == {"status": "ok"} and "Content-Security-Policy" not in resp.headers
        resp = await client.get("/app", allow_redirects=False)
        assert (resp.status, resp.headers["Location"]) == (302, "app/")
        body = {"metric": "reserves", "op": "<", "value": "2.95T", "pad": "x" * 1200}  # over 1 KB, under 2 KB
        resp = await client.post("/app/api/alert_add", json=body, headers=mine())
        assert resp.status == 200 and (await resp.json())["message"].startswith("Alert #1 set")
