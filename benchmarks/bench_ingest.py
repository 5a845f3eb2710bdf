"""Benchmark: full import of ../shared/data, then steady-state incremental polls of a fake FRED.

Goals (issue 2): full import under 5 s; a poll fetches under 1% of the history's bytes.
Run: python benchmarks/bench_ingest.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.catalog import default_catalog
from bot.ingest import ingest_source
from bot.sources.files import FileSource
from bot.sources.fred import FredCsvSource
from bot.sources.http import make_client
from bot.store import Store
from tests.fakes.http import FakeServer
from tests.fakes.sources import FakeFred

DATA = ROOT.parent / "shared" / "data"
NOW = lambda: datetime(2026, 11, 1)  # noqa: E731


def main() -> None:
    catalog = default_catalog()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.db")
        t0 = time.perf_counter()
        report = ingest_source(store, FileSource(catalog, [DATA / "fred", DATA / "treasury"]), NOW)
        full = time.perf_counter() - t0
        print(f"full import: {report.added} rows in {full:.2f} s = {report.added / full:,.0f} rows/s (goal < 5 s)")
        store.close()

        history = {}
        for sdef in catalog.series_for_source("fred"):
            path = DATA / "fred" / f"{sdef.id}.csv"
            if path.exists():
                history[sdef.id] = [tuple(line.split(",")) for line in path.read_text().split()[1:]]
        with FakeServer() as server:
            FakeFred(server, history)
            store = Store(Path(tmp) / "poll.db")
            src = FredCsvSource(catalog, make_client(10), server.url)
            t0 = time.perf_counter()
            ingest_source(store, src, NOW)
            first, full_bytes = time.perf_counter() - t0, src.bytes_fetched
            print(f"first poll (empty store, whole history over HTTP): {first:.2f} s, {full_bytes:,} bytes")
            times, sizes = [], []
            for _ in range(5):
                before = src.bytes_fetched
                t0 = time.perf_counter()
                r = ingest_source(store, src, NOW)
                times.append(time.perf_counter() - t0)
                sizes.append(src.bytes_fetched - before)
                assert r.added == 0
            per = sum(sizes) / len(sizes)
            print(f"steady-state poll: {sum(times) / len(times) * 1000:.0f} ms, {per:,.0f} bytes "
                  f"= {per / full_bytes:.2%} of the history's bytes (goal < 1%)")
            store.close()


if __name__ == "__main__":
    main()
