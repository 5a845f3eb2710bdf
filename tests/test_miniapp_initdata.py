"""initData validation: only data Telegram signed for this bot, within a day, names a user."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlencode

import pytest

from bot.miniapp.initdata import InitDataError, validate
from tests.fakes.webapp import TOKEN, init_data

AUTH = 1_780_000_000
SIGNED_AT = datetime.fromtimestamp(AUTH, timezone.utc).replace(tzinfo=None)


def _edit(raw: str, **changes: str) -> str:
    fields = dict(parse_qsl(raw, keep_blank_values=True))
    fields.update(changes)
    return urlencode(fields)


def test_signed_init_data_names_the_user_and_their_private_chat():
    who = validate(init_data(user_id=4242, extra={"start_param": "alerts"}), TOKEN, SIGNED_AT)
    assert (who.user_id, who.chat_id, who.language_code, who.start_param) == ("4242", "4242", "en", "alerts")
    assert who.auth_date == SIGNED_AT


def test_every_field_telegram_sends_is_signed_including_signature():
    # Bot API 8.0 added `signature` (Ed25519, for third parties); the bot's HMAC covers it like any field.
    raw = init_data(extra={"signature": "zL-ucjNyREiHDE8aihFwpfR9aggP2xiAo3NSpfe-p7IbCdT", "start_param": "x"})
    assert validate(raw, TOKEN, SIGNED_AT).start_param == "x"
    with pytest.raises(InitDataError):
        validate(_edit(raw, signature="forged"), TOKEN, SIGNED_AT)


def test_accepted_up_to_a_day_old_and_refused_after():
    raw = init_data()
    assert validate(raw, TOKEN, datetime(2026, 5, 29, 20, 26, 39)).user_id == "1001"  # 23h59m later
    with pytest.raises(InitDataError):
        validate(raw, TOKEN, datetime(2026, 5, 29, 20, 26, 41))  # a day and a second


@pytest.mark.parametrize("make", [
    lambda: init_data(hash_="0" * 64),                                     # forged hash
    lambda: init_data(token="654321:another-bot"),                         # signed for another bot
    lambda: _edit(init_data(user_id=1001), user='{"id":2002,"first_name":"Eve"}'),   # tampered user
    lambda: _edit(init_data(), auth_date=str(AUTH + 3600)),                # tampered date
    lambda: urlencode([(k, v) for k, v in parse_qsl(init_data()) if k != "hash"]),  # no hash
    lambda: init_data() + "&user=%7B%22id%22%3A2002%7D",                   # a repeated field
    lambda: "",
    lambda: "x" * 5000,
])
def test_forged_tampered_or_missing_signature_is_refused(make):
    with pytest.raises(InitDataError):
        validate(make(), TOKEN, SIGNED_AT)


def test_signed_but_without_a_user_is_refused():
    with pytest.raises(InitDataError):
        validate(init_data(extra={"user": "{}"}), TOKEN, SIGNED_AT)


def test_no_token_configured_refuses_everything():
    with pytest.raises(InitDataError):
        validate(init_data(token=""), "", SIGNED_AT)
