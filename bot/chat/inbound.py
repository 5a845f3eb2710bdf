"""Bodies that chat platforms POST to us (Slack HTTP mode, the Telegram webhook): checked for
the shapes the platform really sends before a framework parses them, and refused with one
short log line (at most one per kind a minute, so a flood cannot fill the log)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any
from urllib.parse import parse_qs

FORM, JSON = "application/x-www-form-urlencoded", "application/json"
SLACK_MAX_AGE = 300  # seconds: Slack's advice against replays


class RefusalLog:
    """One WARNING per kind of refused request per `every` seconds, counting the ones in between."""

    def __init__(self, logger: logging.Logger, every: float = 60.0) -> None:
        self.logger, self.every = logger, every
        self._last: dict[str, float] = {}
        self._quiet: dict[str, int] = {}

    def refused(self, kind: str, message: str) -> None:
        """Log `message` (no body content: it may be anyone's text) unless `kind` was logged lately."""
        now = time.monotonic()
        if now - self._last.get(kind, -self.every) < self.every:
            self._quiet[kind] = self._quiet.get(kind, 0) + 1
            return
        more = self._quiet.pop(kind, 0)
        self._last[kind] = now
        self.logger.warning("%s%s", message, f" (and {more} more like it in the last minute)" if more else "")


def slack_signed(secret: str, body: bytes, timestamp: str, signature: str, now: float | None = None) -> bool:
    """Slack's v0 signature (HMAC-SHA256 of `v0:<timestamp>:<raw body>`), at most 5 minutes old.

    Over the raw bytes, so a signed body that is not even UTF-8 is told apart from an unsigned one."""
    if not secret or not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > SLACK_MAX_AGE:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def slack_body_problem(body: bytes, content_type: str) -> str | None:
    """Why a body is not one Slack sends (a slash command or an interaction as a form, an Events
    API callback as JSON), or None. Bolt assumes those shapes: anything else would be a 500."""
    if not body:
        return "empty body"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "body is not UTF-8"
    if content_type == FORM:
        return _slack_form_problem(parse_qs(text))
    if content_type == JSON:
        doc = _json(text)
        if not isinstance(doc, dict) or not isinstance(doc.get("type"), str):
            return "JSON body is not an Events API request"
        if doc["type"] == "event_callback":
            event = doc.get("event")
            if not isinstance(event, dict) or not isinstance(event.get("type"), str):
                return "event_callback without an event"
            # Only app_mention reaches our handler; other events' fields are not ours to judge.
            if event["type"] == "app_mention" and not _strings(event, ("channel",), ("text", "user", "ts")):
                return "app_mention without a channel, or with fields that are not text"
        return None
    return f"content type {content_type or '(none)'} (Slack sends a form or JSON)"


def _slack_form_problem(form: dict[str, list[str]]) -> str | None:
    if "payload" in form:  # interactivity: buttons, menus
        payload = _json(form["payload"][0])
        if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
            return "form payload is not an interaction"
        actions = payload.get("actions", [])
        if not isinstance(actions, list) or not all(
                isinstance(a, dict) and _strings(a, ("action_id",), ("value", "block_id")) for a in actions):
            return "form payload's actions are not well-formed"
        if any(not isinstance(payload.get(k, {}), dict) for k in ("user", "channel", "container")):
            return "form payload's user or channel is not well-formed"
        return None
    if form.get("ssl_check"):  # Slack's certificate check
        return None
    if form.get("command"):
        return None if form.get("channel_id") else "slash command without a channel_id"
    return "form without a command or payload"


def _strings(d: dict[str, Any], required: tuple[str, ...], optional: tuple[str, ...]) -> bool:
    """The fields handlers read are strings: the required ones present, the optional ones if given."""
    return all(isinstance(d.get(k), str) for k in required) and all(
        isinstance(d[k], str) for k in optional if k in d)


def _json(text: str) -> object:
    """Parsed JSON, or None for text that is not JSON (or nests too deep to parse)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def telegram_update_problem(body: bytes, content_type: str) -> tuple[dict[str, Any] | None, str | None]:
    """The webhook body as a dict shaped like a Telegram Update, or why it is not one."""
    if content_type != JSON:
        return None, f"content type {content_type or '(none)'} (Telegram sends JSON)"
    try:
        doc = _json(body.decode("utf-8")) if body else None
    except UnicodeDecodeError:
        doc = None
    if not isinstance(doc, dict) or not isinstance(doc.get("update_id"), int) or isinstance(doc["update_id"], bool):
        return None, "not a JSON update (no integer update_id)"
    return doc, None
