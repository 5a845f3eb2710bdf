"""Benchmark: what a firing alert's calendar context costs - the analog search (replay of the rule
over the real history, 2002-2026) and the surprise line - per shipped rule, and /calendar 92d.

Run: python benchmarks/bench_analogs.py   (prints figures; no goal is asserted)
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.analogs import analog_days
from bot.catalog import default_catalog
from bot.ingest import ingest_source
from bot.liquidity_calendar import calendar_text
from bot.rules.loader import load_rules
from bot.sources.files import FileSource
from bot.store import Store
from bot.surprise import surprise_line

DATA = ROOT.parent / "shared" / "data"


def main() -> None:
    catalog = default_catalog()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.db")
        ingest_source(store, FileSource(catalog, [DATA / "fred", DATA / "treasury"]), lambda: datetime(2026, 11, 1))
        frames = store.frames(catalog)
        rules = [r for r in load_rules(ROOT / "rules", catalog).rules if not r.kind.wall_clock]
        when = date(2026, 6, 30)
        for rule in rules:
            t0 = time.perf_counter()
            days = analog_days(rule, catalog, frames, when)
            t1 = time.perf_counter()
            surprise_line(rule.kind.shown_metric, catalog, frames, when)
            t2 = time.perf_counter()
            print(f"{rule.id:28s} analogs {1e3 * (t1 - t0):7.1f} ms ({len(days)} found)  surprise {1e3 * (t2 - t1):6.1f} ms")
        t0 = time.perf_counter()
        for _ in range(20):
            calendar_text(date(2026, 12, 7), 92)
        print(f"/calendar 92d: {1e3 * (time.perf_counter() - t0) / 20:.1f} ms")
        store.close()


if __name__ == "__main__":
    main()
