"""The Telegram Mini App's page in a real headless Chromium (Selenium; the same browser set-up and
xdist group as tests/test_web_browser.py): with signed initData in the URL fragment, as Telegram
passes it, the page lists the chat's personal alerts and its own form adds one that the chat then
sees in `/alerts` (and no other chat does); a forged or expired initData shows the page's
"expired" notice and changes nothing; a 360-px phone never scrolls sideways; a Chinese-speaking
user gets Chinese labels. One browser and one server (HealthServer, as in production) per module."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web

from bot.catalog import default_catalog
from bot.commands import CommandService, Ctx
from bot.miniapp.routes import MiniAppDeps, install
from bot.rules.loader import load_rules
from bot.store import Store
from bot.throttle import Throttle
from tests.fakes.webapp import TOKEN, init_data
from tests.test_rules_loader import RULES
from tests.test_web_browser import ThreadedServer, _errors, _open, browser  # noqa: F401  (the module's one Chromium)

pytestmark = pytest.mark.xdist_group("web_browser")   # the same group: one worker runs every Chromium test
AUTH = 1_780_000_000                                   # when the test initData was signed
NOW = datetime.fromtimestamp(AUTH + 600, timezone.utc).replace(tzinfo=None)
ME, OTHER, ZH = 1001, 2002, 3003
LOADED = "!!document.querySelector('#app h1')"         # render() ran: the state came back
FAILED = "!!document.getElementById('status').textContent.trim() && !document.querySelector('#app h1')"


class Server(ThreadedServer):
    """The Mini App's routes (as production wires them); the store and CommandService live on the
    server's thread (run() sends a coroutine to that loop)."""

    svc: CommandService

    def routes(self, store: Store) -> list[Callable[[web.Application], None]]:
        catalog = default_catalog()
        rules = load_rules(RULES, catalog).rules
        self.svc = CommandService(store, catalog, lambda: rules, lambda: NOW)
        deps = MiniAppDeps(self.svc, lambda: TOKEN, lambda: NOW, Throttle(burst=500, every=0.1, notice_every=0.0))
        return [functools.partial(install, deps=deps)]

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    with Server(tmp_path_factory.mktemp("miniapp") / "app.db") as srv:
        yield srv


def page(srv: Server, user: int = ME, **kw: Any) -> str:
    """/app/ as Telegram opens it: the initData URL-encoded once more in the fragment."""
    raw = init_data(user_id=user, auth_date=kw.pop("auth_date", AUTH), token=TOKEN, **kw)
    return f"http://127.0.0.1:{srv.port}/app/#tgWebAppData={quote(raw, safe='')}"


def visit(driver, url: str, ready: str = LOADED, width: int = 1280):
    driver.get("about:blank")        # a new fragment alone would not reload the page
    driver.get_log("browser")        # start clean
    return _open(driver, url, width, ready)


def alerts_reply(srv: Server, user: int) -> str:
    """What that private chat sees when it sends /alerts."""
    async def ask() -> str:
        replies = await srv.svc.dispatch(Ctx("telegram", str(user), "private", user_id=str(user)), "alerts", [])
        return "\n".join(r.text for r in replies)
    return str(srv.run(ask()))


def personal_rules(srv: Server) -> list[Any]:
    async def read() -> list[Any]:
        return list(srv.svc.store.personal_rules())  # type: ignore[union-attr]
    return list(srv.run(read()))


def shown_alerts(driver) -> list[str]:
    """The alerts list (the page's first list) as a user reads it, its Delete buttons aside; read in one
    script, as the page may be replacing the list meanwhile."""
    return list(driver.execute_script("return [...document.querySelectorAll('#app ul:first-of-type li')]"
                                      ".map(li => li.firstChild.textContent)"))


def test_a_valid_init_data_lists_the_chats_alerts_and_the_form_adds_one_that_chat_sees_in_alerts(browser, server):  # noqa: F811
    from selenium.webdriver.support.ui import Select, WebDriverWait

    d = visit(browser, page(server))
    assert d.find_element("tag name", "h1").text == "Liquidity Bot: your alerts and settings"
    assert shown_alerts(d) == ["No personal alerts yet."]
    assert _errors(d) == []

    # One alert made in the chat shows on the next open.
    server.run(server.svc.dispatch(Ctx("telegram", str(ME), "private", user_id=str(ME)), "alert",  # type: ignore[union-attr]
                                   ["rrp", "<", "50B"]))
    d = visit(browser, page(server))
    assert shown_alerts(d) == ["#1 ON RRP < $50.0B: watching"]

    # The page's own form: pick, type, click.
    form = d.find_element("css selector", "#app form")
    Select(form.find_element("name", "metric")).select_by_value("reserves")
    Select(form.find_element("name", "op")).select_by_value("<")
    form.find_element("name", "value").send_keys("2.95T")
    form.find_element("tag name", "button").click()
    WebDriverWait(d, 10).until(lambda dr: len(shown_alerts(dr)) == 2)
    assert shown_alerts(d)[1] == "#2 Reserves < $2.950T: watching"
    assert d.find_element("id", "status").text.startswith("Alert #2 set: Bank reserves < $2.950T.")
    assert _errors(d) == []

    assert alerts_reply(server, ME) == "#1 ON RRP < $50.0B: watching\n#2 Bank reserves < $2.950T: watching"
    assert alerts_reply(server, OTHER).startswith("No personal alerts yet.")

    # Delete from the page: gone from /alerts too.
    d.find_elements("css selector", "#app ul:first-of-type li button")[1].click()
    WebDriverWait(d, 10).until(lambda dr: len(shown_alerts(dr)) == 1)
    assert alerts_reply(server, ME) == "#1 ON RRP < $50.0B: watching" and _errors(d) == []


@pytest.mark.parametrize("how", ["forged", "expired", "missing"])
def test_a_forged_expired_or_missing_init_data_shows_the_notice_and_changes_nothing(browser, server, how):  # noqa: F811
    before = personal_rules(server)
    url = {"forged": page(server, hash_="ab" * 32), "expired": page(server, auth_date=AUTH - 2 * 86400),
           "missing": page(server).split("#")[0]}[how]
    if how == "missing":   # a tab with no earlier session: sessionStorage is per origin, so clear it there
        browser.get(f"http://127.0.0.1:{server.port}/healthz")
        browser.execute_script("sessionStorage.clear()")
    d = visit(browser, url, ready=FAILED)
    notice = d.find_element("id", "status").text
    if how == "missing":   # no initData at all (opened outside Telegram, no earlier session in this tab)
        assert notice == "Open this page from Telegram: send /dashboard to the bot in a private chat."
    else:
        assert notice == "This session has expired. Close the page and send /dashboard again."
    assert d.find_elements("css selector", "#app form") == [] and d.find_elements("tag name", "h1") == []
    # An edit sent anyway, by the page's own request code with the same initData, is refused too.
    refused = d.execute_async_script("const done = arguments[arguments.length - 1];"
                                     "call('alert_add', {metric: 'reserves', op: '<', value: '1T'})"
                                     ".then(() => done('accepted'), (err) => done(err.message));")
    assert refused == notice
    # The only console error is the refused request itself.
    assert all("401" in str(e["message"]) for e in _errors(d)), _errors(d)
    assert personal_rules(server) == before


def test_a_360px_phone_never_scrolls_sideways(browser, server):  # noqa: F811
    d = visit(browser, page(server), width=360)
    width, inner = d.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert inner <= 360 and width <= 360, width
    assert _errors(d) == []


def test_a_chinese_speaking_user_gets_chinese_labels(browser, server):  # noqa: F811
    d = visit(browser, page(server, ZH, language_code="zh"), width=360)
    assert d.find_element("tag name", "html").get_attribute("lang") == "zh-Hans"
    text = d.find_element("id", "app").text
    assert "个人提醒" in text and "Personal alerts" not in text
    width = d.execute_script("return document.documentElement.scrollWidth")
    assert width <= 360, width
    assert _errors(d) == []
