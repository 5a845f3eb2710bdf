"""Benchmark: the liquidity stress score over the full real history (2008-2026), and one /status
day (`latest`), on ../shared/data.

Goal (issue 21): the history well under the 10-second CLI budget, `latest` well under /status's 1 s.
Run: python benchmarks/bench_stress.py
"""

from __future__ import annotations

import sys
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.catalog import default_catalog
from bot.ingest import ingest_source
from bot.sources.files import FileSource
from bot.store import Store
from bot.stress import history, latest

DATA = ROOT.parent / "shared" / "data"


def main() -> None:
    catalog = default_catalog()
    store = Store(":memory:")
    ingest_source(store, FileSource(catalog, [DATA / "fred", DATA / "treasury"]), lambda: datetime(2026, 11, 1))
    frames = store.frames(catalog)
    t0 = time.perf_counter()
    days = history(catalog, frames)
    t1 = time.perf_counter()
    for _ in range(20):
        latest(catalog, frames, date(2025, 10, 31))
    t2 = time.perf_counter()
    print(f"history: {len(days)} days in {t1 - t0:.2f} s ({(t1 - t0) / len(days) * 1e3:.3f} ms/day)")
    print(f"latest (one /status): {(t2 - t1) / 20 * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
