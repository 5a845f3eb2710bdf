"""The real python-telegram-bot Application against a local fake Bot API server."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import pytest

from bot.chat.telegram import TelegramAdapter
from bot.commands import CommandService
from bot.config import Settings
from bot.delivery import Deliverer
from bot.rules.loader import load_rules
from bot.throttle import MAX_PENDING
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.test_chart_marks import fill
from tests.test_rules_loader import RULES

NOW = datetime(2026, 9, 1, 12)


@pytest.fixture
async def adapter(fake, store, catalog):
    rules = load_rules(RULES, catalog).rules
    settings = Settings(telegram_bot_token=TOKEN, telegram_api_url=fake.server.url, admin_ids=frozenset({"9"}))
    reloads = []

    async def fake_reload() -> str:
        reloads.append(1)
        return "reloaded 15 rules"
    commands = CommandService(store, catalog, lambda: rules, lambda: NOW, admin_ids=settings.admin_ids)
    commands.reload_rules = fake_reload
    tg = TelegramAdapter(commands, settings)
    await tg.start()
    yield tg
    await tg.stop()


async def ask(fake: FakeTelegram, chat: int, text: str, n: int = 1, **kw) -> list[str]:
    """Send a message as a user and return the texts of the next `n` replies to that chat."""
    before = len(fake.to(chat))
    fake.user_sends(chat, text, **kw)
    await asyncio.to_thread(fake.wait_for, lambda s: len([x for x in s if x.chat_id == str(chat)]) >= before + n)
    return [s.text for s in fake.to(chat)[before:]]


async def test_subscribe_list_unsubscribe_through_real_updates(adapter, fake, store):
    assert "Welcome to Liquidity Bot" in (await ask(fake, 42, "/start"))[0]
    assert (await ask(fake, 42, "/subscribe reserves")) == ["Subscribed to reserves alerts."]
    assert store.subscriptions("telegram", "42") == ["reserves"]
    assert (await ask(fake, 42, "/subscribe reserves")) == ["Already subscribed to reserves."]
    assert "reserves" in (await ask(fake, 42, "/list"))[0]
    wrong = (await ask(fake, 42, "/subscribe reservez"))[0]
    assert "Unknown topic 'reservez'. Did you mean reserves?" in wrong and "net_liquidity" in wrong
    assert "Which topic?" in (await ask(fake, 42, "/subscribe"))[0]
    assert (await ask(fake, 42, "/unsubscribe all")) == ["Unsubscribed from everything (1 topic(s))."]
    assert store.subscriptions("telegram", "42") == []


async def test_groups_only_admins_change_subscriptions(adapter, fake, store):
    fake.admins["-100"].add(5)
    refused = await ask(fake, -100, "/subscribe repo", user_id=6, chat_type="supergroup", title="Desk")
    assert refused == ["Sorry, only this chat's administrators can change its subscriptions and settings."]
    assert store.subscriptions("telegram", "-100") == []
    ok = await ask(fake, -100, "/subscribe@liquidity_test_bot repo", user_id=5, chat_type="supergroup", title="Desk")
    assert ok == ["Subscribed to repo alerts."]
    assert store.subscriptions("telegram", "-100") == ["repo"]  # the chat's, not the user's
    assert "repo" in (await ask(fake, -100, "/list", user_id=6, chat_type="supergroup", title="Desk"))[0]


async def test_status_sends_a_table_and_a_png_chart(adapter, fake, history_store, catalog):
    adapter.commands.store = history_store
    replies = await ask(fake, 42, "/status", n=2)
    # Rules not evaluated yet: the regime is learnt from history (as `liquidity-bot status` shows it).
    # The stress score first: today is months after the files end, so there is none to give.
    assert replies[0].startswith("Stress score: too little fresh data\nAmple and ")
    assert "<pre>Reserves" in replies[0] and "$3.014T" in replies[0]
    assert "SOFR−IORB" in replies[0] and "bp" in replies[0] and "Firing:" in replies[0]
    photo = fake.to(42)[-1]
    assert photo.method == "sendPhoto" and photo.photo.startswith(b"\x89PNG") and len(photo.photo) > 5000
    chart = await ask(fake, 42, "/chart sofr_iorb_spread 1y")
    assert fake.to(42)[-1].method == "sendPhoto" and "SOFR - IORB" in chart[0]
    assert "Unknown metric 'reservs'. Did you mean reserves?" in (await ask(fake, 42, "/chart reservs"))[0]


async def test_nonsense_gets_a_short_helpful_reply(adapter, fake):
    assert (await ask(fake, 42, "/frobnicate now"))[0].startswith("Unknown command /frobnicate.")
    long = (await ask(fake, 42, "/subscribe " + "Ω" * 5000))[0]
    assert "Unknown topic" in long and len(long) < 600
    assert "No alerts yet" in (await ask(fake, 42, "/history"))[0]
    rules = (await ask(fake, 42, "/rules"))[0]
    assert "Reserves below $3T [reserves, warning]: reserves &lt; $3.000T (clears at $3.050T)" in rules


async def test_reload_is_for_bot_admins_only(adapter, fake):
    assert "for the bot's administrators" in (await ask(fake, 42, "/reload"))[0]
    assert (await ask(fake, 9, "/reload")) == ["reloaded 15 rules"]


async def test_alerts_reach_exactly_the_subscribed_chats_with_errors_handled(adapter, fake, store, caplog):
    caplog.set_level(logging.DEBUG, logger="bot")
    for chat, topic in (("1", "reserves"), ("2", "all"), ("3", "repo"), ("4", "reserves"), ("-5", "reserves")):
        store.ensure_chat("telegram", chat, "private", None, "t")
        store.subscribe("telegram", chat, topic, "t")
    fake.faults["4"] = [FakeTelegram.blocked()]
    fake.faults["-5"] = [FakeTelegram.migrated(-1005)]
    fake.faults["2"] = [FakeTelegram.too_many(1)]
    text = "⚠️ FIRING: reserves_below_3t\nBank reserves are $2.950T, below $3.000T <week 2026-06-10>"
    store.record("reserves_below_3t", __import__("bot.rules.lifecycle", fromlist=["Alert"]).Alert(),
                 [({"topic": "reserves", "severity": "warning", "state": "firing", "data_date": "2026-06-10",
                    "value": 2.95e12, "text": text}, [(p, c, "sub") for p, c in store.subscribers("reserves")])],
                 "2026-06-11T00:00:00")
    clock = {"t": datetime(2026, 6, 11)}
    deliverer = Deliverer(store, [adapter], lambda: clock["t"])
    await deliverer.drain_once()
    clock["t"] = datetime(2026, 6, 11, 0, 0, 5)  # past the 429's retry_after
    await deliverer.drain_once()
    got = {s.chat_id for s in fake.sent}
    assert got == {"1", "2", "-1005"}                        # not 3 (repo), not 4 (blocked)
    assert all(fake.to(c)[0].text.startswith("<b>⚠️ FIRING: reserves_below_3t</b>") for c in got)
    assert "&lt;week 2026-06-10&gt;" in fake.to("1")[0].text    # HTML escaped
    assert store.subscribers("reserves") == [("telegram", "-1005"), ("telegram", "1"), ("telegram", "2")]
    assert store.outbox_counts() == {"pending": 0, "sent": 3, "failed": 1}
    assert len(fake.to("1")) == 1 and not fake.violations
    assert TOKEN not in caplog.text and TOKEN.split(":")[1] not in caplog.text


def test_tokens_never_reach_the_log(capsys):
    from bot.logsetup import setup_logging

    setup_logging("DEBUG", "text", [TOKEN, "xoxb-slack-secret"])
    logging.getLogger("httpx").warning("HTTP Request: POST http://x/bot%s/getMe", TOKEN)
    logging.getLogger("bot.x").error("failed with xoxb-slack-secret and %s", {"token": TOKEN})
    try:
        raise RuntimeError(f"boom {TOKEN}")
    except RuntimeError:
        logging.getLogger("bot.x").exception("oops")
    err = capsys.readouterr().err
    assert err.count("***") >= 4 and TOKEN not in err and "xoxb-slack-secret" not in err
    logging.getLogger().handlers.clear()


def webhook_adapter(fake, store, catalog) -> tuple[TelegramAdapter, int]:
    """A Telegram adapter in webhook mode (secret "s3cret-Token") on a free local port."""
    from tests.proc import free_port

    port = free_port()
    settings = Settings(telegram_bot_token=TOKEN, telegram_api_url=fake.server.url,
                        telegram_webhook_url="https://bot.example/telegram", telegram_webhook_secret="s3cret-Token",
                        telegram_webhook_port=port)
    return TelegramAdapter(CommandService(store, catalog, lambda: [], lambda: NOW), settings), port


async def test_webhook_mode_checks_the_secret_token(fake, store, catalog):
    import httpx

    tg, port = webhook_adapter(fake, store, catalog)
    await tg.start()
    try:
        assert fake.webhook["url"] == "https://bot.example/telegram" and fake.webhook["secret_token"] == "s3cret-Token"
        update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 42, "type": "private"},
                                              "from": {"id": 42, "is_bot": False, "first_name": "U"}, "text": "/help",
                                              "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}
        async with httpx.AsyncClient() as client:
            url = f"http://127.0.0.1:{port}/telegram"
            bad = await client.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"})
            none = await client.post(url, json=update)
            assert bad.status_code == 403 and none.status_code == 403
            await asyncio.sleep(0.3)
            assert fake.to(42) == []  # nothing was processed
            secret = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token"}
            junk = await client.post(url, content=b"{not json", headers=secret)
            huge = await client.post(url, content=b"{" + b" " * 2_000_000 + b"}", headers=secret)
            assert junk.status_code == 400 and huge.status_code == 413
            good = await client.post(url, json=update, headers=secret)
            assert good.status_code == 200
        await asyncio.to_thread(fake.wait_for, lambda s: len(s) == 1)
        assert "/subscribe" in fake.to(42)[0].text
    finally:
        await tg.stop()


@pytest.mark.parametrize("body,content_type", [
    (b"", "application/json"),                                                   # empty
    (b"\xff\xfe", "application/json"),                                           # not UTF-8
    (b"[1, 2]", "application/json"),                                             # JSON, not an update
    (b'{"update_id": "one"}', "application/json"),                               # update_id not a number
    (b'{"update_id": 1, "message": 5}', "application/json"),                     # PTB: 500 + traceback
    (b"[" * 100_000 + b"]" * 100_000, "application/json"),                       # RecursionError: 500
    (b'{"update_id": 1}', "text/plain"),                                         # wrong content type
])
async def test_webhook_bodies_that_are_not_updates_get_400_with_one_line(fake, store, catalog, caplog, body,
                                                                         content_type):
    import httpx

    caplog.set_level(logging.DEBUG)
    tg, port = webhook_adapter(fake, store, catalog)
    await tg.start()
    try:
        headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token", "Content-Type": content_type}
        async with httpx.AsyncClient() as client:
            url = f"http://127.0.0.1:{port}/telegram"
            codes = [(await client.post(url, content=body, headers=headers)).status_code for _ in range(2)]
    finally:
        await tg.stop()
    assert codes == [400, 400]
    warnings = [x.getMessage() for x in caplog.records if x.levelno >= logging.WARNING and x.name.startswith("bot")]
    assert len(warnings) == 1 and warnings[0].startswith("telegram webhook: refused a body: "), warnings
    assert "Traceback" not in caplog.text and "Error handling request" not in caplog.text


async def test_a_user_the_bot_cannot_reply_to_does_not_break_it(adapter, fake, caplog):
    caplog.set_level(logging.ERROR, logger="bot")
    fake.faults["77"] = [FakeTelegram.blocked()]
    fake.user_sends(77, "/help")
    for _ in range(200):  # the reply waits out the limiter's start-up pause first: poll, don't guess
        if "error handling an update" in caplog.text:
            break
        await asyncio.sleep(0.05)
    assert "error handling an update" in caplog.text and "Forbidden" in caplog.text
    assert (await ask(fake, 77, "/list"))[0].startswith("No subscriptions yet")  # still serving


async def test_a_reply_that_gets_a_429_is_sent_again_after_the_wait(adapter, fake):
    fake.faults["91"] = [FakeTelegram.too_many(1)]
    replies = await ask(fake, 91, "/help")
    assert "Liquidity Bot watches" in replies[0] and not fake.faults["91"]  # the 429 was answered


async def test_a_flooding_user_is_throttled_and_a_bystander_is_answered_at_once(adapter, fake):
    import time

    for _ in range(300):
        fake.user_sends(77, "/list")
    t0 = time.monotonic()
    replies = await ask(fake, 88, "/help")
    assert "Liquidity Bot watches" in replies[0] and time.monotonic() - t0 < 20  # blocked: 120 s
    await asyncio.to_thread(fake.wait_for, lambda s: any("Slow down" in x.text for x in s if x.chat_id == "77"), 20)
    await asyncio.sleep(2.5)  # anything else for the flooder would have arrived by now
    to_flooder = [x.text for x in fake.to(77)]
    assert sum("Slow down" in t for t in to_flooder) == 1          # one notice, then silence
    assert len(to_flooder) <= MAX_PENDING + 1                       # at most two commands queued, and the notice
    assert "Slow down" in to_flooder[1]                             # right after the reply already going out


async def test_a_chart_button_pressed_sixty_times_sends_a_chart_or_two_and_one_notice(adapter, fake, store):
    fill(store)  # two years of weekly reserves
    for _ in range(60):
        fake.user_presses(66, "c|reserves")
    await asyncio.to_thread(fake.wait_for, lambda s: any(x.method == "sendPhoto" for x in s if x.chat_id == "66"), 60)
    await asyncio.sleep(3)
    sent = fake.to(66)
    assert 1 <= sum(x.method == "sendPhoto" for x in sent) <= MAX_PENDING
    notices = [a for a in fake.answers if "Slow down" in (a["text"] or "")]
    assert len(notices) == 1 and notices[0]["show_alert"]              # one pop-up, not a chat message
    assert not any("Slow down" in x.text for x in sent)
    await asyncio.to_thread(fake.wait_for, lambda s: len(fake.answers) == 60, 20)  # every press answered: no spinner left


def test_throttle_allows_a_burst_then_one_command_every_six_seconds():
    from bot.throttle import Throttle

    now = [0.0]
    t = Throttle(burst=20, every=6, notice_every=60, clock=lambda: now[0])
    assert [t.check("u") for _ in range(20)] == ["ok"] * 20        # twenty charts in a row
    assert t.check("u") == "warn" and t.check("u") == "drop"        # then the notice, once
    assert t.check("v") == "ok"                                     # nobody else notices
    now[0] = 6.0
    assert t.check("u") == "ok" and t.check("u") == "drop"          # one more every 6 s, no quiet-period punishment
    now[0] = 70.0
    later = [t.check("u") for _ in range(12)]                       # ten tokens have come back
    assert later == ["ok"] * 10 + ["warn", "drop"]                  # a later flood hears the notice again


def test_browsing_fifteen_charts_then_six_a_minute_for_an_hour_is_never_throttled():
    from bot.throttle import Throttle

    now = [0.0]
    t = Throttle(clock=lambda: now[0])
    verdicts = []
    for i in range(375):
        verdicts.append(t.check("u"))
        now[0] += 2.0 if i < 15 else 10.0   # fifteen in the first half minute, then one every 10 s
    assert set(verdicts) == {"ok"}


async def test_replies_to_one_chat_keep_their_order(adapter, fake):
    for topic in ("reserves", "repo", "rrp"):  # as many as one user may have waiting (MAX_PENDING)
        fake.user_sends(55, f"/subscribe {topic}")
    await asyncio.to_thread(fake.wait_for, lambda s: len(fake.to(55)) >= 3, 20)
    assert [x.text for x in fake.to(55)] == [f"Subscribed to {t} alerts." for t in ("reserves", "repo", "rrp")]


