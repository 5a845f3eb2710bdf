"""`liquidity-bot stress`: the liquidity stress score per day (bot/stress.py), from the store and
--data folders, as lines or JSON Lines, and how often each light occurred per year."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from typing import TYPE_CHECKING

from bot.catalog import default_catalog
from bot.config import Settings

if TYPE_CHECKING:
    from bot.stress import DayScore


def per_year(scores: list[DayScore]) -> dict[int, Counter[str]]:
    """{year: {light: days}}."""
    out: dict[int, Counter[str]] = defaultdict(Counter)
    for s in scores:
        out[s.date.year][s.light] += 1
    return dict(out)


def year_table(scores: list[DayScore]) -> list[str]:
    """A Markdown table: days per light per year (README's table is this command's output)."""
    from bot.stress import default_model

    lights = [lt.name for lt in default_model().lights]
    lines = ["| year | " + " | ".join(lights) + " |", "|---|" + "---|" * len(lights)]
    for year, c in sorted(per_year(scores).items()):
        lines.append(f"| {year} | " + " | ".join(str(c.get(n, 0)) for n in lights) + " |")
    return lines


def cmd_stress(args: argparse.Namespace, settings: Settings) -> int:
    """The stress score per weekday, each from the data published by then (a backtest)."""
    from bot.cli_data import read_data
    from bot.store import open_store
    from bot.stress import history
    from bot.stress_text import cli_line, to_json

    start, end = getattr(args, "from"), args.to
    if start and end and end < start:
        print("--to is before --from", file=sys.stderr)
        return 2
    catalog = default_catalog()
    store = open_store(settings)
    read_data(store, catalog, args.data)
    frames = store.frames(catalog)
    store.close()
    scores = history(catalog, frames, start, end)
    if not scores:
        print("No stress score: too little data in the store (run `liquidity-bot fetch` first).", file=sys.stderr)
        return 1
    if args.json:
        for s in scores:
            print(json.dumps(to_json(s), ensure_ascii=False))
        return 0
    for s in scores:
        print(cli_line(s))
    print("\ndays per light per year:")
    print("\n".join(year_table(scores)))
    return 0
