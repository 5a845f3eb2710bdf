"""Phone-readable PNG charts of one metric: thresholds, regime bands, the last value and a source footer.

matplotlib is imported lazily inside the functions, never at module level: this module is imported on
the bot's event-loop thread, where matplotlib's import (hundreds of milliseconds) would stall it, and
rendering runs in a worker thread. Only the object API (Figure + Agg canvas) is used, because pyplot keeps
global state; for the same reason fonts are passed to each text instead of changing global rcParams.
"""

from __future__ import annotations

import functools
import io
import math
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bot.rules.model import Band

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backend_bases import RendererBase
    from matplotlib.figure import Figure
    from matplotlib.text import Annotation, Text
    from matplotlib.transforms import Bbox

BAND_COLOURS = ["#f4cccc", "#fff2cc", "#d9ead3", "#cfe2f3"]
ERA_COLOUR = "#e3e3e3"   # a period whose numbers mean something else (Fed repo operations before the SRF)
WIDTH_IN, HEIGHT_IN, DPI = 12.8, 7.2, 100          # 1280x720 px; never bbox_inches="tight" (it changes the size)
TITLE_PT, SUBTITLE_PT, TICK_PT, LABEL_PT, LEGEND_PT, FOOTER_PT = 23, 16, 14, 14, 13, 11
LINE_COLOUR, THRESHOLD_COLOUR, ZERO_COLOUR, GREY = "#1f4e79", "#c00000", "#404040", "#666666"
BASE_FONT = "DejaVu Sans"
CJK_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Source Han Sans SC",
    "Droid Sans Fallback", "AR PL UMing CN", "Noto Serif CJK SC",
    # matplotlib indexes only the first face of a .ttc, so Noto's collection may be listed as JP/TC/KR.
    "Noto Sans CJK JP", "Noto Sans CJK TC", "Noto Sans CJK KR", "Source Han Sans CN",
)
_CJK = re.compile("[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")
_WHITE_BOX = {"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.8}


@dataclass(frozen=True)
class Threshold:
    value: float          # storage unit: dollars for 'usd', percent for 'percent', basis points for 'bp'
    label: str            # human text, already translated


@dataclass(frozen=True)
class Period:
    """A stretch of time shaded behind the line: a regime judged on another measure (reserves shaded
    by their share of bank assets), or an era whose numbers mean something else."""

    start: str            # ISO date
    end: str | None       # ISO date; None: to the end of the data
    label: str            # legend text, already translated
    band: int = -1        # the regime band's position (its colour); -1: an era, in grey


@dataclass(frozen=True)
class ChartSpec:
    series: pd.Series     # DatetimeIndex -> float in the storage unit; may be empty
    title: str            # human metric name
    unit: str             # 'usd' | 'percent' | 'bp'
    period: str           # human period text, e.g. "last 2 years"
    source: str           # footer text
    thresholds: tuple[Threshold, ...] = ()
    bands: tuple[Band, ...] = ()     # lowest first; the last has below=None
    last_word: str = "Last"
    ended_note: str | None = None
    periods: tuple[Period, ...] = ()  # shaded stretches of time (regimes over time, eras)


# --- pure helpers -------------------------------------------------------------------------------------

def axis_scale(unit: str, values: Iterable[float], thresholds: Iterable[float] = ()) -> tuple[float, str]:
    """(divisor, suffix): dollars in $T only when the data and every threshold are >= $1T, else $B."""
    if unit == "percent":
        return 1.0, "%"
    if unit == "bp":
        return 1.0, "bp"
    if unit != "usd":
        return 1.0, ""
    mags = [abs(float(v)) for v in (*values, *thresholds) if math.isfinite(float(v))]
    return (1e12, "$T") if mags and min(mags) >= 1e12 else (1e9, "$B")


def fmt_axis(value: float, suffix: str, decimals: int) -> str:
    """A value already divided by the scale: '$2.9T', '$150B', '5.25%', '10 bp'."""
    value = round(value, decimals) + 0.0  # no '-0'
    if suffix in ("$T", "$B"):
        return f"{'-' if value < 0 else ''}${abs(value):,.{decimals}f}{suffix[1]}"
    if suffix == "%":
        return f"{value:.{decimals}f}%"
    if suffix == "bp":
        return f"{value:.{decimals}f} bp"
    return f"{value:,.{decimals}f}"


def fmt_last(value: float, suffix: str) -> str:
    """The last value, more precise than the ticks: '$2.894T', '$50.0B', '5.33%', '12 bp'."""
    default = 0 if float(value).is_integer() else 1
    return fmt_axis(value, suffix, {"$T": 3, "$B": 1, "%": 2}.get(suffix, default))


def tick_decimals(step: float) -> int:
    """Fewest decimals that show a tick step exactly (0.25 -> 2, 0.5 -> 1, 50 -> 0)."""
    for d in range(5):
        x = step * 10**d
        if abs(x - round(x)) < 1e-6 * max(1.0, x):
            return d
    return 4


def y_range(values: Sequence[float], marks: Sequence[float]) -> tuple[float, float]:
    """Limits covering the data and every mark (thresholds, 0 bp), with a little padding."""
    pts = [v for v in (*values, *marks) if math.isfinite(v)]
    if not pts:
        return 0.0, 1.0
    lo, hi = min(pts), max(pts)
    pad = (hi - lo) * 0.08 or max(abs(hi) * 0.05, 1.0)
    return lo - pad, hi + pad


def y_ticks(lo: float, hi: float) -> list[float]:
    from matplotlib.ticker import MaxNLocator

    ticks = MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
    return [float(t) for t in ticks if lo <= t <= hi]


def has_cjk(*texts: str | None) -> bool:
    return any(t and _CJK.search(t) for t in texts)


@functools.cache
def cjk_font() -> str | None:
    """Name of an installed font family with Chinese glyphs, or None (looked up once)."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FAMILIES if name in installed), None)


def font_families(spec: ChartSpec) -> list[str]:
    """[CJK font, DejaVu Sans] when the spec has Chinese text and such a font exists, else [DejaVu Sans]."""
    texts = (spec.title, spec.period, spec.source, spec.last_word, spec.ended_note,
             *(t.label for t in spec.thresholds), *(b.name for b in spec.bands))
    cjk = cjk_font() if has_cjk(*texts) else None
    return [cjk, BASE_FONT] if cjk else [BASE_FONT]


# --- drawing ------------------------------------------------------------------------------------------

def render_chart(spec: ChartSpec) -> bytes:
    """PNG bytes, 1280x720. Safe to call from a worker thread."""
    fig = build_figure(spec)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def build_figure(spec: ChartSpec) -> Figure:
    """The whole chart as a Figure (with an Agg canvas), for render_chart and for tests."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # Without a CJK font Chinese renders as boxes: expected, not a warning per glyph per render. A filter,
    # because warnings.catch_warnings() is not thread-safe.
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font", category=UserWarning)
    s = pd.Series(spec.series, dtype=float).dropna().sort_index()
    scale, suffix = axis_scale(spec.unit, s.to_numpy(), [t.value for t in spec.thresholds])
    y = s / scale
    family = font_families(spec)
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    renderer = FigureCanvasAgg(fig).get_renderer()  # type: ignore[no-untyped-call]
    ax = fig.add_subplot()
    marks = [t.value / scale for t in spec.thresholds] + ([0.0] if spec.unit == "bp" else [])
    _setup_axes(fig, ax, renderer, y_range(list(y), marks), suffix, family)
    bands_shown = _draw_bands(ax, spec.bands, scale) if len(y) else []
    _draw_series(ax, y)
    if len(y):
        bands_shown += _draw_periods(ax, spec.periods)
    labels = _draw_marks(ax, spec, scale, family)
    if len(y):
        _draw_last(ax, renderer, y, f"{spec.last_word} ", suffix, family, labels)
    _draw_text(fig, ax, spec, suffix, family, bands_shown)
    return fig


def _setup_axes(fig: Figure, ax: Axes, renderer: RendererBase, limits: tuple[float, float], suffix: str,
                family: list[str]) -> None:
    """Y limits and unit-formatted ticks; the left margin fits the widest tick label."""
    lo, hi = limits
    ax.set_ylim(lo, hi)
    ticks = y_ticks(lo, hi)
    decimals = tick_decimals(ticks[1] - ticks[0]) if len(ticks) > 1 else 1
    ax.set_yticks(ticks, [fmt_axis(t, suffix, decimals) for t in ticks], fontsize=TICK_PT, fontfamily=family,
                  parse_math=False)
    ax.tick_params(axis="x", labelsize=TICK_PT)
    ax.xaxis.get_offset_text().set_fontsize(LEGEND_PT)
    ax.grid(True, alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    widest = max((t.get_window_extent(renderer).width for t in ax.get_yticklabels()), default=60.0)
    fig.subplots_adjust(left=(widest + 24) / (WIDTH_IN * DPI), right=0.975, top=0.85, bottom=0.21)


def _draw_series(ax: Axes, y: pd.Series) -> None:
    """The line with date ticks, or a 'No data' note."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    if not len(y):
        ax.text(0.5, 0.5, "No data", transform=ax.transAxes, ha="center", va="center", fontsize=22,
                color=GREY, fontfamily=BASE_FONT, bbox=_WHITE_BOX, zorder=5)
        ax.set_xticks([])
        return
    locator = AutoDateLocator(minticks=3, maxticks=8)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    from bot.chart_alert import break_gaps

    line = break_gaps(y)  # missing days are a gap in the line, not a straight move
    ax.plot(line.index, line.to_numpy(), color=LINE_COLOUR, linewidth=2.2, zorder=3)
    first, last = y.index[0], y.index[-1]
    margin = max((last - first) * 0.02, pd.Timedelta(days=1))
    ax.set_xlim(first - (margin if first == last else pd.Timedelta(0)), last + margin)


def _draw_bands(ax: Axes, bands: Sequence[Band], scale: float) -> list[tuple[str, str]]:
    """Light horizontal spans; returns (name, colour) of the bands visible in the y-range."""
    lo, hi = ax.get_ylim()
    shown, floor = [], -math.inf
    for i, band in enumerate(bands):
        top = math.inf if band.below is None else band.below / scale
        a, b = max(floor, lo), min(top, hi)
        floor = top
        if b - a > 0.02 * (hi - lo):  # a sliver at the edge is not worth a legend entry
            colour = BAND_COLOURS[i % len(BAND_COLOURS)]
            ax.axhspan(a, b, color=colour, alpha=0.6, zorder=0, linewidth=0)
            shown.append((band.name, colour))
    ax.set_ylim(lo, hi)
    return shown


def _draw_periods(ax: Axes, periods: Sequence[Period]) -> list[tuple[str, str]]:
    """Light vertical spans inside the x-range; returns (label, colour) of those visible, once each."""
    from matplotlib.dates import num2date

    lo, hi = (pd.Timestamp(num2date(x)).tz_localize(None) for x in ax.get_xlim())  # type: ignore[no-untyped-call]
    shown: list[tuple[str, str]] = []
    for p in periods:
        a = max(pd.Timestamp(p.start), lo)
        b = min(pd.Timestamp(p.end), hi) if p.end else hi
        if b <= a:
            continue
        colour = ERA_COLOUR if p.band < 0 else BAND_COLOURS[p.band % len(BAND_COLOURS)]
        ax.axvspan(a, b, color=colour, alpha=0.6, zorder=0, linewidth=0)
        if (p.label, colour) not in shown:
            shown.append((p.label, colour))
    ax.set_xlim(lo, hi)
    return shown


def _draw_marks(ax: Axes, spec: ChartSpec, scale: float, family: list[str]) -> list[Annotation]:
    """Dashed threshold lines (and the solid 0 bp line) labelled at the right end, stacked if close."""
    marks = [(t.value / scale, t.label, THRESHOLD_COLOUR, "--", 1.8) for t in spec.thresholds]
    if spec.unit == "bp":
        marks.append((0.0, "0 bp", ZERO_COLOUR, "-", 1.0))
    labels: list[Annotation] = []
    prev_px = -math.inf
    step_px = LABEL_PT * 1.6 * DPI / 72
    for value, text, colour, style, width in sorted(marks, key=lambda m: m[0]):
        ax.axhline(value, color=colour, linestyle=style, linewidth=width, zorder=2)
        line_px = ax.transData.transform((0, value))[1]
        base_px = max(line_px, prev_px + step_px)
        prev_px = base_px
        labels.append(ax.annotate(text, xy=(0.99, value), xycoords=("axes fraction", "data"),
                                  xytext=(0, 3 + (base_px - line_px) * 72 / DPI), textcoords="offset points",
                                  ha="right", va="bottom", fontsize=LABEL_PT, color=colour, fontfamily=family,
                                  parse_math=False, bbox=_WHITE_BOX, zorder=4))
    return labels


def _draw_last(ax: Axes, renderer: RendererBase, y: pd.Series, word: str, suffix: str, family: list[str],
               avoid: Sequence[Text]) -> Annotation:
    """Marker on the last point and 'Last $2.894T (2025-11-26)' where it covers neither labels nor data."""
    from matplotlib.dates import date2num

    x, v = y.index[-1], float(y.iloc[-1])
    ax.plot([x], [v], marker="o", markersize=10, color=LINE_COLOUR, markeredgecolor="white", zorder=6)
    text = f"{word}{fmt_last(v, suffix)} ({pd.Timestamp(x):%Y-%m-%d})"
    ann = ax.annotate(text, xy=(x, v), xytext=(0, 0), textcoords="offset points", ha="right", fontsize=LABEL_PT,
                      fontweight="bold", color=LINE_COLOUR, fontfamily=family, parse_math=False,
                      bbox=_WHITE_BOX, zorder=5)
    candidates = [(-14, dy) for dy in (14, -14, 48, -48, 90, -90, 140, -140)]
    # What the label must avoid does not move with it: measure it once for all candidates.
    frame = ax.get_window_extent(renderer)
    boxes = [t.get_window_extent(renderer) for t in avoid]
    pts = ax.transData.transform(np.column_stack([date2num(y.index.to_pydatetime()),  # type: ignore[no-untyped-call]
                                                  y.to_numpy()]))
    best = min(candidates, key=lambda c: _placement_cost(renderer, ann, c, frame, boxes, pts))
    _place(ann, best)
    return ann


def _place(ann: Annotation, offset: tuple[int, int]) -> None:
    ann.set_position(offset)
    ann.set_verticalalignment("bottom" if offset[1] > 0 else "top")


def _placement_cost(renderer: RendererBase, ann: Annotation, offset: tuple[int, int], frame: Bbox,
                    boxes: Sequence[Bbox], pts: np.ndarray) -> float:
    """Overlaps with labels (`boxes`) or leaving the axes (`frame`) weigh most; then data points
    (`pts`, in pixels) covered; then distance."""
    _place(ann, offset)
    box = ann.get_window_extent(renderer).padded(4)
    hits = sum(box.overlaps(b) for b in boxes)
    outside = not (frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1)
    covered = int(np.count_nonzero((pts[:, 0] >= box.x0) & (pts[:, 0] <= box.x1)
                                   & (pts[:, 1] >= box.y0) & (pts[:, 1] <= box.y1)))
    return 1000.0 * (hits + outside) + covered + abs(offset[1]) / 100


def _draw_text(fig: Figure, ax: Axes, spec: ChartSpec, suffix: str, family: list[str],
               bands: list[tuple[str, str]]) -> None:
    """Title with the unit, period subtitle (+ ended note), band legend below the plot, source footer."""
    title = f"{spec.title} ({suffix})" if suffix else spec.title
    subtitle = " · ".join(p for p in (spec.period, spec.ended_note) if p)
    left = fig.subplotpars.left
    common: dict[str, Any] = {"fontfamily": family, "parse_math": False, "ha": "left"}
    fig.text(left, 0.975, title, fontsize=TITLE_PT, fontweight="bold", va="top", **common)
    fig.text(left, 0.905, subtitle, fontsize=SUBTITLE_PT, color=GREY, va="top", **common)
    fig.text(0.012, 0.012, spec.source, fontsize=FOOTER_PT, color=GREY, va="bottom", **common)
    if bands:
        _band_legend(fig, bands, family, left)


def _band_legend(fig: Figure, bands: list[tuple[str, str]], family: list[str], left: float) -> None:
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=colour, edgecolor="#999999", label=name.replace("$", r"\$")) for name, colour in bands]
    fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(left, 0.04), ncol=len(handles), frameon=False,
               prop=FontProperties(family=family, size=LEGEND_PT), handlelength=1.4, columnspacing=1.4)
