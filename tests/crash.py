"""Kill the real bot with SIGKILL in the middle of a fan-out, restart it, count at the fake.

Shared by tests/test_crash_safety.py (once) and benchmarks/bench_crash.py (repeatedly).
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from bot.store import Store
from tests.fakes.http import FakeServer
from tests.fakes.telegram import FakeTelegram
from tests.proc import recent_wednesday, BotProcess

TOKEN = "222222222:AACrashRestartFakeToken_abcdefghijklmn"


@dataclass
class CrashFigures:
    chats: int
    sent_before_kill: int
    recorded_before_kill: int
    in_flight: int
    delivered_chats: int
    duplicates: int
    lost: int
    violations: list[str]
    seconds: float


def run_kill_restart(tmp: Path, wresbal_csv: Path, chats: int = 300, kill_after: int = 100) -> CrashFigures:
    data = tmp / "data"
    data.mkdir()
    shutil.copy(wresbal_csv, data / "WRESBAL.csv")
    db = tmp / "crash.db"
    store = Store(db)
    for i in range(chats):
        store.ensure_chat("telegram", str(1000 + i), "private", None, "t")
        store.subscribe("telegram", str(1000 + i), "reserves", "t")
    store.close()
    with FakeServer() as server:
        fake = FakeTelegram(server, TOKEN)
        env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": server.url, "POLL_SECONDS": "1",
               "HEALTH_PORT": "0", "DATABASE_PATH": str(db), "LOG_LEVEL": "WARNING"}

        def alerts() -> list:
            return [s for s in fake.sent if "Reserves below $3T" in s.text]

        bot = BotProcess(["run", "--data", str(data)], tmp, env)
        try:
            bot.wait_for("liquidity-bot: ready", 60)
            _wait_rows(db, 60)
            with open(data / "WRESBAL.csv", "a") as f:
                f.write(f"{recent_wednesday()},2950000\n")
            t0 = time.monotonic()
            fake.wait_for(lambda s: len(alerts()) >= kill_after, 60)
        finally:
            bot.kill()  # SIGKILL: no chance to clean up
        sent_before = len(alerts())
        with sqlite3.connect(db) as conn:
            recorded = conn.execute("SELECT count(*) FROM outbox WHERE status = 'sent'").fetchone()[0]
        bot = BotProcess(["run", "--data", str(data)], tmp, env)
        try:
            fake.wait_for(lambda s: len({x.chat_id for x in alerts()}) >= chats, 120)
            time.sleep(1.5)  # anything still to come would be a duplicate
        finally:
            code = bot.terminate(15)
        assert code == 0, bot.output()
        got = alerts()
        per_chat = {x.chat_id for x in got}
        return CrashFigures(chats, sent_before, recorded, sent_before - recorded, len(per_chat),
                            len(got) - len(per_chat), chats - len(per_chat), list(fake.violations),
                            time.monotonic() - t0)


def _wait_rows(db: Path, timeout: float) -> None:
    """Until the first fetch stored the history and the rules learned their state."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with sqlite3.connect(db) as conn:
                if conn.execute("SELECT count(*) FROM alert_state").fetchone()[0] > 0:
                    return
        except sqlite3.OperationalError:
            pass
        time.sleep(0.1)
    raise AssertionError("the bot never evaluated its rules")
