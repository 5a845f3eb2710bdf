"""A fake Telegram Bot API server: `{root}/bot{token}/{method}`, as python-telegram-bot calls it.

Serves getMe, deleteWebhook, getUpdates (long polling), sendMessage, sendPhoto,
getChatMember, getChatAdministrators, setMyCommands; records every message; injects 429
(retry_after), 403 (blocked), 400 (chat migrated), 502 per chat; counts rate-limit
violations (30/s overall, 1/s per private chat, 20/min per group) instead of hiding them.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qs

from tests.fakes.http import FakeServer, Reply, Request

BOT_USER = {"id": 777, "is_bot": True, "first_name": "Liquidity", "username": "liquidity_test_bot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
ADMIN_RIGHTS = {"can_be_edited": False, "is_anonymous": False, "can_manage_chat": True, "can_delete_messages": True,
                "can_manage_video_chats": True, "can_restrict_members": True, "can_promote_members": False,
                "can_change_info": True, "can_invite_users": True, "can_post_stories": False,
                "can_edit_stories": False, "can_delete_stories": False}


TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijklmnop"  # the tests' bot token (the `fake` fixture)


@dataclass
class Sent:
    method: str
    chat_id: str
    text: str
    at: float
    photo: bytes | None = None
    reply_markup: dict | None = None   # inline keyboards, as sent


def parse_params(req: Request) -> tuple[dict[str, str], dict[str, bytes]]:
    """Form-encoded, JSON or multipart parameters (PTB sends files as multipart)."""
    ctype = req.headers.get("content-type", "")
    if ctype.startswith("multipart/"):
        msg = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {ctype}\r\n\r\n".encode() + req.body)
        fields, files = {}, {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename():
                files[name] = payload
            else:
                fields[name] = payload.decode()
        return fields, files
    if ctype.startswith("application/json"):
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in json.loads(req.body or b"{}").items()}, {}
    return {k: v[-1] for k, v in parse_qs(req.body.decode()).items()}, {}


def ok(result) -> Reply:
    return Reply(200, {"ok": True, "result": result})


def error(code: int, description: str, **parameters) -> Reply:
    body = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return Reply(code, body)


class FakeTelegram:
    def __init__(self, server: FakeServer, token: str, per_second: float = 30.0, enforce: bool = True):
        self.server, self.token = server, token
        self.per_second = per_second
        self.enforce = enforce  # answer a violation with 429, as Telegram would
        self.sent: list[Sent] = []
        self.updates: list[dict] = []
        self.admins: dict[str, set[int]] = defaultdict(set)   # chat id -> admin user ids
        self.faults: dict[str, list[Reply]] = defaultdict(list)  # chat id -> replies to send instead
        self.violations: list[str] = []
        # Seconds each coming send spends on the way in before Telegram counts it (a slow
        # network or a busy Bot API): popped one per sendMessage/sendPhoto.
        self.inbound_delays: list[float] = []
        self.menus: list[dict] = []    # setMyCommands calls: {"commands": [...], "language_code": ...}
        self.answers: list[dict] = []  # answerCallbackQuery calls
        self._next_update = 1
        self._next_message = 1
        self._cond = threading.Condition()
        self._recent: deque[float] = deque()
        self._chat_times: dict[str, list[float]] = defaultdict(list)
        server.prefix_routes[f"/bot{token}/"] = self.handle

    # ---- test API ------------------------------------------------------------------------
    def user_sends(self, chat_id: int, text: str, user_id: int | None = None, chat_type: str = "private",
                   title: str | None = None) -> None:
        """Queue a message update as Telegram would deliver it (with a bot_command entity)."""
        chat = {"id": chat_id, "type": chat_type}
        if title:
            chat["title"] = title
        else:
            chat["first_name"] = "User"
        msg = {"message_id": self._next_message, "date": int(time.time()), "chat": chat,
               "from": {"id": user_id or chat_id, "is_bot": False, "first_name": "User"}, "text": text}
        if text.startswith("/"):
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        self._next_message += 1
        with self._cond:
            self.updates.append({"update_id": self._next_update, "message": msg})
            self._next_update += 1
            self._cond.notify_all()

    def user_presses(self, chat_id: int, data: str, user_id: int | None = None, chat_type: str = "private",
                     title: str | None = None) -> str:
        """Queue a callback_query update: a user pressed an inline button under a bot message
        (fields as in https://core.telegram.org/bots/api#callbackquery). Returns its id."""
        chat = {"id": chat_id, "type": chat_type, **({"title": title} if title else {"first_name": "User"})}
        user = {"id": user_id or chat_id, "is_bot": False, "first_name": "User"}
        qid = f"q{self._next_update}"
        message = {"message_id": 1, "date": int(time.time()), "chat": chat, "text": "alert",
                   "from": {"id": BOT_USER["id"], "is_bot": True, "first_name": BOT_USER["first_name"]}}
        with self._cond:
            self.updates.append({"update_id": self._next_update, "callback_query": {
                "id": qid, "from": user, "message": message, "chat_instance": f"ci{chat_id}", "data": data}})
            self._next_update += 1
            self._cond.notify_all()
        return qid

    def m_answerCallbackQuery(self, p, f):
        self.answers.append({"id": p.get("callback_query_id"), "text": p.get("text"),
                             "show_alert": p.get("show_alert") in (True, "true", "True")})
        return ok(True)

    def to(self, chat_id: int | str) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == str(chat_id)]

    def wait_for(self, pred, timeout: float = 10.0) -> list[Sent]:
        """Block until pred(sent) is true (polling the record with a deadline)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred(self.sent):
                return self.sent
            time.sleep(0.02)
        raise AssertionError(f"condition not met; sent so far: {[(s.chat_id, s.text[:40]) for s in self.sent]}")

    # ---- wire ----------------------------------------------------------------------------
    def handle(self, req: Request) -> Reply:
        method = req.path.rsplit("/", 1)[-1]
        params, files = parse_params(req)
        fn = getattr(self, f"m_{method}", None)
        if fn is None:
            return error(404, "Not Found: method not found")
        return fn(params, files)

    def m_getMe(self, p, f):
        return ok(BOT_USER)

    def m_deleteWebhook(self, p, f):
        return ok(True)

    def m_setWebhook(self, p, f):
        self.webhook = p
        return ok(True)

    def m_setMyCommands(self, p, f):
        cmds = p.get("commands", "[]")
        self.menus.append({"commands": json.loads(cmds) if isinstance(cmds, str) else cmds,
                           "language_code": p.get("language_code")})
        return ok(True)

    def m_getUpdates(self, p, f):
        offset = int(p.get("offset", 0) or 0)
        wait = min(float(p.get("timeout", 0) or 0), 0.5)
        with self._cond:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            if not self.updates and wait:
                self._cond.wait(wait)
            return ok(list(self.updates))

    def m_getChatMember(self, p, f):
        chat, user = p["chat_id"], int(p["user_id"])
        u = {"id": user, "is_bot": False, "first_name": "User"}
        if user in self.admins[chat]:
            return ok({"status": "administrator", "user": u, **ADMIN_RIGHTS})
        return ok({"status": "member", "user": u})

    def m_getChatAdministrators(self, p, f):
        return ok([{"status": "administrator", "user": {"id": u, "is_bot": False, "first_name": "A"}, **ADMIN_RIGHTS}
                   for u in self.admins[p["chat_id"]]])

    def _violation(self, chat: str, now: float) -> str | None:
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        if len(self._recent) + 1 > self.per_second:
            return f"overall rate above {self.per_second:g}/s at {now:.3f}"
        times = self._chat_times[chat]
        if chat.startswith("-"):
            if len([t for t in times[-20:] if now - t < 60]) >= 20:
                return f"group {chat}: more than 20/min"
        elif times and now - times[-1] < 0.999:
            return f"chat {chat}: two messages {now - times[-1]:.3f}s apart"
        return None

    def _send(self, method: str, p: dict, photo: bytes | None) -> Reply:
        chat = p["chat_id"]
        with self._cond:
            delay = self.inbound_delays.pop(0) if self.inbound_delays else 0.0
        if delay:
            time.sleep(delay)
        with self._cond:
            if self.faults.get(chat):
                return self.faults[chat].pop(0)
            now = time.monotonic()
            problem = self._violation(chat, now)
            if problem:
                self.violations.append(problem)
                if self.enforce:
                    return self.too_many(1)
            self._recent.append(now)
            self._chat_times[chat].append(now)
            markup = p.get("reply_markup")
            markup = json.loads(markup) if isinstance(markup, str) else markup
            self.sent.append(Sent(method, chat, p.get("text") or p.get("caption") or "", now, photo, markup))
            msg = {"message_id": self._next_message, "date": int(time.time()),
                   "chat": {"id": int(chat), "type": "group" if chat.startswith("-") else "private"}}
            self._next_message += 1
        if photo is not None:
            msg["photo"] = [{"file_id": "f1", "file_unique_id": "u1", "width": 800, "height": 400}]
        else:
            msg["text"] = p.get("text", "")
        return ok(msg)

    def m_sendMessage(self, p, f):
        return self._send("sendMessage", p, None)

    def m_sendPhoto(self, p, f):
        return self._send("sendPhoto", p, f.get("photo", b""))

    # ---- canned faults -------------------------------------------------------------------
    @staticmethod
    def too_many(retry_after: int = 1) -> Reply:
        return error(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)

    @staticmethod
    def blocked() -> Reply:
        return error(403, "Forbidden: bot was blocked by the user")

    @staticmethod
    def migrated(new_id: int) -> Reply:
        return error(400, "Bad Request: group chat was upgraded to a supergroup chat", migrate_to_chat_id=new_id)

    @staticmethod
    def bad_gateway() -> Reply:
        return Reply(502, "<html>Bad Gateway</html>", "text/html")
