"""/dashboard: a Mini App button in a Telegram private chat (real python-telegram-bot against the
fake Bot API), a pointer to the private chat in groups, a link on Slack, and how to set it up."""

from __future__ import annotations

import pytest

from bot.chat.telegram import TelegramAdapter
from bot.commands import CommandService, Ctx
from bot.config import ConfigError, load_settings
from bot.rules.loader import load_rules
from tests.fakes.telegram import TOKEN
from tests.test_rules_loader import RULES
from tests.test_telegram import NOW, ask

URL = "https://liquidity.example.org"


async def _bot(fake, store, catalog, url: str | None) -> tuple[CommandService, TelegramAdapter]:
    rules = load_rules(RULES, catalog).rules
    settings = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": fake.server.url,
                              **({"WEB_PUBLIC_URL": url + "/"} if url else {})}, dotenv=False)
    svc = CommandService(store, catalog, lambda: rules, lambda: NOW, web_public_url=settings.web_public_url)
    tg = TelegramAdapter(svc, settings)
    await tg.start()
    return svc, tg


async def test_private_chat_gets_a_mini_app_button_and_groups_a_pointer(fake, store, catalog):
    _svc, tg = await _bot(fake, store, catalog, URL)
    try:
        text = (await ask(fake, 501, "/dashboard"))[0]
        assert text == "Your personal alerts, mutes, quiet hours, digest and language on one page:"
        markup = fake.to(501)[-1].reply_markup
        assert markup == {"inline_keyboard": [[{"text": "Open the dashboard",
                                                "web_app": {"url": "https://liquidity.example.org/app/"}}]]}
        text = (await ask(fake, -100500, "/dashboard", user_id=501, chat_type="supergroup", title="Desk"))[0]
        assert text.startswith("Send /dashboard to me in a private chat")
        assert fake.to(-100500)[-1].reply_markup is None          # the Bot API allows web_app buttons only in private chats
        assert (await ask(fake, 502, "/lang zh"))[0]
        assert (await ask(fake, 502, "/dashboard"))[0] == "你的个人提醒、静音、免打扰时段、摘要和语言，尽在一个页面："
        assert fake.to(502)[-1].reply_markup["inline_keyboard"][0][0]["text"] == "打开仪表板"
        assert "/dashboard" in (await ask(fake, 503, "/help"))[0]
    finally:
        await tg.stop()


async def test_without_web_public_url_it_says_how_to_set_it(fake, store, catalog):
    _svc, tg = await _bot(fake, store, catalog, None)
    try:
        text = (await ask(fake, 504, "/dashboard"))[0]
        assert "set WEB_PUBLIC_URL=https://your.host" in text
        assert fake.to(504)[-1].reply_markup is None
    finally:
        await tg.stop()


async def test_slack_gets_a_link_to_the_public_page(store, catalog):
    svc = CommandService(store, catalog, lambda: [], lambda: NOW, web_public_url=URL)
    [reply] = await svc.dispatch(Ctx("slack", "C1", "channel"), "dashboard", [])
    assert reply.text == "The liquidity dashboard: https://liquidity.example.org/" and reply.link is None


@pytest.mark.parametrize("raw", ["http://liquidity.example.org", "liquidity.example.org", "https://"])
def test_web_public_url_must_be_https(raw):
    with pytest.raises(ConfigError, match="WEB_PUBLIC_URL"):
        load_settings({"WEB_PUBLIC_URL": raw}, dotenv=False)
