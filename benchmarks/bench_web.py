"""Benchmark: the web dashboard's server time (issue 24; goal: overview p99 <= 100 ms) against the
real `liquidity-bot run` process with the shipped rules plus N generated rules (default 15,000) and
a full store (all of ../shared/data: FRED and Treasury histories).

After the first pass over the history ("rules evaluated on new data"), it times the first (cold)
overview, then sends open-loop GETs (a new request every 1/RATE s whatever the answers, each from
one of 50 loopback addresses 127.0.0.x so the per-IP rate limit is not what is measured) to `/`,
`/?lang=zh`, `/api/status` and `/metric/reserves` for SECONDS, and prints p50 / p99 / max of the
server's own time (its Server-Timing header) and of the time the client waited, per path.
Run: python benchmarks/bench_web.py [RULES] [SECONDS] [RATE]   (default 15000 20 40)
"""

from __future__ import annotations

import asyncio
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.proc import BotProcess, free_port
from tests.test_busy_engine import write_rules

DATA = ROOT.parent / "shared" / "data"
PATHS = ["/", "/?lang=zh", "/api/status", "/metric/reserves"]
TIMING = re.compile(r"app;dur=([0-9.]+)")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


async def one(base: str, path: str, source: int, out: dict[str, list[tuple[float, float]]]) -> None:
    conn = aiohttp.TCPConnector(local_addr=(f"127.0.0.{source}", 0), force_close=True)
    t = time.perf_counter()
    async with aiohttp.ClientSession(connector=conn) as c, c.get(base + path) as r:
        await r.read()
        assert r.status == 200, (path, r.status)
        server = float(TIMING.search(r.headers["Server-Timing"]).group(1))  # type: ignore[union-attr]
    out.setdefault(path, []).append((server, (time.perf_counter() - t) * 1000))


async def load(base: str, seconds: float, rate: float) -> dict[str, list[tuple[float, float]]]:
    out: dict[str, list[tuple[float, float]]] = {}
    tasks = []
    start = time.perf_counter()
    for i in range(int(seconds * rate)):
        await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(one(base, PATHS[i % len(PATHS)], 2 + i % 50, out)))
    await asyncio.gather(*tasks)
    return out


async def main(n_rules: int, seconds: float, rate: float) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        rules = tmp / "rules"
        shutil.copytree(ROOT / "rules", rules, ignore=shutil.ignore_patterns("tests"))
        write_rules(rules, n_rules)
        port = free_port()
        env = {"HEALTH_PORT": str(port), "POLL_SECONDS": "3600", "DATABASE_PATH": str(tmp / "w.db"),
               "RULES_DIR": str(rules), "PYTHONPATH": str(ROOT)}  # this checkout's bot, whatever is installed
        bot = BotProcess(["run", "--data", str(DATA / "fred"), "--data", str(DATA / "treasury")], tmp, env)
        base = f"http://127.0.0.1:{port}"
        try:
            bot.wait_for("liquidity-bot: ready", 120)
            t0 = time.monotonic()
            bot.wait_for(r"rules evaluated on new data", 900)
            print(f"rules: {n_rules} generated + shipped; first pass over the history took {time.monotonic() - t0:.0f} s")
            cold: dict[str, list[tuple[float, float]]] = {}
            for path in PATHS:
                await one(base, path, 2, cold)
            for path, [(server, client)] in cold.items():
                print(f"cold {path:<18} server {server:7.1f} ms   client {client:7.1f} ms")
            got = await load(base, seconds, rate)
        finally:
            bot.terminate(30)
    print(f"open loop: {rate:g} requests/s for {seconds:g} s, paths in turn")
    for path, xs in got.items():
        server, client = [s for s, _ in xs], [c for _, c in xs]
        print(f"{path:<18} n={len(xs):4d}  server p50 {statistics.median(server):6.2f} ms  p99 {pct(server, 0.99):6.2f} ms"
              f"  max {max(server):6.1f} ms | client p50 {statistics.median(client):6.1f} ms  p99 {pct(client, 0.99):6.1f} ms")
    overview = [s for p in ("/", "/?lang=zh") for s, _ in got.get(p, [])]
    verdict = "met" if pct(overview, 0.99) <= 100 else "MISSED"
    print(f"overview server p99 {pct(overview, 0.99):.2f} ms (goal <= 100 ms: {verdict})")


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(main(int(args[0]) if args else 15000, float(args[1]) if len(args) > 1 else 20,
                     float(args[2]) if len(args) > 2 else 40))
