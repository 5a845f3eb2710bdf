"""Repeat the SIGKILL-mid-fan-out test N times and print its figures.

Run: python benchmarks/bench_crash.py [runs] [chats]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.crash import run_kill_restart

WRESBAL = ROOT.parent / "shared" / "data" / "fred" / "WRESBAL.csv"


def main(runs: int = 10, chats: int = 300) -> None:
    failures = 0
    for i in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            f = run_kill_restart(Path(tmp), WRESBAL, chats=chats, kill_after=chats // 3)
        ok = f.lost == 0 and f.duplicates <= f.in_flight and not f.violations
        failures += not ok
        print(f"run {i + 1}: killed after {f.sent_before_kill} sent ({f.recorded_before_kill} recorded, "
              f"{f.in_flight} in flight); delivered {f.delivered_chats}/{f.chats}, lost {f.lost}, "
              f"duplicates {f.duplicates}, limit violations {len(f.violations)}, {f.seconds:.1f} s "
              f"{'OK' if ok else 'FAIL'}" + (f" {f.violations}" if f.violations else ""))
    print(f"{runs - failures}/{runs} runs lost nothing and duplicated no more than was in flight")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
