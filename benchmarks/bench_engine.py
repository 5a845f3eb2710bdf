"""Benchmark: the incremental engine with many rules, on the real history (issue 11).

Goals: 15,000 rules - first evaluation (silent replay of every new rule) <= 30 s; start-up
(engine load + first evaluation with a full store) <= 60 s; one new observation -> all alerts
decided <= 0.5 s. 100,000 subscribers: outbox rows for one alert written <= 1 s.
Run: python benchmarks/bench_engine.py [RULES]   (default 15000)
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
from bot.rules.model import Rule
from bot.sources.files import FileSource
from bot.store import Store

DATA = ROOT.parent / "shared" / "data"
NOW = datetime(2026, 9, 1, 21)


def generated(n: int) -> list[Rule]:
    """Level, spread and change rules on existing metrics with spread-out thresholds."""
    shapes = [
        lambda i: {"level": {"metric": "reserves", "op": "<", "value": 2.5e12 + (i % 997) * 1e9}},
        lambda i: {"level": {"metric": "rrp", "op": "<", "value": 1e9 + (i % 991) * 1e9}},
        lambda i: {"spread": {"a": "sofr", "b": "iorb", "op": ">", "value": -20 + (i % 61)}},
        lambda i: {"change": {"metric": "rrp", "window": {"business_days": 1 + i % 10}, "op": "<",
                              "value": -(1 + i % 50) * 1e10}},
        lambda i: {"level": {"metric": "tga_daily", "op": ">", "value": 4e11 + (i % 83) * 1e10}},
        lambda i: {"change": {"metric": "net_liquidity", "window": {"days": 7}, "op": "<", "value": -(i % 300) * 1e9}},
    ]
    out = []
    for i in range(n):
        out.append(Rule.model_validate({
            "id": f"gen_{i}", "topic": "reserves", "condition": shapes[i % len(shapes)](i), "for": 1 + i % 3,
            "cooldown": f"{1 + i % 20}d", "message": "{label} {value} vs {threshold} ({date})", "why": "benchmark"}))
    return out


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 15_000
    catalog = default_catalog()
    shipped = [r for r in load_rules(ROOT / "rules", catalog).rules if r.condition.kind != "stale"]
    rules = shipped + generated(n - len(shipped))
    tmp = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    data = tmp / "data"
    shutil.copytree(DATA / "fred", data)
    shutil.copy(DATA / "treasury" / "TGA_DTS_CLOSE.csv", data)
    try:
        store = Store(tmp / "b.db")
        ingest_source(store, FileSource(catalog, [data]), lambda: NOW)
        print(f"{len(rules)} rules ({len(shipped)} shipped + {len(rules) - len(shipped)} generated), "
              f"{store.observation_count()} observations stored")

        t0 = time.perf_counter()
        engine = Engine(store, catalog, rules, [("console", "stdout")], {"console"})
        engine.refresh()
        t_load = time.perf_counter() - t0
        t1 = time.perf_counter()
        engine.evaluate(NOW, {})
        t_first = time.perf_counter() - t1
        print(f"start-up: load {t_load:.2f} s + first evaluation of {len(rules)} new rules {t_first:.2f} s"
              f" = {t_load + t_first:.2f} s (goals: first evaluation <= 30 s, start-up <= 60 s)")

        # One new observation on each of two metrics, as a fetch brings them.
        for sid, day, value in (("RRPONTSYD", "2026-08-03", 2.0e9), ("WRESBAL", "2026-06-10", 2.95e12)):
            added = store.add_observations(sid, [(day, value)], source="bench", vintage="new")
            t2 = time.perf_counter()
            ids = engine.evaluate(NOW, {sid: min(added)})
            dt = time.perf_counter() - t2
            print(f"one new {sid} observation -> all alerts decided in {dt * 1000:.0f} ms "
                  f"({len(ids)} events; goal <= 500 ms)")
        t3 = time.perf_counter()
        engine.evaluate(NOW, {})
        print(f"an evaluation with nothing new: {(time.perf_counter() - t3) * 1000:.0f} ms")

        # 100,000 subscribers, one alert.
        with store.transaction():
            store._many(
                "INSERT INTO chats (platform, chat_id, kind, created_at) VALUES ('telegram', ?, 'private', 't')",
                [(str(100_000 + i),) for i in range(100_000)])
            store._many(
                "INSERT INTO subscriptions (platform, chat_id, topic, created_at) VALUES ('telegram', ?, 'rrp', 't')",
                [(str(100_000 + i),) for i in range(100_000)])
        alert_rule = Rule.model_validate({"id": "rrp_below_1_5b", "topic": "rrp", "message": "ON RRP {value}",
                                          "why": "benchmark", "condition": {"level": {
                                              "metric": "rrp", "op": "<", "value": 1.5e9}}})
        fan = Engine(store, catalog, [alert_rule], [], {"telegram"})
        fan.evaluate(NOW, {})
        added = store.add_observations("RRPONTSYD", [("2026-08-04", 1e9)], source="bench", vintage="fan")
        t4 = time.perf_counter()
        ids = fan.evaluate(datetime(2026, 8, 4, 21), {"RRPONTSYD": min(added)})
        dt = time.perf_counter() - t4
        rows = store._one("SELECT count(*) FROM outbox WHERE event_id = ?", [ids[0]])[0] if ids else 0
        print(f"100,000 subscribers: {rows} outbox rows for one alert written in {dt:.2f} s (goal <= 1 s)")
        print(f"peak RSS of this process: {rss_mb():.0f} MB")
        store.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
