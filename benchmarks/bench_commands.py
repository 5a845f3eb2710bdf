"""Benchmark: chat commands while the engine works, and a flooding user (issue 11).

In-process `run` app (bot.runtime.build) on a copy of ../shared/data/fred with 15,000 generated
rules, Telegram through a local fake Bot API. Prints:
- `/help` latency (update queued at the fake -> reply received there) from 20 users while the
  first evaluation of the 15,000 rules runs: p50 / p99 (goal p99 <= 0.3 s; each user's first
  reply also waits the limiter's start-up pause, so users are asked after it);
- 300 `/status` from one user, then another user's `/help`: its latency (goal <= 1 s).
Run: python benchmarks/bench_commands.py [RULES]   (default 15000)
"""

from __future__ import annotations

import asyncio
import io
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Settings
from bot.runtime import build
from tests.fakes.http import FakeServer
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.test_busy_engine import write_rules

DATA = ROOT.parent / "shared" / "data"


async def _until(done, limit: float = 120.0) -> None:
    """Poll `done()` every 2 ms (the benchmark's resolution) until true."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if done():
            return
        await asyncio.sleep(0.002)
    raise SystemExit(f"timed out after {limit:g} s")


async def _ask(fake: FakeTelegram, chat: int, text: str) -> float:
    """Seconds from the update queued at the fake to the reply received there."""
    before = len(fake.to(chat))
    t0 = time.monotonic()
    fake.user_sends(chat, text)
    await _until(lambda: len(fake.to(chat)) > before)
    return time.monotonic() - t0


async def main(n_rules: int) -> None:
    with tempfile.TemporaryDirectory() as tmp_name, FakeServer() as server:
        tmp = Path(tmp_name)
        shutil.copytree(DATA / "fred", tmp / "data")
        (tmp / "rules").mkdir()
        write_rules(tmp / "rules", n_rules)
        fake = FakeTelegram(server, TOKEN)
        settings = Settings(database_path=str(tmp / "b.db"), rules_dir=str(tmp / "rules"), health_port=0,
                            telegram_bot_token=TOKEN, telegram_api_url=server.url, poll_seconds=3600)
        app = build(settings, data_dirs=[str(tmp / "data")], out=io.StringIO())
        await app.start()
        try:
            await asyncio.sleep(1.2)  # the limiter's start-up pause (a crash may have left a send in flight)
            await _until(lambda: app.engine.busy)
            during = []
            for user in range(20):
                during.append(await _ask(fake, 100 + user, "/help"))
            busy = app.engine.busy
            await _until(lambda: not app.engine.busy, 600)
            for _ in range(300):
                fake.user_sends(77, "/status")
            await asyncio.sleep(0.2)  # the flood is queued
            bystander = await _ask(fake, 88, "/help")
        finally:
            await app.shutdown()
    during.sort()
    p99 = during[min(len(during) - 1, int(0.99 * len(during)))]
    print(f"/help from 20 users during the first evaluation of {n_rules} rules "
          f"({'still running' if busy else 'ENDED before the last reply: use more rules'}): "
          f"p50 {statistics.median(during) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms (goal p99 <= 300 ms)")
    print(f"300 /status from one user, then another user's /help: answered in {bystander * 1000:.0f} ms (goal <= 1 s)")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 15_000))
