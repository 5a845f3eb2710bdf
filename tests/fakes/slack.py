"""A fake Slack Web API (the methods the bot calls) and a fake Socket Mode WebSocket server."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import parse_qs

from aiohttp import WSMsgType, web

from tests.fakes.http import FakeServer, Reply, Request


@dataclass
class Posted:
    method: str
    channel: str
    text: str
    blocks: list | None
    token: str


def _params(req: Request) -> dict:
    """Query-string, form or JSON parameters (slack-sdk uses each for different methods)."""
    out = dict(req.query)
    ctype = req.headers.get("content-type", "")
    if ctype.startswith("application/json"):
        out.update(json.loads(req.body or b"{}"))
    elif req.body:
        out.update({k: v[-1] for k, v in parse_qs(req.body.decode(errors="replace")).items()})
    return out


class FakeSlack:
    """Serves /api/<method> like slack.com; records posts; injects per-channel errors."""

    def __init__(self, server: FakeServer, ws_url: str | None = None):
        self.server = server
        self.ws_url = ws_url
        self.posts: list[Posted] = []
        self.uploads: list[dict] = []
        self.faults: dict[str, list[Reply]] = defaultdict(list)
        self.workspace_admins: set[str] = set()
        self.views: list[dict] = []                      # views.publish calls: {"user_id", "view"}
        self.channels: dict[str, dict] = {}              # conversations.info answers by channel id
        for method in ("auth.test", "chat.postMessage", "files.getUploadURLExternal", "files.completeUploadExternal",
                       "apps.connections.open", "users.info", "views.publish", "conversations.info"):
            server.routes[f"/api/{method}"] = self._wrap(method)
        server.prefix_routes["/upload/"] = lambda req: Reply(200, f"OK - {len(req.body)}", "text/plain")

    def _wrap(self, method: str):
        def handle(req: Request) -> Reply:
            p = _params(req)
            token = req.headers.get("authorization", "").removeprefix("Bearer ")
            return getattr(self, "m_" + method.replace(".", "_"))(p, token)
        return handle

    def m_auth_test(self, p, token):
        if not token.startswith("xox"):
            return Reply(200, {"ok": False, "error": "invalid_auth"})
        return Reply(200, {"ok": True, "user": "liquidity", "user_id": "UBOT", "team_id": "T1", "bot_id": "B1"})

    def m_chat_postMessage(self, p, token):
        channel = p.get("channel", "")
        if self.faults.get(channel):
            return self.faults[channel].pop(0)
        blocks = p.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        self.posts.append(Posted("chat.postMessage", channel, p.get("text", ""), blocks, token))
        return Reply(200, {"ok": True, "channel": channel, "ts": f"{len(self.posts)}.0001", "message": {"text": p.get("text")}})

    def m_files_getUploadURLExternal(self, p, token):
        return Reply(200, {"ok": True, "upload_url": f"{self.server.url}/upload/F{len(self.uploads) + 1}",
                           "file_id": f"F{len(self.uploads) + 1}"})

    def m_files_completeUploadExternal(self, p, token):
        files = p.get("files")
        files = json.loads(files) if isinstance(files, str) else files
        self.uploads.append({"channel": p.get("channel_id"), "files": files})
        return Reply(200, {"ok": True, "files": [{"id": f["id"], "title": f.get("title", "")} for f in files]})

    def m_users_info(self, p, token):
        # The fields of Slack's user object that matter here: https://api.slack.com/methods/users.info
        user = p.get("user", "")
        admin = user in self.workspace_admins
        return Reply(200, {"ok": True, "user": {"id": user, "team_id": "T1", "name": user.lower(), "deleted": False,
                                                "is_admin": admin, "is_owner": False, "is_primary_owner": False,
                                                "is_bot": False}})

    def m_views_publish(self, p, token):
        # https://api.slack.com/methods/views.publish: `view` arrives as JSON (a string in a form); the
        # answer echoes the stored view with its id, hash and app fields (docs' example response).
        view = p.get("view")
        view = json.loads(view) if isinstance(view, str) else view
        if not p.get("user_id") or not isinstance(view, dict) or view.get("type") != "home":
            return Reply(200, {"ok": False, "error": "invalid_arguments"})
        if len(view.get("blocks", [])) > 100:
            return Reply(200, {"ok": False, "error": "invalid_blocks"})
        self.views.append({"user_id": p["user_id"], "view": view})
        return Reply(200, {"ok": True, "view": {"id": f"V{len(self.views)}", "team_id": "T1", "type": "home",
                                                "close": None, "submit": None, "blocks": view.get("blocks", []),
                                                "private_metadata": "", "callback_id": "", "state": {"values": {}},
                                                "hash": f"1567{len(self.views)}.1827394", "clear_on_close": False,
                                                "notify_on_close": False, "root_view_id": f"V{len(self.views)}",
                                                "previous_view_id": None, "app_id": "A1", "external_id": "",
                                                "bot_id": "B1"}})

    def m_conversations_info(self, p, token):
        # The conversation object's type flags (https://docs.slack.dev/reference/objects/conversation-object).
        channel = self.channels.get(p.get("channel", ""))
        if channel is None:
            return Reply(200, {"ok": False, "error": "channel_not_found"})
        kind = channel.get("kind", "public")
        return Reply(200, {"ok": True, "channel": {
            "id": p["channel"], "name": channel.get("name", "desk"), "is_channel": kind in ("public", "private"),
            "is_group": False, "is_im": kind == "im", "is_mpim": kind == "mpim", "is_private": kind != "public",
            "is_archived": False, "is_general": False, "is_member": True, "context_team_id": "T1"}})

    def m_apps_connections_open(self, p, token):
        if not token.startswith("xapp-"):
            return Reply(200, {"ok": False, "error": "not_allowed_token_type"})
        return Reply(200, {"ok": True, "url": self.ws_url})

    def to(self, channel: str) -> list[Posted]:
        return [p for p in self.posts if p.channel == channel]

    @staticmethod
    def error(name: str) -> Reply:
        return Reply(200, {"ok": False, "error": name})

    @staticmethod
    def ratelimited(retry_after: int = 1) -> Reply:
        return Reply(429, {"ok": False, "error": "ratelimited"}, headers={"Retry-After": str(retry_after)})


class FakeSocketMode:
    """A WebSocket endpoint that greets with `hello`, sends envelopes and collects acks."""

    def __init__(self) -> None:
        self.acks: dict[str, dict] = {}
        self._ws: web.WebSocketResponse | None = None
        self._connected = asyncio.Event()
        self._acked = asyncio.Event()
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/link", self._handler)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"ws://127.0.0.1:{self._runner.addresses[0][1]}/link"

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def _handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"},
                            "connection_info": {"app_id": "A1"}})
        self._ws = ws
        self._connected.set()
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                data = json.loads(msg.data)
                if "envelope_id" in data:
                    self.acks[data["envelope_id"]] = data
                    self._acked.set()
        return ws

    async def slash_command(self, envelope_id: str, text: str, channel: str = "C1") -> dict:
        """Deliver a /liquidity envelope and wait for the bot's ack."""
        await asyncio.wait_for(self._connected.wait(), 10)
        self._acked.clear()
        await self._ws.send_json({
            "envelope_id": envelope_id, "type": "slash_commands", "accepts_response_payload": True,
            "payload": {"token": "x", "team_id": "T1", "team_domain": "t", "channel_id": channel,
                        "channel_name": "desk", "user_id": "U1", "user_name": "u", "command": "/liquidity",
                        "text": text, "api_app_id": "A1", "response_url": "http://127.0.0.1:9/r",
                        "trigger_id": "t1"}})
        while envelope_id not in self.acks:
            await asyncio.wait_for(self._acked.wait(), 10)
            self._acked.clear()
        return self.acks[envelope_id]
