"""Render the README's example /status answer and chart from the real history in ../shared/data.

    python docs/make_examples.py [path/to/shared/data]

Writes docs/status-example.txt (the Telegram /status text, verdict and table) and
docs/reserves-chart.png (the chart /status attaches), as of the day after the newest
print in the data, after the rules have been evaluated over all of it.
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
        store.close()
    print(text)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data")
