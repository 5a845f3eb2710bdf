"""`liquidity-bot export`: stored observations of metrics in catalog units, as CSV or JSON lines."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import date
from typing import TextIO

import pandas as pd

from bot.catalog import Catalog
from bot.metrics import Frames


def slice_values(frame: pd.DataFrame, start: date | None, end: date | None) -> pd.Series:
    """A metric's values between two days, both inclusive (either may be open)."""
    s = frame["value"]
    if start:
        s = s[s.index >= pd.Timestamp(start)]
    if end:
        s = s[s.index <= pd.Timestamp(end)]
    return s


def write_csv(out: TextIO, frames: Frames, metrics: list[str], start: date | None, end: date | None) -> int:
    """`date,METRIC...`: one row per date any metric has, an empty cell where one has none."""
    table = pd.concat({m: slice_values(frames[m], start, end) for m in metrics}, axis=1, sort=True)
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["date", *metrics])
    for day, row in table.iterrows():
        w.writerow([day.date().isoformat(), *("" if pd.isna(v) else repr(float(v)) for v in row)])
    return len(table)


def json_lines(frames: Frames, catalog: Catalog, metrics: list[str], start: date | None,
               end: date | None) -> Iterable[str]:
    """One `{"metric", "date", "value", "unit"}` object per line."""
    for m in metrics:
        unit = catalog.metrics[m].unit
        for day, v in slice_values(frames[m], start, end).items():
            yield json.dumps({"metric": m, "date": day.date().isoformat(), "value": float(v), "unit": unit})
