"""PNG charts of a metric with threshold lines and regime bands (matplotlib Agg, object API).

Imported lazily and called from a worker thread: matplotlib's import and a render cost
hundreds of milliseconds, which must not stall the event loop.
"""

from __future__ import annotations

import io

import pandas as pd

from bot.rules.model import Band

BAND_COLOURS = ["#f4cccc", "#fff2cc", "#d9ead3", "#cfe2f3"]


def render_chart(series: pd.Series, title: str, unit: str, lines: list[tuple[float, str]] | None = None,
                 bands: list[Band] | None = None) -> bytes:
    """Line chart of `series` (dollars shown in $T / $B, percent as %, bp as bp)."""
    from matplotlib.figure import Figure  # lazy: keeps start-up fast

    scale, suffix = 1.0, ""
    if unit == "usd":
        top = float(series.abs().max()) if len(series) else 0.0
        scale, suffix = (1e12, "$T") if top >= 1e12 else (1e9, "$B")
    elif unit == "percent":
        suffix = "%"
    elif unit == "bp":
        suffix = "bp"
    fig = Figure(figsize=(8, 4), dpi=100)
    ax = fig.add_subplot()
    ax.plot(series.index, series.values / scale, color="#1f4e79", linewidth=1.6)
    if bands and len(series):
        lo = 0.0
        ymin, ymax = ax.get_ylim()
        edges = [b.below for b in bands[:-1]]
        lows = [min(ymin, edges[0] / scale)] + [e / scale for e in edges]
        highs = [e / scale for e in edges] + [max(ymax, edges[-1] / scale)]
        for i, (b, lo, hi) in enumerate(zip(bands, lows, highs, strict=False)):
            ax.axhspan(lo, hi, color=BAND_COLOURS[i % len(BAND_COLOURS)], alpha=0.5, zorder=0, label=b.name)
        ax.set_ylim(ymin, ymax)
    for value, label in lines or []:
        ax.axhline(value / scale, color="#c00000", linestyle="--", linewidth=1)
        ax.annotate(label, xy=(0.01, value / scale), xycoords=("axes fraction", "data"), color="#c00000",
                    fontsize=8, va="bottom")
    ax.set_title(title)
    ax.set_ylabel(suffix)
    ax.grid(True, alpha=0.3)
    if bands:
        ax.legend(loc="upper left", fontsize=8)
    fig.autofmt_xdate()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()
