"""End to end: the real `liquidity-bot run` process, file data, a fake Bot API, health, SIGTERM."""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request

import pytest

from tests.fakes.http import FakeServer
from tests.fakes.telegram import FakeTelegram
from tests.proc import recent_wednesday, BotProcess, free_port

TOKEN = "987654321:AAEndToEndFakeToken_abcdefghijklmnopqrs"


@pytest.fixture
def data_dir(tmp_path, shared_data):
    d = tmp_path / "data"
    shutil.copytree(shared_data / "fred", d)
    shutil.copy(shared_data / "treasury" / "TGA_DTS_CLOSE.csv", d)
    return d


def test_subscribe_then_new_data_breaks_a_rule_and_the_chat_is_told(tmp_path, data_dir):
    with FakeServer() as server:
        fake = FakeTelegram(server, TOKEN)
        port = free_port()
        env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": server.url, "POLL_SECONDS": "1",
               "HEALTH_PORT": str(port), "DATABASE_PATH": str(tmp_path / "e2e.db")}
        bot = BotProcess(["run", "--data", str(data_dir)], tmp_path, env)
        try:
            bot.wait_for("chat adapters: telegram")
            bot.wait_for("liquidity-bot: ready")
            bot.wait_for(r"files: \d+/\d+ series ok, \+\d+ rows", timeout=30)  # history imported
            fake.user_sends(42, "/subscribe reserves")
            fake.wait_for(lambda s: any(x.chat_id == "42" and "Subscribed to reserves" in x.text for x in s), 20)
            fake.user_sends(42, "/status")
            fake.wait_for(lambda s: any(x.chat_id == "42" and x.method == "sendPhoto" for x in s), 30)
            with open(data_dir / "WRESBAL.csv", "a") as f:
                f.write(f"{recent_wednesday()},2950000\n")
            t0 = time.monotonic()
            fake.wait_for(lambda s: any(x.chat_id == "42" and "Reserves below $3T" in x.text for x in s), 20)
            latency = time.monotonic() - t0
            alert = next(x.text for x in fake.to(42) if "Reserves below $3T" in x.text)
            assert f"Bank reserves are $2.950T, below $3.000T (week ending {recent_wednesday()})" in alert
            assert latency < 20  # POLL_SECONDS=1; generous for a busy CI machine (figure: bench_latency)
            health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read())
            assert health["status"] == "ok" and "reserves_below_3t" in health["firing"]
            assert health["outbox"]["sent"] >= 1 and health["sources"]["files"]["data_date"] >= recent_wednesday()
            metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
            assert "liquidity_bot_alerts_total" in metrics and "liquidity_bot_outbox_pending 0" in metrics
        finally:
            t_stop = time.monotonic()
            code = bot.terminate(timeout=15)
        assert code == 0 and time.monotonic() - t_stop < 15  # terminate() kills at 15 s
        assert TOKEN not in bot.output() and TOKEN.split(":")[1] not in bot.output()
        assert not fake.violations


def test_slack_http_mode_and_telegram_in_one_process(tmp_path, data_dir):
    from tests.fakes.slack import FakeSlack
    from tests.test_slack import BOT_TOKEN, SECRET, signed, slash

    with FakeServer() as tg_server, FakeServer() as slack_server:
        tg = FakeTelegram(tg_server, TOKEN)
        slack = FakeSlack(slack_server)
        port = free_port()
        env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": tg_server.url, "POLL_SECONDS": "1",
               "HEALTH_PORT": "0", "DATABASE_PATH": str(tmp_path / "e2e.db"), "SLACK_BOT_TOKEN": BOT_TOKEN,
               "SLACK_SIGNING_SECRET": SECRET, "SLACK_PORT": str(port), "SLACK_API_URL": slack_server.url + "/api/",
               "SLACK_FEED_CHANNEL": "CFEED"}
        bot = BotProcess(["run", "--data", str(data_dir)], tmp_path, env)
        try:
            bot.wait_for(r"chat adapters: telegram, slack \(http mode\)")
            bot.wait_for(r"files: \d+/\d+ series ok, \+\d+ rows", timeout=30)
            url = f"http://127.0.0.1:{port}/slack/events"
            body = slash("status")
            ok = urllib.request.urlopen(urllib.request.Request(url, body.encode(), signed(body)), timeout=10)
            assert ok.status == 200 and "Reserves" in json.loads(ok.read())["text"]
            try:
                urllib.request.urlopen(urllib.request.Request(url, body.encode(),
                                                              {"Content-Type": "application/x-www-form-urlencoded"}),
                                       timeout=10)
                raise AssertionError("an unsigned request was accepted")
            except urllib.error.HTTPError as exc:
                assert exc.code == 401
            tg.user_sends(42, "/subscribe reserves")
            tg.wait_for(lambda s: any("Subscribed" in x.text for x in s), 20)
            with open(data_dir / "WRESBAL.csv", "a") as f:
                f.write(f"{recent_wednesday()},2950000\n")
            tg.wait_for(lambda s: any("Reserves below $3T" in x.text for x in s), 20)
            deadline = time.monotonic() + 20
            while not any("Reserves below $3T" in p.text for p in slack.to("CFEED")) and time.monotonic() < deadline:
                time.sleep(0.05)
            feed = [p for p in slack.to("CFEED") if "Reserves below $3T" in p.text]
            assert len(feed) == 1 and feed[0].blocks[0]["type"] == "header"
        finally:
            code = bot.terminate(15)
        assert code == 0
        out = bot.output()
        assert BOT_TOKEN not in out and SECRET not in out and TOKEN not in out
