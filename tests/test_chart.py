"""Chart renderer: size, axis scale, thresholds, 0 bp line, last-value note, empty and Chinese charts."""

from __future__ import annotations

import io
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from bot import chart
from bot.chart import ChartSpec, Threshold, axis_scale, build_figure, fmt_axis, fmt_last, render_chart
from bot.rules.model import Band


def reserves() -> pd.Series:
    idx = pd.date_range("2023-11-29", "2025-11-26", freq="W-WED")
    s = pd.Series(np.linspace(3.45e12, 2.9e12, len(idx)), index=idx)
    s.iloc[-1] = 2.894e12
    return s


def rrp() -> pd.Series:
    idx = pd.bdate_range("2022-01-03", "2025-11-26")
    return pd.Series(np.interp(np.arange(len(idx)), [0, 120, len(idx) - 1], [1.6e12, 2.5e12, 5e10]), index=idx)


def spread_bp() -> pd.Series:
    idx = pd.bdate_range("2025-06-02", "2025-11-26")
    return pd.Series(np.resize([2.0, 4.0, 7.0, 3.0, 12.0], len(idx)), index=idx)


RESERVES = ChartSpec(reserves(), "Bank reserves", "usd", "last 2 years", "Source: Fed H.4.1 via FRED WRESBAL",
                     (Threshold(3e12, "Reserves below $3T"),))
RRP = ChartSpec(rrp(), "ON RRP", "usd", "since 2022", "Source: FRED RRPONTSYD", (Threshold(2e11, "ON RRP below $200B"),))
SPREAD = ChartSpec(spread_bp(), "SOFR − IORB", "bp", "last 6 months", "Source: FRED",
                   (Threshold(10, "Repo stress: 10 bp"),))


def texts(fig) -> list[str]:
    return [t.get_text() for t in fig.texts] + [t.get_text() for ax in fig.axes for t in ax.texts]


def png_size(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as im:
        assert im.format == "PNG"
        return im.size


def test_png_is_at_least_1280x720() -> None:
    w, h = png_size(render_chart(RESERVES))
    assert w >= 1280 and h >= 720


def test_rrp_plots_in_billions_because_of_its_200b_threshold() -> None:
    assert axis_scale("usd", rrp(), [2e11]) == (1e9, "$B")
    labels = [t.get_text() for t in build_figure(RRP).axes[0].get_yticklabels()]
    assert labels and all(lbl.startswith("$") and lbl.endswith("B") for lbl in labels), labels


def test_trillions_only_when_data_and_thresholds_reach_1t() -> None:
    assert axis_scale("usd", reserves(), [3e12]) == (1e12, "$T")
    assert axis_scale("usd", reserves(), [5e11]) == (1e9, "$B")
    assert axis_scale("usd", [2.5e12, 5e10], []) == (1e9, "$B")
    assert axis_scale("percent", [5.33], []) == (1.0, "%")
    assert axis_scale("bp", [12.0], [10.0]) == (1.0, "bp")
    labels = [t.get_text() for t in build_figure(RESERVES).axes[0].get_yticklabels()]
    assert labels and all(lbl.endswith("T") for lbl in labels), labels


def test_tick_and_last_value_formats() -> None:
    assert fmt_axis(2.9, "$T", 1) == "$2.9T"
    assert fmt_axis(150, "$B", 0) == "$150B"
    assert fmt_axis(2500, "$B", 0) == "$2,500B"
    assert fmt_axis(5.25, "%", 2) == "5.25%"
    assert fmt_axis(10, "bp", 0) == "10 bp"
    assert fmt_axis(-1e-17, "%", 1) == "0.0%"
    assert fmt_last(2.894, "$T") == "$2.894T"
    assert fmt_last(50, "$B") == "$50.0B"


def test_title_has_the_unit_and_subtitle_the_period_and_ended_note() -> None:
    spec = ChartSpec(reserves(), "Bank reserves", "usd", "last 2 years", "Source: x", ended_note="series ended 2025-11-26")
    found = texts(build_figure(spec))
    assert "Bank reserves ($T)" in found
    assert any("last 2 years" in t and "series ended 2025-11-26" in t for t in found), found
    assert "Source: x" in found


def test_threshold_is_a_dashed_line_with_its_label_inside_the_figure() -> None:
    fig = build_figure(RESERVES)
    ax = fig.axes[0]
    dashed = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    assert [ln.get_ydata()[0] for ln in dashed] == [3.0]
    label = next(t for t in ax.texts if t.get_text() == "Reserves below $3T")
    box = label.get_window_extent(fig.canvas.get_renderer())
    assert box.x1 <= fig.bbox.x1 - 5 and box.y0 >= ax.transData.transform((0, 3.0))[1] - 1


def test_bp_chart_has_a_solid_zero_line_labelled_0_bp() -> None:
    ax = build_figure(SPREAD).axes[0]
    zero = [ln for ln in ax.lines if ln.get_linestyle() == "-" and list(ln.get_ydata()) == [0, 0]]
    assert zero, "no solid 0 bp line"
    found = [t.get_text() for t in ax.texts]
    assert "0 bp" in found and "Repo stress: 10 bp" in found
    lo, hi = ax.get_ylim()
    assert lo < 0 < 10 < hi


def test_last_value_annotation_has_value_and_date_and_avoids_threshold_label() -> None:
    s = reserves()
    s.iloc[-1] = 2.995e12  # right next to the $3T line and its label
    fig = build_figure(ChartSpec(s, "Bank reserves", "usd", "2y", "src", (Threshold(3e12, "Reserves below $3T"),)))
    ax, renderer = fig.axes[0], fig.canvas.get_renderer()
    last = next(t for t in ax.texts if t.get_text().startswith("Last "))
    assert last.get_text() == "Last $2.995T (2025-11-26)"
    label = next(t for t in ax.texts if t.get_text() == "Reserves below $3T")
    assert not last.get_window_extent(renderer).overlaps(label.get_window_extent(renderer))
    assert ax.get_window_extent(renderer).contains(*last.get_window_extent(renderer).p0)


def test_last_word_is_used() -> None:
    spec = ChartSpec(reserves(), "银行准备金", "usd", "过去2年", "来源：美联储", last_word="最新")
    assert "最新 $2.894T (2025-11-26)" in texts(build_figure(spec))


def test_bands_get_a_legend_below_the_plot_and_none_without_bands() -> None:
    bands = (Band(name="scarce", below=2.5e12), Band(name="ample", below=3.2e12), Band(name="abundant"))
    fig = build_figure(ChartSpec(reserves(), "Bank reserves", "usd", "2y", "src", bands=bands))
    assert len(fig.legends) == 1
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["ample", "abundant"]  # scarce is off-scale
    renderer = fig.canvas.get_renderer()
    assert fig.legends[0].get_window_extent(renderer).y1 < fig.axes[0].get_window_extent(renderer).y0
    assert not build_figure(RESERVES).legends and build_figure(RESERVES).axes[0].get_legend() is None


def test_empty_series_renders_a_no_data_chart() -> None:
    spec = ChartSpec(pd.Series(dtype=float), "Bank reserves", "usd", "2y", "src", (Threshold(3e12, "below $3T"),))
    assert "No data" in texts(build_figure(spec))
    assert png_size(render_chart(spec)) >= (1280, 720)


def test_chinese_title_renders_without_glyph_warnings_even_without_a_cjk_font(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chart, "cjk_font", lambda: None)
    spec = ChartSpec(reserves(), "银行准备金", "usd", "过去2年", "来源：美联储 H.4.1",
                     (Threshold(3e12, "准备金低于3万亿美元"),), (Band(name="充裕", below=None),), last_word="最新")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = render_chart(spec)
    assert png_size(png) >= (1280, 720)
    assert not [w for w in caught if "Glyph" in str(w.message)]


def test_chinese_text_uses_the_cjk_font_with_dejavu_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chart, "cjk_font", lambda: "DejaVu Serif")  # stands in for e.g. Noto Sans CJK SC
    fig = build_figure(ChartSpec(reserves(), "银行准备金", "usd", "过去2年", "src"))
    title = next(t for t in fig.texts if t.get_text().startswith("银行准备金"))
    assert title.get_fontfamily() == ["DejaVu Serif", "DejaVu Sans"]
    english = next(t for t in build_figure(RESERVES).texts if t.get_text().startswith("Bank"))
    assert english.get_fontfamily() == ["DejaVu Sans"]


def test_cjk_font_returns_an_installed_family_or_none() -> None:
    from matplotlib import font_manager

    name = chart.cjk_font()
    assert name is None or name in {f.name for f in font_manager.fontManager.ttflist}


def test_importing_the_module_does_not_import_matplotlib() -> None:
    code = "import sys, bot.chart; assert 'matplotlib' not in sys.modules, 'matplotlib imported eagerly'"
    subprocess.run([sys.executable, "-c", code], check=True)
