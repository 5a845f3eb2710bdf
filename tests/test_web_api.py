"""The public dashboard's server side (bot/web) on a real aiohttp listener on 127.0.0.1 and a
real SQLite store seeded from ../shared/data: the JSON API equals the CLI (`status --json`,
`export`), reloads revalidate with ETags, every answer carries the CSP and security headers,
a flooding client gets 429s, a chat's personal alert never shows, /healthz and /metrics are
unchanged."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from multidict import CIMultiDict

from bot.catalog import default_catalog
from bot.cli import main as cli
from bot.clock import utcnow
from bot.config import ConfigError, load_settings
from bot.metrics import Frames
from bot.rules.model import Rule
from bot.health import HealthServer
from bot.rules.lifecycle import Alert, AlertState
from bot.rules.loader import load_rules
from bot.store import Store
from bot.store.records import FetchRecord
from bot.web.app import WebDeps, route_installers
from bot.web.guard import CSP
from bot.web.lang import accept_language, pick

ROOT = Path(__file__).resolve().parent.parent
# What must never leave the store through the public surface: a chat's id, its personal alert's
# id and its threshold (as typed and as stored), and the text of its alert.
CHAT = "8675309001"
KEY, TOKEN = "abcdef0123456789abcdef0123456789", "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"
PRIVATE = [CHAT, "personal_", "2.9537", "2953700000000", "my secret threshold", KEY, TOKEN]
PAGES = ["/", "/?lang=zh", "/metric/reserves", "/metric/sofr_iorb_spread?period=5y", "/alerts", "/alerts?lang=zh",
         "/rules", "/api/status", "/api/series/reserves", "/api/series/reserves.csv", "/api/alerts", "/api/rules"]
NASTY = '<img src=x onerror="alert(1)">'


def _event(topic: str, state: str, value: float, text: str) -> dict[str, object]:
    return {"topic": topic, "severity": "warning", "state": state, "data_date": "2026-08-26", "value": value, "text": text}


def seed(path: Path, shared_data: Path, alerts: bool = True) -> Store:
    """All of ../shared/data and (with `alerts`) one shared alert firing, one chat's personal alert firing."""
    from bot.ingest import ingest_source
    from bot.sources.files import FileSource

    s = Store(path)
    report = ingest_source(s, FileSource(default_catalog(), [shared_data / "fred", shared_data / "treasury"]),
                           lambda: datetime(2026, 11, 1, 12))
    assert not report.errors
    if not alerts:
        return s
    now = "2026-09-01T20:00:00"
    # A failing source whose error text carries a key and a token (as a proxy echoing the URL would).
    s.log_fetch(FetchRecord("fred", now, now, 0, None, f"HTTP 502 from /fred/series?api_key={KEY} bot{TOKEN}"))
    s.record("reserves_below_3t", Alert(state=AlertState.FIRING, count=1, value=2.95e12),
             [(_event("reserves", "firing", 2.95e12, "Reserves below $3T"), [])], now)
    added = s.add_personal("telegram", CHAT, "reserves", "<", 2.9537e12, 1, now, 20)
    assert added is not None
    s.record(f"personal_{added.id}", Alert(state=AlertState.FIRING, count=1, value=2.95e12),
             [(_event("personal", "firing", 2.95e12, "Reserves < $2.9537T: my secret threshold"),
               [("telegram", CHAT, "owner")])], now)
    return s


@pytest.fixture(scope="module")
def web_store(tmp_path_factory, shared_data) -> Store:
    """The seeded store (the shared alert's rule gets a hostile title in `deps`)."""
    path = tmp_path_factory.mktemp("web") / "web.db"
    s = seed(path, shared_data)
    s.path_for_tests = path  # type: ignore[attr-defined]
    yield s
    s.close()


def web_deps(store: Store, frames: Callable[[], Frames], rules: list[Rule],
             now: Callable[[], datetime] = utcnow) -> WebDeps:
    """The dashboard's inputs as the runtime wires them (the verdict from chat /status's service)."""
    from bot.commands import CommandService

    svc = CommandService(store, default_catalog(), lambda: rules, now)
    svc.core.frames_cache = frames()
    return WebDeps(default_catalog(), store, frames, lambda: rules, now, lambda lang: svc.status.verdict(lang)[1])


@pytest.fixture(scope="module")
def deps(web_store) -> WebDeps:
    catalog = default_catalog()
    rules = load_rules(ROOT / "rules", catalog).rules
    by_id = {r.id: r for r in rules}
    by_id["reserves_below_3t"] = by_id["reserves_below_3t"].model_copy(update={"title": NASTY})
    frames, shared = web_store.frames(catalog), list(by_id.values())
    return web_deps(web_store, lambda: frames, shared)


# One server (and its caches) for the module; under xdist `--dist loadgroup`, one worker for it.
pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.xdist_group("web_api")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def base(deps) -> AsyncIterator[str]:
    """The dashboard on the health server, on 127.0.0.1, for the whole module."""
    async with serve(deps) as url:
        yield url


@contextlib.asynccontextmanager
async def serve(deps: WebDeps | None, **kw: object) -> AsyncIterator[str]:
    health = {"status": "ok", "uptime_seconds": 1}
    srv = HealthServer(0, lambda: health, lambda: "# HELP x\n", "127.0.0.1",
                       route_installers(deps) if deps else (), **kw)  # type: ignore[arg-type]
    port = await srv.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await srv.stop()


async def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, CIMultiDict[str], str]:
    async with aiohttp.ClientSession() as c, c.get(url, headers=headers or {}) as r:
        return r.status, CIMultiDict(r.headers), await r.text()


async def test_api_status_metrics_are_status_json(base, web_store, capsys, monkeypatch):
    monkeypatch.setenv("RULES_DIR", str(ROOT / "rules"))
    assert cli(["--db", str(web_store.path_for_tests), "status", "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)
    status, headers, body = await _get(base + "/api/status")
    got = json.loads(body)
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert got["metrics"] == expected
    assert got["metrics"]["reserves"]["unit"] == "usd" and got["verdict"]
    assert got["firing"] == ["reserves_below_3t"]   # the personal alert firing beside it is not listed


async def test_series_api_filters_dates_and_csv_is_export(base, web_store, capsys):
    assert cli(["--db", str(web_store.path_for_tests), "export", "reserves", "--from", "2026-01-01"]) == 0
    exported = capsys.readouterr().out
    _, _, body = await _get(base + "/api/series/reserves?from=2026-01-01&to=2026-03-31")
    _, csv_headers, csv = await _get(base + "/api/series/reserves.csv?from=2026-01-01")
    bad = await _get(base + "/api/series/reserves?from=yesterday")
    unknown = await _get(base + "/api/series/bitcoin")
    d = json.loads(body)
    assert d["unit"] == "usd" and d["dates"][0] >= "2026-01-01" and d["dates"][-1] <= "2026-03-31"
    assert len(d["dates"]) == len(d["values"]) > 5 and 3e12 in d["thresholds"]
    assert {s["regime"] for s in d["regimes"]} <= {"abundant", "ample", "scarce"} and d["regimes"]
    assert d["sources"][0]["series"] == "WRESBAL"
    assert csv == exported and csv.startswith("date,reserves\n")
    assert 'filename="reserves.csv"' in csv_headers["Content-Disposition"]
    assert bad[0] == 400 and unknown[0] == 404 and "reserves" in json.loads(unknown[2])["metrics"]


async def test_a_reload_with_nothing_changed_costs_a_304(base):
    for path in ("/", "/api/status", "/static/app.js"):
        status, headers, _ = await _get(base + path)
        assert status == 200 and headers["ETag"] and "Cache-Control" in headers
        again, headers2, body = await _get(base + path, {"If-None-Match": headers["ETag"]})
        assert (again, body) == (304, "") and headers2["ETag"] == headers["ETag"]
    _, h, _ = await _get(base + "/api/status")
    assert h["Cache-Control"] == "no-cache"


async def test_new_data_changes_the_etag(web_store):
    catalog = default_catalog()
    rules = load_rules(ROOT / "rules", catalog).rules
    current = {"frames": web_store.frames(catalog)}
    deps = web_deps(web_store, lambda: current["frames"], rules)
    async with serve(deps) as base:
        _, headers, body = await _get(base + "/api/status")
        frames = dict(current["frames"])   # what an evaluation does: a new frames object
        frames["reserves"] = frames["reserves"].iloc[:-1]
        current["frames"] = frames
        status, headers2, body2 = await _get(base + "/api/status", {"If-None-Match": headers["ETag"]})
    assert status == 200 and headers2["ETag"] != headers["ETag"]
    assert json.loads(body2)["metrics"]["reserves"]["date"] < json.loads(body)["metrics"]["reserves"]["date"]


async def test_every_page_has_the_csp_and_no_inline_script_or_style(base):
    for path in [*PAGES, "/nope", "/metric/nope"]:
        status, headers, body = await _get(base + path)
        assert status in (200, 404), path
        assert headers["Content-Security-Policy"] == CSP and "script-src 'self'" in CSP and "unsafe" not in CSP
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
        if headers["Content-Type"].startswith("text/html"):
            assert not re.search(r"<script(?![^>]*\bsrc=)", body), path   # every script is a file
            assert not re.search(r"<style|<[^>]*\s(?:style|on\w+)=", body), path
            assets = re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]*)"', body)   # nothing from a CDN
            assert assets and all(u.startswith("/static/") for u in assets), (path, assets)


async def test_values_are_escaped(base):
    pages = [(await _get(base + p))[2] for p in ("/", "/alerts", "/rules")]
    for body in pages:
        assert NASTY not in body and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in body


async def test_a_chats_personal_alert_never_appears(base):
    bodies = {p: (await _get(base + p))[2] for p in [*PAGES, "/rules?lang=zh", "/api/rules?page=2"]}
    for path, body in bodies.items():
        for secret in PRIVATE:
            assert secret not in body, (path, secret)
    assert "Reserves below $3T" in json.dumps(json.loads(bodies["/api/alerts"])) or json.loads(bodies["/api/alerts"])["alerts"]
    assert [a["rule"] for a in json.loads(bodies["/api/alerts"])["alerts"]] == ["reserves_below_3t"]
    assert "fred failing" in bodies["/"] and "HTTP 502" in bodies["/"]   # the failure itself is shown


async def test_rules_api_lists_shared_rules_with_their_backtest_record(base):
    _, _, body = await _get(base + "/api/rules")
    _, _, page = await _get(base + "/rules")
    d = json.loads(body)
    by_id = {r["id"]: r for r in d["rules"]}
    assert d["page"] == 1 and "reserves_below_3t" in by_id and by_id["reserves_below_3t"]["firing"] is True
    rec = by_id["reserves_below_3t"]["record"]
    assert rec["fired"] >= 1 and rec["first"] <= rec["last"] and sum(rec["per_year"].values()) == rec["fired"]
    assert f'{rec["fired"]} times, {rec["first"]} to {rec["last"]}' in page


async def test_a_flooding_client_gets_429_and_health_still_answers(deps):
    async with serve(deps) as base, aiohttp.ClientSession() as c:   # its own server: its own rate limit
        codes = []
        for _ in range(140):
            async with c.get(base + "/static/app.css") as r:
                codes.append(r.status)
                retry = r.headers.get("Retry-After")
        async with c.get(base + "/healthz") as r:
            health = r.status
    assert codes[:100] == [200] * 100 and codes[-1] == 429 and retry == "1"
    assert health == 200


async def test_bodies_are_capped_and_only_get_is_served(base):
    async with aiohttp.ClientSession() as c:
        async with c.get(base + "/api/status", data=b"x" * 4096) as r:
            too_big = r.status
        async with c.post(base + "/api/status", data=b"{}") as r:
            post = r.status
    assert too_big == 413 and post == 405


async def test_healthz_and_metrics_are_unchanged_by_the_dashboard(deps):
    answers = []
    for d in (None, deps):
        async with serve(d) as base:
            answers.append([await _get(base + p) for p in ("/healthz", "/metrics")])
    for before, after in zip(*answers, strict=True):
        assert before[0] == after[0] == 200 and before[2] == after[2]
        assert sorted((k.lower(), v) for k, v in before[1].items() if k.lower() != "date") \
            == sorted((k.lower(), v) for k, v in after[1].items() if k.lower() != "date")
        assert "Content-Security-Policy" not in after[1]


async def test_language_from_query_or_accept_language(base):
    _, _, zh = await _get(base + "/", {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    _, _, en = await _get(base + "/?lang=en", {"Accept-Language": "zh-CN"})
    assert "概览" in zh and '<html lang="zh-Hans"' in zh and "银行准备金" in zh
    _, headers, api_zh = await _get(base + "/api/status?lang=zh")
    assert json.loads(api_zh)["verdict"][0] in zh and headers["Cache-Control"] == "no-cache"
    assert "Overview" in en and "概览" not in en.split("</nav>")[0]
    assert accept_language("fr-FR,en;q=0.5,zh;q=0.9") == "zh" and accept_language("de") is None
    assert pick("zh", "en") == "zh" and pick("klingon", None) == "en"


async def test_web_host_and_port_settings():
    s = load_settings({"WEB_PORT": "9090", "WEB_HOST": "0.0.0.0"}, dotenv=False)
    assert s.web_listener() == ("0.0.0.0", 9090)
    assert load_settings({}, dotenv=False).web_listener() is None            # shares the health listener
    assert load_settings({"WEB_PORT": "8080"}, dotenv=False).web_listener() is None
    with pytest.raises(ConfigError, match="WEB_HOST"):
        load_settings({"WEB_HOST": "0.0.0.0"}, dotenv=False)


async def test_run_serves_the_dashboard_on_its_own_port(tmp_path):
    import io

    from bot.config import Settings
    from bot.runtime import build
    from tests.proc import free_port

    health, web = free_port(), free_port()
    data = tmp_path / "data"
    data.mkdir()
    settings = Settings(database_path=str(tmp_path / "r.db"), rules_dir=str(ROOT / "rules"), health_port=health,
                        web_port=web, poll_seconds=3600)
    out = io.StringIO()
    app = build(settings, data_dirs=[str(data)], out=out)
    await app.start()
    try:
        on_web = await _get(f"http://127.0.0.1:{web}/")
        on_health = await _get(f"http://127.0.0.1:{health}/")
        healthz = await _get(f"http://127.0.0.1:{health}/healthz")
    finally:
        await app.shutdown()
    assert on_web[0] == 200 and "Liquidity Bot" in on_web[2]
    assert on_health[0] == 404 and healthz[0] == 200
    assert f"web dashboard on http://127.0.0.1:{web}/" in out.getvalue()


async def test_run_mounts_the_mini_app_beside_the_dashboard(tmp_path):
    """`liquidity-bot run` serves the Mini App's page on the dashboard's listener; its API answers 401 to
    a request without Telegram's signed initData (the runtime wiring, not only the routes in isolation)."""
    import io

    from bot.config import Settings
    from bot.runtime import build
    from tests.proc import free_port

    health = free_port()
    data = tmp_path / "data"
    data.mkdir()
    settings = Settings(database_path=str(tmp_path / "m.db"), rules_dir=str(ROOT / "rules"), health_port=health,
                        poll_seconds=3600)
    app = build(settings, data_dirs=[str(data)], out=io.StringIO())
    await app.start()
    try:
        page = await _get(f"http://127.0.0.1:{health}/app/")
        anonymous = await _get(f"http://127.0.0.1:{health}/app/api/state")
        forged = await _get(f"http://127.0.0.1:{health}/app/api/state",
                            {"Authorization": "tma user=%7B%22id%22%3A1%7D&auth_date=1&hash=00"})
        overview = await _get(f"http://127.0.0.1:{health}/")
    finally:
        await app.shutdown()
    assert page[0] == 200 and "script-src 'self'" in page[1]["Content-Security-Policy"]
    assert anonymous[0] == 401 and forged[0] == 401
    assert overview[0] == 200


async def test_another_surface_hangs_its_routes_on_the_same_server(deps):
    """The hook the Telegram Mini App uses: an installer beside the dashboard's; its own CSP is
    kept (and no X-Frame-Options added, so its frame-ancestors decides), the rate limit applies."""
    from aiohttp import web

    async def framed(request: web.Request) -> web.Response:
        body = await request.read()
        return web.Response(text=f"{len(body)}", headers={"Content-Security-Policy": "frame-ancestors https://web.telegram.org"})

    def extra(app: web.Application) -> None:
        app.router.add_post("/extra", framed)

    srv = HealthServer(0, lambda: {}, lambda: "", "127.0.0.1", [*route_installers(deps), extra], max_body=4096)
    port = await srv.start()
    try:
        async with aiohttp.ClientSession() as c, c.post(f"http://127.0.0.1:{port}/extra", data=b"x" * 3000) as r:
            status, headers, text = r.status, r.headers, await r.text()
    finally:
        await srv.stop()
    assert (status, text) == (200, "3000")
    assert headers["Content-Security-Policy"] == "frame-ancestors https://web.telegram.org"
    assert "X-Frame-Options" not in headers and headers["X-Content-Type-Options"] == "nosniff"


async def test_the_overview_says_what_moved_with_why(base):
    _, _, en = await _get(base + "/?lang=en")
    _, _, zh = await _get(base + "/?lang=zh")
    why = en.split('<section id="why">')[1].split("</section>")[0]
    assert "What moved in the last 4 weeks" in why and "Residual" in why and "$" in why   # bot/why.py's global breakdown
    assert "过去 4 周的变化来源" in zh and "残差" in zh


async def test_the_overview_lists_the_next_two_weeks_of_the_liquidity_calendar(base):
    """The calendar section is /calendar's list from today (US/Eastern), in the page's language."""
    from bot.clock import eastern_date
    from bot.liquidity_calendar import events

    _, _, en = await _get(base + "/?lang=en")
    _, _, zh = await _get(base + "/?lang=zh")
    cal = en.split('<section id="calendar">')[1].split("</section>")[0]
    expected = events(eastern_date(utcnow()), 14)
    assert "Liquidity calendar, next 14 days" in cal and cal.count("<li>") == len(expected) > 0
    assert all(ev.day.isoformat() in cal for ev in expected)
    assert "流动性日历（未来 14 天）" in zh


async def test_the_stress_section_shows_every_component_with_its_weight_and_what_was_left_out(web_store):
    """On a day the data covers, the score's table lists all nine components of bot/stress.yaml; a
    component without fresh data shows a dash and the note says which; with no fresh data, no section."""
    from datetime import date

    from bot.stress import default_model, latest
    from bot.web.sections import stress_section

    catalog = default_catalog()
    frames = web_store.frames(catalog)
    day = date(2025, 10, 31)
    score = latest(catalog, frames, day)
    html = stress_section(catalog, frames, "en", web_store, day)
    assert score is not None and html is not None
    assert f"Liquidity stress score {score.score}</h2>" in html
    assert html.count("<tr><td>") == len(default_model().components) == 9
    assert "<td>20</td>" in html            # reserves relative to bank assets weighs 20
    assert "left out" in html or "no data" in html   # the shared files carry no TGCR
    assert "流动性压力评分" in stress_section(catalog, frames, "zh", web_store, day)
    assert stress_section(catalog, frames, "en", web_store, date(2030, 1, 1)) is None   # nothing fresh


async def test_the_metric_page_names_its_source_or_its_inputs(base):
    _, _, reserves = await _get(base + "/metric/reserves")
    _, _, net = await _get(base + "/metric/net_liquidity?lang=zh")
    assert 'FRED <a href="https://fred.stlouisfed.org/series/WRESBAL"' in reserves
    assert "由 " in net and 'href="/metric/fed_assets?lang=zh"' in net   # a formula links to what it is made of


async def test_web_port_0_turns_the_dashboard_off(tmp_path):
    import io

    from bot.config import Settings
    from bot.runtime import build
    from tests.proc import free_port

    health = free_port()
    (tmp_path / "data").mkdir()
    settings = Settings(database_path=str(tmp_path / "o.db"), rules_dir=str(ROOT / "rules"), health_port=health,
                        web_port=0, poll_seconds=3600)
    out = io.StringIO()
    app = build(settings, data_dirs=[str(tmp_path / "data")], out=out)
    await app.start()
    try:
        page, healthz = await _get(f"http://127.0.0.1:{health}/"), await _get(f"http://127.0.0.1:{health}/healthz")
    finally:
        await app.shutdown()
    assert page[0] == 404 and healthz[0] == 200 and "web dashboard off" in out.getvalue()
