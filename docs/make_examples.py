"""Render the README's example /status answer and chart from the real history in ../shared/data.

    python docs/make_examples.py [path/to/shared/data]

Writes docs/status-example.txt (the Telegram /status text, verdict and table) and
docs/reserves-chart.png (the chart /status attaches), as of the day after the newest
print in the data, after the rules have been evaluated over all of it; and
docs/status-stress-example.txt: /status on 2025-10-31 with only what was published by then.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from bot.catalog import default_catalog
from bot.commands import CommandService
from bot.engine import Engine
from bot.ingest import ingest_source
from bot.rules.loader import load_rules
from bot.sources.files import FileSource
from bot.store.sqlite import Store

ROOT = Path(__file__).resolve().parents[1]


def main(data: Path) -> None:
    catalog = default_catalog()
    rules = load_rules(ROOT / "rules", catalog).rules
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "examples.db")
        ingest_source(store, FileSource(catalog, [data / "fred", data / "treasury"]), lambda: datetime(2026, 11, 1))
        frames = store.frames(catalog)
        last = max(f.index[-1] for f in frames.values() if not f.empty).to_pydatetime()
        now = last + timedelta(days=1, hours=12)
        Engine(store, catalog, rules).evaluate(now)
        service = CommandService(store, catalog, lambda: rules, lambda: now)
        reply = service.status_text()
        text = "\n".join([reply.text, reply.table or "", reply.footer or ""])
        (ROOT / "docs" / "status-example.txt").write_text(text + "\n")
        png = asyncio.run(service.chart_png("reserves", "3y"))  # the chart /status sends
        (ROOT / "docs" / "reserves-chart.png").write_bytes(png or b"")
        (ROOT / "docs" / "status-stress-example.txt").write_text(stress_example(store, catalog, rules) + "\n")
        store.close()
    print(text)


def stress_example(store: Store, catalog, rules) -> str:  # type: ignore[no-untyped-def]
    """/status as a chat saw it on 2025-10-31 (late-2025 repo pressure): frames cut to what was known."""
    import pandas as pd

    now = datetime(2025, 10, 31, 18)
    service = CommandService(store, catalog, lambda: rules, lambda: now)
    cut = pd.Timestamp(now.date())
    service.status.core.frames_cache = {k: f[f["known"] <= cut] for k, f in store.frames(catalog).items()}
    reply = service.status_text()
    return "\n".join([reply.text, reply.table or ""])


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data")
