"""Benchmark: backtest every shipped rule over the full real history (2002-2026), then 200 copies.

Goal (issue 3): under 3 s for the whole history on a 2-core machine.
Run: python benchmarks/bench_backtest.py
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.catalog import default_catalog
from bot.ingest import ingest_source
from bot.metrics import compute_metrics, needed_series
from bot.rules.evaluate import signal
from bot.rules.loader import load_rules
from bot.rules.replay import backtest
from bot.sources.files import FileSource
from bot.store import Store

DATA = ROOT.parent / "shared" / "data"


def run(rules, frames, units) -> tuple[float, int, int]:
    t0 = time.perf_counter()
    transitions = backtest(rules, frames, units)
    secs = time.perf_counter() - t0
    evaluations = sum(len(signal(r, frames, units)) for r in rules if r.condition.kind != "stale")
    return secs, evaluations, len(transitions)


def main() -> None:
    catalog = default_catalog()
    store = Store(":memory:")
    t0 = time.perf_counter()
    ingest_source(store, FileSource(catalog, [DATA / "fred", DATA / "treasury"]), lambda: datetime(2026, 11, 1))
    frames = compute_metrics(catalog, store.load_series(needed_series(catalog)))
    print(f"load + metrics: {time.perf_counter() - t0:.2f} s")
    units = catalog.units
    rules = load_rules(ROOT / "rules", catalog).rules
    for copies in (1, 10, 200):
        batch = [r.model_copy(update={"id": f"{r.id}_{i}"}) for i in range(copies) for r in rules]
        secs, evals, n = run(batch, frames, units)
        print(f"{len(batch):>5} rules: {secs:6.2f} s, {evals:>9,} evaluations = {evals / secs:>10,.0f}/s, "
              f"{n:,} transitions (goal for the shipped rules: < 3 s)")


if __name__ == "__main__":
    main()
