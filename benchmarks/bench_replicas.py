"""Benchmark: three `liquidity-bot run` replicas on one PostgreSQL, 2,000 subscribed Telegram chats,
one alert; the leader is SIGKILLed after a third of the messages were delivered.

Prints: lost (must be 0), duplicates (must be <= messages in flight at the kill, i.e. rows the
dead replica had claimed but not marked sent), failover time (goal < 15 s) and the delivered
rate against the 30/s limit the fake Bot API enforces (tests/fakes/telegram.py answers a
violation with 429, as Telegram does).

Needs PostgreSQL binaries (tests/pgserver.py starts a throwaway server) and ../shared/data.
Run: python benchmarks/bench_replicas.py [chats]   (default 2000)
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.store.postgres import PostgresStore
from tests.fakes.http import FakeServer
from tests.fakes.telegram import FakeTelegram
from tests.pgserver import PgServer
from tests.proc import BotProcess, free_port, recent_wednesday

WRESBAL = ROOT.parent / "shared" / "data" / "fred" / "WRESBAL.csv"
TOKEN = "555555555:AAReplicaBenchmarkFakeToken_abcdefghij"
REPLICAS = 3


def health(port: int) -> dict | None:
    try:
        return json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read())
    except OSError:
        return None


def wait(pred, timeout: float, what: str, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(step)
    raise SystemExit(f"timed out after {timeout:g}s waiting for {what}")


def main() -> None:
    chats = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    pg = PgServer()
    try:
        with tempfile.TemporaryDirectory() as tmp, FakeServer() as server:
            run(pg, Path(tmp), server, chats)
    finally:
        pg.stop()


def run(pg: PgServer, tmp: Path, server: FakeServer, chats: int) -> None:
    url = pg.new_database()
    (tmp / "data").mkdir()
    shutil.copy(WRESBAL, tmp / "data" / "WRESBAL.csv")
    store = PostgresStore(url)
    with store.transaction():
        for i in range(chats):
            store.ensure_chat("telegram", str(10_000 + i), "private", None, "t")
            store.subscribe("telegram", str(10_000 + i), "reserves", "t")
    fake = FakeTelegram(server, TOKEN, per_second=30)
    ports = [free_port() for _ in range(REPLICAS)]
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": server.url, "POLL_SECONDS": "1",
           "DATABASE_URL": url, "LOG_LEVEL": "WARNING", "TELEGRAM_MAX_PER_SECOND": "30"}
    bots = [BotProcess(["run", "--data", str(tmp / "data")], tmp, env | {"HEALTH_PORT": str(p)}) for p in ports]
    try:
        for b in bots:
            b.wait_for("liquidity-bot: ready", 90)
        leader = wait(lambda: [i for i, p in enumerate(ports) if (health(p) or {}).get("role") == "leader"],
                      30, "a leader")[0]
        wait(lambda: store._one("SELECT count(*) FROM alert_state")[0] > 0, 90, "the rules' first evaluation")
        # A print from this week: alerts about data older than its cadence allows are never sent.
        with open(tmp / "data" / "WRESBAL.csv", "a") as f:
            f.write(f"{recent_wednesday()},2950000\n")
        alerts = lambda: [s for s in fake.sent if "Reserves below $3T" in s.text]  # noqa: E731  (the rule's title)
        t0 = time.monotonic()
        wait(lambda: len(alerts()) >= chats // 3, chats / 30 * 3 + 60, "a third delivered", 0.01)
        pid = bots[leader].proc.pid
        bots[leader].proc.kill()
        t_kill = time.monotonic()
        bots[leader].proc.wait(10)
        now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        in_flight = store._one("SELECT count(*) FROM outbox WHERE status = 'pending' AND claimed_by LIKE ?"
                               " AND claimed_until > ?", [f"%:{pid}", now])[0]
        others = [p for i, p in enumerate(ports) if i != leader]
        wait(lambda: any((health(p) or {}).get("role") == "leader" for p in others), 30, "a new leader")
        failover = time.monotonic() - t_kill
        wait(lambda: len({s.chat_id for s in alerts()}) >= chats, chats / 30 * 3 + 90, "every chat", 0.1)
        time.sleep(3.0)  # let any late duplicate (and the last charts) land before counting
        sent = alerts()
        # Every message counts against the limit: the alert's text and its chart (chart: true).
        arrivals = sorted(s.at - t0 for s in fake.sent)
        span = arrivals[-1] - arrivals[0]
        per_s = (len(arrivals) - 1) / span if span > 0 else float("inf")
        unique = len({s.chat_id for s in sent})
        print(f"{REPLICAS} replicas on PostgreSQL, {chats} chats, leader SIGKILLed after {chats // 3} deliveries: "
              f"lost {chats - unique}, duplicates {len(sent) - unique} (in flight at the kill {in_flight}), "
              f"failover {failover:.1f} s, {len(arrivals)} messages ({len(sent)} alerts + their charts) at "
              f"{per_s:.1f}/s = {per_s / 30:.1%} of the 30/s limit (includes the lease wait for the dead "
              f"replica's rows), total {arrivals[-1]:.1f} s, 429s from the fake {len(fake.violations)}")
    finally:
        for b in bots:
            b.kill()
        store.close()


if __name__ == "__main__":
    main()
