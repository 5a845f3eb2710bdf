"""The series catalog (bot/catalog.yaml): source series, their units, and metric definitions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from bot.units import to_base

CATALOG_PATH = Path(__file__).with_name("catalog.yaml")
_WINDOW = re.compile(r"^\s*(\d+)\s*(d|w|bd)\s*$")


@dataclass(frozen=True)
class SeriesDef:
    """One source series: id (as the source names it), source, unit published, release lag."""

    id: str
    source: str
    unit: str
    frequency: str
    lag: int
    title: str
    until: str | None = None
    start: str | None = None   # first date the series exists: earlier rows are refused
    signed: bool = False       # dollar amounts are non-negative unless the series says otherwise
    near_zero: bool = False    # can legitimately be ~0 (ON RRP, repo take-up): a fall is never a unit change
    jumps: bool = False        # former name of near_zero (catalogs written before it still load)
    publisher: str = ""        # who publishes it, for alerts' source line ("Fed H.4.1")

    @property
    def can_be_zero(self) -> bool:
        return self.near_zero or self.jumps

    @property
    def nonnegative(self) -> bool:
        return self.base_unit == "usd" and not self.signed

    @property
    def base_unit(self) -> str:
        return to_base(self.unit)[0]

    @property
    def factor(self) -> float:
        return to_base(self.unit)[1]


@dataclass(frozen=True)
class MetricDef:
    """A metric: spliced source series, or one of formula / spread / change over other metrics."""

    name: str
    unit: str
    label: str
    cadence_days: int
    series: tuple[str, ...] = ()
    formula: tuple[tuple[int, str], ...] = ()  # (sign, metric) terms
    spread: tuple[str, str] | None = None
    change: str | None = None
    window_days: int = 0
    convert: tuple[str, str] | None = None   # (foreign-currency amount, FX rate): in dollars
    ratio: tuple[str, str] | None = None     # (numerator, denominator): 100 x a / b, in percent
    # Operation volumes: a day with no observation means nothing was taken up, i.e. zero.
    absent_is_zero: bool = False
    short: str = ""            # the label in a 40-character status table ("Reserves")

    @property
    def name_short(self) -> str:
        return self.short or self.label

    @property
    def inputs(self) -> tuple[str, ...]:
        """Metrics this one is computed from (empty for a source metric)."""
        if self.formula:
            return tuple(m for _, m in self.formula)
        if self.spread:
            return self.spread
        if self.change:
            return (self.change,)
        if self.convert:
            return self.convert
        if self.ratio:
            return self.ratio
        return ()


@dataclass(frozen=True)
class Catalog:
    series: dict[str, SeriesDef]
    metrics: dict[str, MetricDef] = field(default_factory=dict)

    @property
    def units(self) -> dict[str, str]:
        """metric -> unit ("usd", "percent", "bp"), as rule evaluation needs it."""
        return {name: m.unit for name, m in self.metrics.items()}

    def source_text(self, metric: str) -> str:
        """Where a metric's numbers come from, for humans: "Fed H.4.1 via FRED WRESBAL",
        "NY Fed ON RRP results"; derived metrics name their inputs' sources."""
        m = self.metrics.get(metric)
        if m is None:
            return metric
        if not m.series:
            parts: list[str] = []
            for dep in m.inputs:
                for p in self.source_text(dep).split("; "):
                    if p not in parts:
                        parts.append(p)
            return "; ".join(parts)
        s = self.series[m.series[0]]
        if s.source == "fred":
            return f"{s.publisher} via FRED {s.id}" if s.publisher else f"FRED {s.id}"
        return s.publisher or f"{s.source} {s.id}"

    def series_for_source(self, source: str) -> list[SeriesDef]:
        return [s for s in self.series.values() if s.source == source]

    def metric_order(self) -> list[str]:
        """Metric names in dependency order (inputs before the metrics built on them)."""
        done: list[str] = []

        def visit(name: str) -> None:
            if name in done:
                return
            for dep in self.metrics[name].inputs:
                visit(dep)
            done.append(name)

        for name in self.metrics:
            visit(name)
        return done


def parse_formula(text: str) -> tuple[tuple[int, str], ...]:
    """Parse 'a - b + c' into ((1,'a'), (-1,'b'), (1,'c')); names and +/- only, never eval."""
    tokens = re.findall(r"[A-Za-z_][A-Za-z0-9_]*|[+-]|\S", text)
    terms: list[tuple[int, str]] = []
    sign = 1
    expect_name = True
    for tok in tokens:
        if expect_name:
            if tok in "+-" and len(tok) == 1:
                sign = sign * (-1 if tok == "-" else 1)
                continue
            if not re.match(r"[A-Za-z_]", tok):
                raise ValueError(f"formula {text!r}: unexpected {tok!r}")
            terms.append((sign, tok))
            sign, expect_name = 1, False
        else:
            if tok not in ("+", "-"):
                raise ValueError(f"formula {text!r}: expected + or - before {tok!r}")
            sign, expect_name = (-1 if tok == "-" else 1), True
    if expect_name:
        raise ValueError(f"formula {text!r}: ends without a metric name")
    return tuple(terms)


def parse_window_days(text: str | int) -> int:
    """'7d' -> 7, '1w' -> 7, '5bd' -> 7 (5 business days ~ a calendar week)."""
    if isinstance(text, int):
        return text
    m = _WINDOW.match(str(text))
    if not m:
        raise ValueError(f"window {text!r}: use e.g. 7d, 1w or 5bd")
    n, u = int(m.group(1)), m.group(2)
    return n * 7 if u == "w" else (n if u == "d" else (n // 5) * 7 + n % 5)


def _metric(name: str, d: dict[str, Any]) -> MetricDef:
    common = dict(name=name, unit=d["unit"], label=d.get("label", name), cadence_days=int(d.get("cadence_days", 1)),
                  absent_is_zero=bool(d.get("absent_is_zero", False)), short=d.get("short", ""))
    if "series" in d:
        return MetricDef(series=tuple(d["series"]), **common)
    if "formula" in d:
        return MetricDef(formula=parse_formula(d["formula"]), **common)
    if "spread" in d:
        a, b = d["spread"]
        return MetricDef(spread=(a, b), **common)
    if "change" in d:
        return MetricDef(change=d["change"], window_days=parse_window_days(d["window"]), **common)
    if "convert" in d:
        return MetricDef(convert=(d["convert"], d["at"]), **common)
    if "ratio" in d:
        return MetricDef(ratio=_ratio(name, d), **common)
    raise ValueError(f"metric {name}: needs one of series, formula, spread, change, convert, ratio")


def _ratio(name: str, d: dict[str, Any]) -> tuple[str, str]:
    """`ratio: [numerator, denominator]`, always in percent (a share of the denominator)."""
    pair = d["ratio"]
    if not isinstance(pair, list) or len(pair) != 2 or not all(isinstance(x, str) for x in pair):
        raise ValueError(f"metric {name}: ratio needs [numerator, denominator], two metric names")
    if d["unit"] != "percent":
        raise ValueError(f"metric {name}: a ratio's unit is percent, not {d['unit']!r}")
    return pair[0], pair[1]


def load_catalog(path: Path = CATALOG_PATH) -> Catalog:
    """Load and cross-check the catalog; raise ValueError naming the first inconsistency."""
    raw = YAML(typ="safe").load(path.read_text())
    # Extra blocks appended after the main ones (global liquidity) extend them in order.
    raw["series"] = {**raw["series"], **(raw.get("global_series") or {})}
    raw["metrics"] = {**raw["metrics"], **(raw.get("global_metrics") or {})}
    raw["series"] = {**raw["series"], **(raw.get("h41_series") or {})}
    raw["metrics"] = {**raw["metrics"], **(raw.get("h41_metrics") or {})}
    series = {sid: SeriesDef(id=sid, **{k: v for k, v in d.items()}) for sid, d in raw["series"].items()}
    for s in series.values():
        to_base(s.unit)
    metrics = {name: _metric(name, d) for name, d in raw["metrics"].items()}
    for m in metrics.values():
        for sid in m.series:
            if sid not in series:
                raise ValueError(f"metric {m.name}: unknown series {sid}")
        for dep in m.inputs:
            if dep not in metrics:
                raise ValueError(f"metric {m.name}: unknown metric {dep}")
        if m.ratio and len({metrics[x].unit for x in m.ratio}) != 1:
            raise ValueError(f"metric {m.name}: a ratio's two metrics need one unit, not "
                             f"{metrics[m.ratio[0]].unit} and {metrics[m.ratio[1]].unit}")
    return Catalog(series=series, metrics=metrics)


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The catalog shipped with the package (cached)."""
    return load_catalog()
