"""The dashboard in a real headless Chromium (Debian's chromium + chromium-driver, driven by
Selenium; .ci/install-chromium installs them): the overview loads with no console errors and
shows the values of `status --json`, a chart renders, the zh switch changes the labels, and a
360-px-wide phone never scrolls sideways. One browser and one server for the whole module."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Coroutine, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from aiohttp import web

from bot.catalog import default_catalog
from bot.cli import main as cli
from bot.clock import utcnow
from bot.health import HealthServer
from bot.rules.loader import load_rules
from bot.store import Store
from bot.units import fmt_value
from bot.web.app import route_installers
from tests.test_web_api import seed, web_deps

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
pytestmark = pytest.mark.xdist_group("web_browser")   # one Chromium: under xdist `--dist loadgroup`, one worker
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


def _need_browser() -> None:
    missing = [p for p in (CHROMIUM, DRIVER) if not Path(p).exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install -e '.[test]')")
    if missing:
        if os.environ.get("REQUIRE_SHARED_DATA") == "1":
            pytest.fail(f"REQUIRE_SHARED_DATA=1 but {', '.join(missing)} missing (.ci/install-chromium installs them)")
        pytest.skip(f"no headless browser: {', '.join(missing)} missing (apt-get install chromium chromium-driver)")


class ThreadedServer:
    """Routes on HealthServer at 127.0.0.1 in a thread of its own, with its own event loop and SQLite
    connection (the store is only ever used there: run() sends a coroutine to that loop)."""

    def __init__(self, db: Path):
        self.db, self.port = db, 0
        self._ready, self._loop, self._stop = threading.Event(), None, None  # type: ignore[var-annotated]
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def routes(self, store: Store) -> list[Callable[[web.Application], None]]:
        """The route installers to serve, built on the server's thread with its store."""
        raise NotImplementedError

    async def _main(self) -> None:
        store = Store(self.db)
        srv = HealthServer(0, lambda: {"status": "ok"}, lambda: "", "127.0.0.1", self.routes(store))
        self.port = await srv.start()
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        await srv.stop()
        store.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)  # type: ignore[arg-type]

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(60), f"{type(self).__name__} did not start"

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)  # type: ignore[union-attr]
        self._thread.join(10)


class Server(ThreadedServer):
    """The dashboard; `with Server(db) as base` gives its URL."""

    def __init__(self, db: Path, as_of: datetime | None = None):
        """`as_of`: the page as it was then (the clock, and the data published by that day)."""
        super().__init__(db)
        self.as_of = as_of

    def routes(self, store: Store) -> list[Callable[[web.Application], None]]:
        catalog = default_catalog()
        rules, frames = load_rules(ROOT / "rules", catalog).rules, store.frames(catalog)
        now = utcnow
        if self.as_of is not None:
            as_of = self.as_of
            cut = pd.Timestamp(as_of.date())
            frames = {k: f[f["known"] <= cut] for k, f in frames.items()}
            now = lambda: as_of  # noqa: E731
        return route_installers(web_deps(store, lambda: frames, rules, now))

    def __enter__(self) -> str:
        self.start()
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture(scope="module")
def db(tmp_path_factory, shared_data) -> Path:
    path = tmp_path_factory.mktemp("webui") / "ui.db"
    seed(path, shared_data).close()
    return path


@pytest.fixture(scope="module")
def site(db) -> Iterator[str]:
    with Server(db) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for f in [*FLAGS, f"--user-data-dir={profile}"]:
        opts.add_argument(f)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _open(driver, url: str, width: int = 1280, ready: str = "document.readyState === 'complete'"):
    from selenium.webdriver.support.ui import WebDriverWait

    driver.set_window_size(width, 900)
    driver.get(url)
    WebDriverWait(driver, 20).until(lambda d: d.execute_script(f"return {ready}"))
    return driver


def _errors(driver) -> list[dict[str, object]]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_overview_shows_the_values_of_status_json_without_console_errors(browser, site, db, capsys, monkeypatch):
    monkeypatch.setenv("RULES_DIR", str(ROOT / "rules"))
    assert cli(["--db", str(db), "status", "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)
    browser.get_log("browser")  # start clean
    d = _open(browser, site + "/?lang=en", ready="document.querySelectorAll('.spark canvas').length > 5")
    cards = d.execute_script("return [...document.querySelectorAll('.card')].map(c => {"
                             "const v = c.querySelector('.value'); return [c.dataset.metric, v.dataset.value, v.textContent]})")
    assert {m for m, _, _ in cards} == set(expected)
    for metric, raw, text in cards:
        assert float(raw) == expected[metric]["value"], metric
        assert text == fmt_value(expected[metric]["value"], expected[metric]["unit"]), metric
    assert d.find_element("id", "verdict").text and "Bank reserves" in d.find_element("id", "metrics").text
    assert _errors(d) == []


def test_a_metric_chart_renders_non_empty(browser, site):
    d = _open(browser, site + "/metric/reserves?period=5y&lang=en", ready="!!document.querySelector('#chart[data-rendered]')")
    points = int(d.find_element("id", "chart").get_attribute("data-rendered"))
    # Pixels the chart drew: the line, the dashed $3T threshold and the regime shading.
    inked = d.execute_script("const c = document.querySelector('#chart canvas'); const x = c.getContext('2d');"
                             "const p = x.getImageData(0, 0, c.width, c.height).data; let n = 0;"
                             "for (let i = 3; i < p.length; i += 4) if (p[i] > 0) n++; return [n, c.width * c.height];")
    assert points > 200 and inked[0] > inked[1] * 0.2
    assert d.find_element("css selector", "a.button[download]").get_attribute("href").endswith(".csv?from=" + _from(d))
    assert _errors(d) == []


def _from(d) -> str:
    return d.find_element("id", "chart").get_attribute("data-src").split("from=")[1]


def test_the_zh_switch_changes_the_labels(browser, site):
    d = _open(browser, site + "/?lang=en")
    assert "Overview" in d.find_element("tag name", "header").text
    d.find_element("css selector", "a[hreflang=zh]").click()
    d = _open(browser, d.current_url)
    assert d.find_element("tag name", "html").get_attribute("lang") == "zh-Hans"
    assert "概览" in d.find_element("tag name", "header").text and "银行准备金" in d.find_element("id", "metrics").text
    assert "Overview" not in d.find_element("tag name", "header").text


@pytest.mark.parametrize("path", ["/", "/metric/reserves", "/alerts", "/rules?lang=zh"])
def test_a_360px_phone_never_scrolls_sideways(browser, site, path):
    d = _open(browser, site + path, width=360)
    width, inner = d.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert inner <= 360 and width <= 360, (path, width)
    assert _errors(d) == []


def test_dark_mode_follows_the_system(browser, site):
    background = "return getComputedStyle(document.body).backgroundColor"
    try:
        for scheme, colour in (("light", "rgb(255, 255, 255)"), ("dark", "rgb(13, 17, 23)")):
            browser.execute_cdp_cmd("Emulation.setEmulatedMedia",
                                    {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
            d = _open(browser, site + "/metric/reserves", ready="!!document.querySelector('#chart[data-rendered]')")
            assert d.execute_script(background) == colour, scheme
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
