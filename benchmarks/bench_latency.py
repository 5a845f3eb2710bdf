"""Benchmark: release-to-alert latency of the real `liquidity-bot run` process, cold start, idle RSS.

A new observation is appended to a CSV in --data (the "source"); the clock stops when the
alert arrives at a local fake Telegram server. POLL_SECONDS=1.
Goals (issue 7): p50 < 2 s, p99 < 3 s; idle RSS < 150 MB.
Run: python benchmarks/bench_latency.py [samples]
"""

from __future__ import annotations

import shutil
import statistics
from datetime import date, timedelta
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.http import FakeServer
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.proc import BotProcess, free_port

DATA = ROOT.parent / "shared" / "data"
TOKEN = "111111111:AABenchmarkTokenForLocalFakeOnly_xyzxyz"
RULE = """rules:
  - id: bench_sofr_high
    topic: repo
    condition: {level: {metric: sofr, op: ">", value: 10}}
    message: "SOFR {value} on {date}"
    why: benchmark
"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(samples: int = 20) -> None:
    with tempfile.TemporaryDirectory() as tmp, FakeServer() as server, FakeServer() as slack_server:
        FakeSlack(slack_server)
        tmp = Path(tmp)
        data = tmp / "data"
        shutil.copytree(DATA / "fred", data)
        (tmp / "rules").mkdir()
        (tmp / "rules" / "bench.yaml").write_text(RULE)
        fake = FakeTelegram(server, TOKEN)
        env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": server.url, "POLL_SECONDS": "1",
               "HEALTH_PORT": str(free_port()), "RULES_DIR": str(tmp / "rules"), "LOG_LEVEL": "WARNING",
               "SLACK_BOT_TOKEN": "xoxb-bench-token", "SLACK_SIGNING_SECRET": "bench-secret",
               "SLACK_PORT": str(free_port()), "SLACK_API_URL": slack_server.url + "/api/"}
        t0 = time.monotonic()
        bot = BotProcess(["run", "--data", str(data)], tmp, env)
        try:
            bot.wait_for("liquidity-bot: ready", 60)
            ready = time.monotonic() - t0
            fake.user_sends(42, "/subscribe repo")
            fake.wait_for(lambda s: any("Subscribed" in x.text for x in s), 30)
            first_data = time.monotonic() - t0
            time.sleep(3)
            idle = rss_mb(bot.proc.pid)
            print(f"cold start to 'ready': {ready:.2f} s; first chat command answered at {first_data:.2f} s")
            print(f"idle RSS with Telegram and Slack (HTTP mode) enabled: {idle:.0f} MB (goal < 150 MB)")
            lat = []
            # The bot never alerts on data older than 7 days (daily metrics) nor accepts rows dated
            # after tomorrow, so each sample is one of the last few days, oldest first.
            samples = min(samples, 8)
            first_day = date.today() - timedelta(days=samples - 1)
            for i in range(samples):
                value = 11.0 if i % 2 == 0 else 1.0  # alternately fires and resolves
                before = len(fake.to(42))
                with open(data / "SOFR.csv", "a") as f:
                    f.write(f"{first_day + timedelta(days=i)},{value}\n")
                t = time.monotonic()
                fake.wait_for(lambda s, n=before: len([x for x in s if x.chat_id == "42"]) > n, 15)
                lat.append(time.monotonic() - t)
                time.sleep(1.1)  # the per-chat limit: one message a second
            lat.sort()
            p99 = lat[min(len(lat) - 1, round(0.99 * (len(lat) - 1)))]
            print(f"release-to-alert over {len(lat)} alerts: p50 {statistics.median(lat):.2f} s, p99 {p99:.2f} s, "
                  f"max {lat[-1]:.2f} s (goal p50 < 2 s, p99 < 3 s)")
            print(f"rate-limit violations at the fake: {len(fake.violations)}")
        finally:
            bot.terminate(15)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
