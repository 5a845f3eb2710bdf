"""Benchmark: one alert to N subscribed Telegram chats through the real `liquidity-bot run`
process and a local fake Bot API that enforces the rate limit (a violation gets a 429).

Goals (issue 6): delivered/s >= 95% of the allowed rate; 0 duplicates, 0 lost, no crash.
Run: python benchmarks/bench_fanout.py [chats] [rates...]   (default: 2000 chats at 30 and 1000 msg/s)
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.store import Store
from tests.crash import _wait_rows
from tests.fakes.http import FakeServer
from tests.fakes.telegram import FakeTelegram
from tests.proc import recent_wednesday, BotProcess

WRESBAL = ROOT.parent / "shared" / "data" / "fred" / "WRESBAL.csv"
TOKEN = "333333333:AAFanOutBenchmarkFakeToken_abcdefghijk"


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one(chats: int, rate: float) -> None:
    with tempfile.TemporaryDirectory() as tmp, FakeServer() as server:
        tmp = Path(tmp)
        (tmp / "data").mkdir()
        shutil.copy(WRESBAL, tmp / "data" / "WRESBAL.csv")
        store = Store(tmp / "fan.db")
        with store.transaction():
            for i in range(chats):
                store.ensure_chat("telegram", str(10_000 + i), "private", None, "t")
                store.subscribe("telegram", str(10_000 + i), "reserves", "t")
        store.close()
        fake = FakeTelegram(server, TOKEN, per_second=rate)
        env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": server.url, "POLL_SECONDS": "1",
               "HEALTH_PORT": "0", "DATABASE_PATH": str(tmp / "fan.db"), "LOG_LEVEL": "WARNING",
               "TELEGRAM_MAX_PER_SECOND": str(rate)}
        bot = BotProcess(["run", "--data", str(tmp / "data")], tmp, env)
        try:
            bot.wait_for("liquidity-bot: ready", 60)
            _wait_rows(tmp / "fan.db", 60)
            with open(tmp / "data" / "WRESBAL.csv", "a") as f:
                f.write(f"{recent_wednesday()},2950000\n")
            t0 = time.monotonic()
            fake.wait_for(lambda s: len({x.chat_id for x in s}) >= chats, chats / rate * 3 + 30)
            time.sleep(1.0)
            rss = peak_rss_mb(bot.proc.pid)
        finally:
            code = bot.terminate(20)
        sent = [s for s in fake.sent if "Reserves below $3T" in s.text]  # the alerts (the rule's title)
        arrivals = sorted(s.at - t0 for s in sent)
        # Every message counts against the limit: each alert's text and its chart (chart: true).
        everything = sorted(s.at - t0 for s in fake.sent)
        msg_per_s = (len(everything) - 1) / (everything[-1] - everything[0]) if len(everything) > 1 else 0.0
        span = arrivals[-1] - arrivals[0]
        per_s = (len(arrivals) - 1) / span if span > 0 else float("inf")
        p99 = arrivals[min(len(arrivals) - 1, int(0.99 * len(arrivals)))]
        dup = len(sent) - len({s.chat_id for s in sent})
        print(f"{chats} chats at {rate:g} msg/s allowed: {len(everything)} messages ({len(sent)} alerts + charts) "
              f"at {msg_per_s:.1f}/s = {msg_per_s / rate:.1%} of the limit ({per_s:.1f} alerts/s); "
              f"time to chat p50 {statistics.median(arrivals):.2f} s, p99 {p99:.2f} s; "
              f"peak RSS {rss:.0f} MB; duplicates {dup}, lost {chats - len({s.chat_id for s in sent})}; "
              f"429s from the fake {len(fake.violations)}; exit {code}")


def main() -> None:
    chats = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rates = [float(r) for r in sys.argv[2:]] or [30.0, 1000.0]
    for rate in rates:
        one(chats, rate)


if __name__ == "__main__":
    main()
