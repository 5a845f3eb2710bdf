"""Benchmark: personal alerts at scale (issue 13) on the real history.

10,000 chats each hold 3 personal alerts (/alert reserves < ..., /alert rrp < ..., /alert
sofr_iorb_spread > ...), 30,000 rules beside the shipped ones. Goal: one new observation ->
all alerts decided within the incremental engine's budget (<= 0.5 s), the alerts that fire
queued for their own chats only.
Run: python benchmarks/bench_personal.py [CHATS]   (default 10000)
"""

from __future__ import annotations

import resource
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.catalog import default_catalog
from bot.engine import Engine
from bot.ingest import ingest_source
from bot.rules.loader import load_rules
from bot.sources.files import FileSource
from bot.store import Store

DATA = ROOT.parent / "shared" / "data"
NOW = datetime(2026, 8, 4, 21)  # just after the newest ON RRP print in the data


def add_personal_alerts(store: Store, chats: int) -> None:
    """Three alerts a chat, thresholds spread so that a new print crosses a few hundred."""
    rows = []
    for i in range(chats):
        chat = str(10_000_000 + i)
        rows += [("telegram", chat, "reserves", "<", 2.90e12 + (i % 200) * 1e9, 1, "t"),
                 ("telegram", chat, "rrp", "<", 1e9 + (i % 500) * 1e8, 1, "t"),
                 ("telegram", chat, "sofr_iorb_spread", ">", -10 + i % 30, 1 + i % 3, "t")]
    with store.transaction():
        store._many("INSERT INTO chats (platform, chat_id, kind, created_at) VALUES ('telegram', ?, 'private', 't')",
                    [(str(10_000_000 + i),) for i in range(chats)])
        store._many("INSERT INTO personal_rules (platform, chat_id, metric, op, value, for_n, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        store.set_meta("personal_version", "1")


def main() -> None:
    chats = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    catalog = default_catalog()
    shipped = load_rules(ROOT / "rules", catalog).rules
    tmp = Path(tempfile.mkdtemp(prefix="bench-personal-"))
    try:
        store = Store(tmp / "b.db")
        ingest_source(store, FileSource(catalog, [DATA / "fred", DATA / "treasury"]), lambda: NOW)
        add_personal_alerts(store, chats)
        engine = Engine(store, catalog, shipped, [], {"telegram"})
        t0 = time.perf_counter()
        engine.evaluate(NOW, {})
        print(f"{chats} chats x 3 personal alerts = {len(engine.rules) - len(shipped)} personal + {len(shipped)} "
              f"shipped rules; first evaluation (silent replay of every new rule): {time.perf_counter() - t0:.2f} s")
        for sid, day, value in (("WRESBAL", "2026-07-29", 2.95e12), ("RRPONTSYD", "2026-08-03", 5.0e9)):
            added = store.add_observations(sid, [(day, value)], source="bench", vintage="new")
            t1 = time.perf_counter()
            ids = engine.evaluate(NOW, {sid: min(added)})
            dt = time.perf_counter() - t1
            rows = store._one("SELECT count(*) FROM outbox")[0]
            print(f"one new {sid} observation -> all {len(engine.rules)} alerts decided in {dt * 1000:.0f} ms: "
                  f"{len(ids)} events, {rows} outbox rows so far, each to its own chat (goal <= 500 ms)")
        t2 = time.perf_counter()
        engine.evaluate(NOW, {})
        print(f"an evaluation with nothing new: {(time.perf_counter() - t2) * 1000:.0f} ms")
        wrong = store._one("SELECT count(*) FROM outbox o JOIN alert_events e ON e.id = o.event_id JOIN personal_rules p"
                           " ON e.rule_id = 'personal_' || p.id WHERE o.chat_id <> p.chat_id")[0]
        print(f"alerts delivered to a chat other than their owner's: {wrong}")
        print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        store.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
