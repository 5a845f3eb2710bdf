"""initData as a Telegram client hands it to a Mini App: URL-encoded fields, `user` as JSON, and a
`hash` made by the algorithm in core.telegram.org/bots/webapps ("Validating data received via the
Mini App"), written out here step by step rather than by calling the bot's own code."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import urlencode

TOKEN = "123456:TEST-token-for-mini-app"


def init_data(user_id: int = 1001, auth_date: int = 1_780_000_000, token: str = TOKEN, *,
              language_code: str = "en", extra: dict[str, str] | None = None, hash_: str | None = None) -> str:
    """A signed initData query string; `hash_` replaces the signature (a forgery)."""
    user = {"id": user_id, "first_name": "Ada", "username": "ada", "language_code": language_code,
            "allows_write_to_pm": True}
    fields = {"query_id": "AAHdF6IQAAAAAN0XohDhrOrc", "user": json.dumps(user, separators=(",", ":")),
              "auth_date": str(auth_date), "chat_type": "sender", "chat_instance": "-8428209589180549439",
              **(extra or {})}
    data_check_string = "\n".join(f"{k}={fields[k]}" for k in sorted(fields))
    secret_key = hmac.new(key=b"WebAppData", msg=token.encode(), digestmod=hashlib.sha256).digest()
    signature = hmac.new(key=secret_key, msg=data_check_string.encode(), digestmod=hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": hash_ if hash_ is not None else signature})
