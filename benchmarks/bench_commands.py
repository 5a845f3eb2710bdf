"""Benchmark: chat commands under load, against the real `liquidity-bot run` process (issues 11, 19).

As a deployment runs it: `python -m bot run --data DIR` with 1-second polling, the shipped rules plus
N generated level rules on reserves (default 15,000), Telegram through the fake Bot API served from
this (another) process.
0. open-loop `/help` probes (a new chat every 0.2 s) during the first pass over the history;
1. open-loop probes: a `/help` from a new chat every 0.2 s for PROBE_SECONDS, while a new reserves
   print arrives 1 s in (the 1-second poll ingests it, a pass over the reserves rules runs, and
   `reserves_below_3t` sends its alert and chart to a subscribed chat). Prints /help p50 / p99 / max
   and how many took over 1 s (goal: every one <= 1 s, p99 <= 0.3 s), and print -> alert / chart.
2. 300 `/status` from one user, then another user's `/help` 0.2 s later: the bystander's latency
   (goal <= 1 s), and the flooder's slow-down notice after the flood began (goal <= 1 s).
Run: python benchmarks/bench_commands.py [RULES] [PROBE_SECONDS]   (default 15000 12)
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.http import FakeServer
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.proc import BotProcess, recent_wednesday
from tests.test_busy_engine import write_rules

DATA = ROOT.parent / "shared" / "data"
SUBSCRIBER, FLOODER, BYSTANDER = 500, 77, 88


def first_to(fake: FakeTelegram, chat: int, pred=lambda s: True) -> float | None:
    """When the first message to `chat` matching `pred` reached the fake (monotonic), or None."""
    return next((s.at for s in fake.to(chat) if pred(s)), None)


async def until(done, limit: float) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if done():
            return True
        await asyncio.sleep(0.01)
    return False


async def probes(fake: FakeTelegram, seconds: float, on_second=None, first_chat: int = 10_000,
                 stop=lambda: False) -> dict[int, float]:
    """Open loop: a /help from a new chat every 0.2 s, whatever the answers do (until `seconds`
    or `stop()`); chat -> sent at."""
    sent: dict[int, float] = {}
    t0 = time.monotonic()
    for k in range(int(seconds / 0.2)):
        await asyncio.sleep(max(0.0, t0 + k * 0.2 - time.monotonic()))
        if stop():
            break
        if on_second and k == 5:
            on_second()
        chat = first_chat + k
        sent[chat] = time.monotonic()
        fake.user_sends(chat, "/help")
    return sent


def latencies(fake: FakeTelegram, sent: dict[int, float]) -> list[float]:
    return [at - sent[c] for c in sent if (at := first_to(fake, c)) is not None]


def summary(lat: list[float], n: int) -> str:
    if not lat:
        return f"{n} probes, none answered"
    return (f"{n} probes, {n - len(lat)} unanswered: p50 {statistics.median(lat) * 1000:.0f} ms, "
            f"p99 {pct(lat, 0.99) * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms, {sum(x > 1 for x in lat)} over 1 s")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


async def main(n_rules: int, probe_seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp_name, FakeServer() as server:
        tmp = Path(tmp_name)
        data = tmp / "data"
        shutil.copytree(DATA / "fred", data)
        rules = tmp / "rules"
        shutil.copytree(ROOT / "rules", rules, ignore=shutil.ignore_patterns("tests"))
        write_rules(rules, n_rules)
        fake = FakeTelegram(server, TOKEN)
        env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": server.url, "POLL_SECONDS": "1",
               "HEALTH_PORT": "0", "DATABASE_PATH": str(tmp / "b.db"), "RULES_DIR": str(rules)}
        bot = BotProcess(["run", "--data", str(data)], tmp, env)
        try:
            bot.wait_for("liquidity-bot: ready", 120)
            await asyncio.sleep(1.5)  # the limiter's start-up pause (a crash may have left a send in flight)
            passed = lambda: any("rules evaluated on new data" in ln for ln in bot.lines)  # noqa: E731
            t_first = time.monotonic()
            first_sent = await probes(fake, 120, first_chat=20_000, stop=passed)
            first_seconds = time.monotonic() - t_first
            bot.wait_for(r"rules evaluated on new data", 900)   # the first pass over the history
            await until(lambda: all(fake.to(c) for c in first_sent), 30)
            first_lat = latencies(fake, first_sent)
            first_line = next((ln for ln in bot.lines if "rules evaluated on new data" in ln), "")
            fake.user_sends(SUBSCRIBER, "/subscribe reserves")
            fake.wait_for(lambda s: any(x.chat_id == str(SUBSCRIBER) for x in s), 30)
            printed: list[float] = []

            def new_print() -> None:
                with open(data / "WRESBAL.csv", "a") as f:
                    f.write(f"{recent_wednesday()},2950000\n")
                printed.append(time.monotonic())

            sent = await probes(fake, probe_seconds, new_print)
            await until(lambda: all(fake.to(c) for c in sent), 30)
            replies = {c: first_to(fake, c) for c in sent}
            await until(lambda: first_to(fake, SUBSCRIBER, lambda s: s.method == "sendPhoto") is not None, 60)
            alert = first_to(fake, SUBSCRIBER, lambda s: "Reserves below $3T" in s.text)
            chart = first_to(fake, SUBSCRIBER, lambda s: s.method == "sendPhoto")
            pass_line = next((ln for ln in bot.lines[::-1] if "rules evaluated on new data" in ln), "")

            await asyncio.sleep(2)
            flood_at = time.monotonic()
            for _ in range(300):
                fake.user_sends(FLOODER, "/status")
            await asyncio.sleep(0.2)
            asked = time.monotonic()
            fake.user_sends(BYSTANDER, "/help")
            await until(lambda: fake.to(BYSTANDER) and first_to(fake, FLOODER, lambda s: "Slow down" in s.text), 60)
            await asyncio.sleep(3)
            bystander = first_to(fake, BYSTANDER)
            notice = first_to(fake, FLOODER, lambda s: "Slow down" in s.text)
            to_flooder = len(fake.to(FLOODER))
        finally:
            bot.terminate(30)
    lat = [replies[c] - sent[c] for c in sent if replies[c] is not None]
    print(f"{n_rules} generated rules + the shipped ones, real `run` process, 1-second polling")
    print(f"/help every 0.2 s during the first pass over the history ({first_seconds:.1f} s; "
          f"{first_line.split('INFO')[-1].strip()}): {summary(first_lat, len(first_sent))}")
    print(f"/help from a new chat every 0.2 s for {probe_seconds:g} s around a new print: "
          f"{summary(lat, len(sent))} (goal: all <= 1 s, p99 <= 300 ms)")
    t = printed[0] if printed else float("nan")
    print(f"new print -> alert text {((alert or t) - t):.1f} s, -> chart {((chart or t) - t):.1f} s"
          f"{'' if alert and chart else ' (NOT received)'}; engine: {pass_line.split('INFO')[-1].strip()}")
    print(f"300 /status from one user, another's /help 0.2 s later: answered in "
          f"{((bystander or asked) - asked) * 1000:.0f} ms (goal <= 1 s); the flooder's notice "
          f"{((notice or flood_at) - flood_at) * 1000:.0f} ms after the flood began (goal <= 1 s); "
          f"{to_flooder} message(s) to the flooder")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 15_000,
                     float(sys.argv[2]) if len(sys.argv) > 2 else 12.0))
