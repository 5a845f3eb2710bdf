"""The deployed process: zero-config start, release calendar, health, demo."""

from __future__ import annotations

import io
import json
import time
import urllib.request
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.demo import run_demo
from bot.schedule import BACKGROUND
from tests.fakes.http import FakeServer, Reply
from tests.proc import BotProcess, free_port

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent

ET = ZoneInfo("America/New_York")


def test_background_poll_runs_every_two_hours_weekends_too():
    nxt = BACKGROUND.get_next_fire_time(None, datetime(2026, 11, 21, 9, 0, tzinfo=ET))  # weekends too, slowly
    assert nxt.strftime("%a %H:%M") == "Sat 10:20"


def test_demo_is_labelled_and_alerts_within_seconds():
    out = io.StringIO()
    t0 = time.monotonic()
    assert run_demo(fast=True, out=out) == 0
    text = out.getvalue()
    assert time.monotonic() - t0 < 30
    assert "SIMULATION" in text and "made up" in text
    for title in ("Reserves below $3T", "SOFR above IORB", "Repo / SRF usage spike", "Reserves regime"):
        assert f": {title}" in text, title
    assert "$" in text and "%" in text and " bp" in text


def test_zero_config_start_without_network_keeps_running_and_stops_cleanly(tmp_path):
    with FakeServer() as dead:  # every upstream answers 503: the network is "down"
        for path in ("/graph/fredgraph.csv",):
            dead.routes[path] = lambda req: Reply(503, "down", "text/plain")
        port = free_port()
        env = {"FRED_CSV_URL": dead.url, "NYFED_API_URL": dead.url + "/api", "FISCALDATA_API_URL": dead.url,
               "HEALTH_PORT": str(port), "HTTP_TIMEOUT": "2"}
        bot = BotProcess(["run"], tmp_path, env)
        try:
            bot.wait_for(r"liquidity-bot: database liquidity\.db")
            bot.wait_for(r"chat adapters: console \(no chat token set")
            bot.wait_for(r"source fred: release calendar \(US/Eastern\); fetching now, next scheduled 20")
            bot.wait_for("liquidity-bot: ready")
            bot.wait_for(r"source fred unreachable: .*HTTP 503", timeout=30)
            bot.wait_for("No data yet", timeout=30)  # the console snapshot after the first fetches
            health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read())
            assert health["status"] == "degraded" and health["sources"]["fred"]["failures"] >= 1
            assert health["rules_loaded"] == 17 and health["adapters"] == ["console"]
            metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
            assert 'liquidity_bot_fetch_errors_total{source="fred"}' in metrics
            assert bot.proc.poll() is None  # still running
            assert (tmp_path / "liquidity.db").exists()
        finally:
            code = bot.terminate()
        assert code == 0
        assert bot.output().count("source fred unreachable") == 1  # logged once per outage


def test_run_refuses_invalid_rules_unless_told_to_skip(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "ok.yaml").write_text((ROOT / "rules" / "reserves.yaml").read_text())
    (rules / "bad.yaml").write_text("rules:\n  - id: broken\n    topic: reserves\n")
    env = {"RULES_DIR": str(rules), "HEALTH_PORT": "0", "FRED_CSV_URL": "http://127.0.0.1:9",
           "NYFED_API_URL": "http://127.0.0.1:9", "FISCALDATA_API_URL": "http://127.0.0.1:9"}
    bot = BotProcess(["run"], tmp_path, env)
    assert bot.proc.wait(30) == 2
    assert f"{rules / 'bad.yaml'}:2: rule broken: missing field 'condition'" in bot.output()
    assert "fix them or start with --skip-bad-rules" in bot.output()
    bot = BotProcess(["run", "--skip-bad-rules"], tmp_path, env)
    try:
        bot.wait_for(r"2 rules from .* \(3 problem\(s\) skipped\)")
        bot.wait_for("liquidity-bot: ready")
    finally:
        assert bot.terminate() == 0


async def test_reload_keeps_the_last_good_rule_set(tmp_path):
    import asyncio

    from bot.config import Settings
    from bot.runtime import build

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yaml").write_text((ROOT / "rules" / "reserves.yaml").read_text())
    app = build(Settings(database_path=str(tmp_path / "db.db"), rules_dir=str(rules), health_port=0,
                         fred_csv_url="http://127.0.0.1:9", nyfed_api_url="http://127.0.0.1:9",
                         fiscaldata_api_url="http://127.0.0.1:9", http_timeout=1), out=io.StringIO())
    await app.start()
    try:
        assert len(app.engine.rules) == 2
        (rules / "r.yaml").write_text("rules: [oops")
        assert (await app.reload_rules()).startswith("kept the 2 current rules: 1 problem(s)")
        assert len(app.engine.rules) == 2
        (rules / "r.yaml").write_text((ROOT / "rules" / "repo.yaml").read_text())
        assert await app.reload_rules() == "reloaded 3 rules"
        assert {r.id for r in app.engine.rules} == {"sofr_above_iorb", "effr_above_iorb", "repo_rate_spike"}
    finally:
        await app.shutdown()
        await asyncio.sleep(0)


def test_json_logs_and_a_broken_series_logged_once_while_the_rest_updates(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "WRESBAL.csv").write_text("date,value\n2022-09-28,not-a-number\n")
    (data / "SOFR.csv").write_text("date,value\n2019-09-17,5.25\n")
    env = {"LOG_FORMAT": "json", "POLL_SECONDS": "0.5", "HEALTH_PORT": "0", "DATABASE_PATH": str(tmp_path / "j.db")}
    bot = BotProcess(["run", "--data", str(data)], tmp_path, env)
    try:
        bot.wait_for("liquidity-bot: ready")
        bot.wait_for(r"files: 2/2 series ok, \+1 rows, newest data 2019-09-17")
        with open(data / "SOFR.csv", "a") as f:
            f.write("2019-09-18,2.55\n")
        bot.wait_for(r"files: 2/2 series ok, \+1 rows, newest data 2019-09-18", timeout=20)  # SOFR still updates
    finally:
        assert bot.terminate() == 0
    logs = [json.loads(line) for line in bot.lines if line.startswith("{")]
    broken = [x for x in logs if "WRESBAL" in x["message"] and "line 2" in x["message"]]
    assert len(broken) == 1 and broken[0]["level"] == "WARNING" and broken[0]["logger"] == "bot.sources.fred"
    bad = BotProcess(["status"], tmp_path, {"LOG_FORMAT": "yaml"})
    assert bad.proc.wait(30) == 1
    time.sleep(0.2)
    assert "configuration error: LOG_FORMAT='yaml'" in bad.output()
