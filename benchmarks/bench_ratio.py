"""Benchmark: the reserves ratios and the regime shading of the reserves chart over the real history.

The engine recomputes both ratios on every H.4.1 print; /chart reserves replays the regime rule to
shade it (on the event loop, so it is kept per rule and data).
Run: python benchmarks/bench_ratio.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas as pd

from bot.catalog import default_catalog
from bot.chart_marks import regime_shading
from bot.metrics import compute_metrics
from bot.rules.loader import load_rules
from bot.sources.files import FileSource

DATA = ROOT.parent / "shared" / "data" / "fred"


def main() -> None:
    catalog = default_catalog()
    src = FileSource(catalog, [DATA])
    raw = {}
    for sid in ("WRESBAL", "TLAACBW027SBOG", "GDP"):
        rows = src.fetch(catalog.series[sid], None)
        raw[sid] = pd.Series([v for _, v in rows], index=pd.DatetimeIndex([d for d, _ in rows]))
    frames = compute_metrics(catalog, raw)
    ratios = {"reserves_to_bank_assets", "reserves_to_gdp"}
    n = 50
    t0 = time.perf_counter()
    for _ in range(n):
        compute_metrics(catalog, raw, only=ratios, base=frames)
    print(f"both ratios over {len(frames['reserves'])} weekly prints: {(time.perf_counter() - t0) / n * 1000:.1f} ms")
    rules = load_rules(ROOT / "rules", catalog).rules
    t0 = time.perf_counter()
    regime_shading(rules, frames, catalog, "reserves", "en")
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(n):
        regime_shading(rules, frames, catalog, "reserves", "en")
    print(f"reserves chart shading: first {first * 1000:.1f} ms, then {(time.perf_counter() - t0) / n * 1000:.1f} ms "
          "(kept per rule and data)")


if __name__ == "__main__":
    main()
