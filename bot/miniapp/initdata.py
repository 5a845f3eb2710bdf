"""Telegram Mini App `initData`: parse it and check its signature, as Telegram documents
(core.telegram.org/bots/webapps, "Validating data received via the Mini App"). Pure: the caller
passes the bot token and `now`.

data_check_string = the received fields except `hash`, as sorted "key=value" lines joined by "\\n";
secret_key = HMAC_SHA256(key="WebAppData", msg=bot_token); the hash is the hex
HMAC_SHA256(key=secret_key, msg=data_check_string). `auth_date` older than MAX_AGE is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl

MAX_AGE = timedelta(days=1)
MAX_LENGTH = 4096      # real initData is well under 1 KB; longer is refused before any parsing
CLOCK_SKEW = timedelta(minutes=5)   # an auth_date this far ahead of our clock is still accepted


class InitDataError(ValueError):
    """initData that is missing, malformed, forged or too old (the API answers 401)."""


@dataclass(frozen=True)
class WebAppIdentity:
    """Who opened the Mini App, from signed data only."""

    user_id: str
    language_code: str | None
    username: str | None           # the private chat's title, as the chat adapter records it
    auth_date: datetime            # naive UTC
    chat_type: str | None          # "sender", "private", "group", ... (direct-link launches only)
    start_param: str | None

    @property
    def chat_id(self) -> str:
        """The chat the Mini App edits: the user's private chat with the bot (its id is the user's)."""
        return self.user_id


def sign(fields: dict[str, str], bot_token: str) -> str:
    """The hex hash Telegram puts in `hash` for these fields (without `hash` and in any order)."""
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "hash")
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    return hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()


def validate(raw: str, bot_token: str, now: datetime, max_age: timedelta = MAX_AGE) -> WebAppIdentity:
    """The identity in `raw` (the Mini App's initData query string) if Telegram signed it for this
    bot within `max_age` of `now` (naive UTC); InitDataError otherwise."""
    if not bot_token:
        raise InitDataError("no bot token to check against")
    if not raw or len(raw) > MAX_LENGTH:
        raise InitDataError("missing or oversized initData")
    pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=False)
    fields = dict(pairs)
    if len(fields) != len(pairs):   # a repeated key could show one value and sign another
        raise InitDataError("repeated field")
    given = fields.get("hash", "")
    if not given or not hmac.compare_digest(sign(fields, bot_token), given.lower()):
        raise InitDataError("bad signature")
    when = _auth_date(fields.get("auth_date", ""))
    if now - when > max_age or when - now > CLOCK_SKEW:
        raise InitDataError("expired initData")
    user = _user(fields.get("user", ""))
    lang, name = user.get("language_code"), user.get("username")
    return WebAppIdentity(str(user["id"]), lang if isinstance(lang, str) else None,
                          name[:64] if isinstance(name, str) else None, when,
                          fields.get("chat_type") or None, fields.get("start_param") or None)


def _auth_date(raw: str) -> datetime:
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 12):
        raise InitDataError("bad auth_date")
    return datetime.fromtimestamp(int(raw), timezone.utc).replace(tzinfo=None)


def _user(raw: str) -> dict[str, object]:
    try:
        user = json.loads(raw)
    except ValueError:
        raise InitDataError("bad user") from None
    if not isinstance(user, dict):
        raise InitDataError("bad user")
    uid = user.get("id")
    if not isinstance(uid, int) or isinstance(uid, bool) or uid <= 0:
        raise InitDataError("no user id")
    return {str(k): v for k, v in user.items()}
