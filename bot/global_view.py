"""Global liquidity in chat: the /status line and `/chart global` (Fed, ECB and BoJ stacked, in dollars).

The chart reads the three dollar series on the global metric's own dates (the Fed's Wednesdays,
the ECB's latest Friday and the BoJ's latest month carried forward, exactly as the sum is built),
so the stack's top is `global_cb_assets_usd`. matplotlib is imported lazily, as in bot/chart.py.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pandas as pd

from bot.catalog import Catalog
from bot.format import metric_label
from bot.i18n import DEFAULT, N_, tr
from bot.metrics import Frames, asof
from bot.status import WIDTH, change_over, display_width
from bot.units import fmt_change, fmt_usd

METRIC = "global_cb_assets_usd"
LAYERS = (("fed_assets", N_("Fed")), ("ecb_assets_usd", N_("ECB")), ("boj_assets_usd", N_("BoJ")))
COLOURS = ("#1f4e79", "#2e75b6", "#9dc3e6")
SOURCE = "FRED WALCL, ECBASSETSW, JPNASSETS; FX DEXUSEU, DEXJPUS (Fed H.10)"  # the full source text overflows


def status_line(catalog: Catalog, frames: Frames, lang: str = DEFAULT) -> str | None:
    """'• Global CBs $18.817T, 4w +$9.7B' (40 characters at most), or None without data."""
    f = frames.get(METRIC)
    if f is None or f.empty:
        return None
    _ = tr(lang)
    m = catalog.metrics[METRIC]
    change = change_over(f, 28, m.cadence_days)
    text = "• " + _("{label} {value}, 4w {change}").format(
        label=_(m.name_short), value=fmt_usd(float(f["value"].iloc[-1])),
        change=fmt_change(change, "usd") if change is not None else "n/a")
    while display_width(text) > WIDTH:
        text = text[:-1]
    return text


@dataclass(frozen=True)
class StackSpec:
    layers: tuple[tuple[str, pd.Series], ...]   # (translated name, dollars on the global dates), bottom first
    title: str
    period: str
    source: str
    last_word: str = "Last"


def stack_spec(catalog: Catalog, frames: Frames, days: int, end: pd.Timestamp, period: str,
               lang: str = DEFAULT) -> StackSpec | None:
    """The three layers over the last `days` days to `end`, on the global metric's dates."""
    total = frames.get(METRIC)
    if total is None or total.empty:
        return None
    _ = tr(lang)
    dates = total.index[total.index >= min(end, total.index[-1]) - pd.Timedelta(days=days)]
    layers = []
    for metric, name in LAYERS:
        tol = 2 * catalog.metrics[metric].cadence_days + 7
        layers.append((_(name), asof(frames[metric], pd.DatetimeIndex(dates), tol)["value"]))
    return StackSpec(tuple(layers), metric_label(catalog, METRIC, lang), period,
                     _("Source: {source}").format(source=SOURCE), _("Last"))


def render_stack(spec: StackSpec) -> bytes:
    """A 1280x720 PNG: the three balance sheets stacked, in trillions of dollars, the total labelled."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from bot.chart import BASE_FONT, DPI, HEIGHT_IN, WIDTH_IN, cjk_font, has_cjk

    texts = [spec.title, spec.period, spec.source, *(n for n, _s in spec.layers)]
    cjk = cjk_font() if has_cjk(*texts) else None
    family = [cjk, BASE_FONT] if cjk else [BASE_FONT]
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.08, 0.14, 0.88, 0.70))
    x = spec.layers[0][1].index
    ys = [s.to_numpy() / 1e12 for _n, s in spec.layers]
    ax.stackplot(x, *ys, labels=[n for n, _s in spec.layers], colors=COLOURS[:len(ys)])
    total = sum(ys)
    if len(x):
        ax.annotate(f"{spec.last_word} {fmt_usd(float(total[-1]) * 1e12)}", (x[-1], float(total[-1])),
                    xytext=(-10, 8), textcoords="offset points", ha="right", fontsize=14, family=family)
    if len(x):
        ax.set_xlim(x[0], x[-1])
    ax.set_ylabel("$T", fontsize=14, family=family)
    ax.tick_params(labelsize=13)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", prop={"family": family, "size": 13})
    fig.text(0.08, 0.93, spec.title, fontsize=22, family=family)
    fig.text(0.08, 0.875, spec.period, fontsize=15, color="#666666", family=family)
    fig.text(0.08, 0.03, spec.source, fontsize=11, color="#666666", family=family)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()
