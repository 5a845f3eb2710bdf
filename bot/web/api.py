"""The dashboard's data, as JSON-ready dicts, from the same functions as the CLI: `status --json`
(bot.status.snapshot / to_json), `export` (bot.export) and `backtest` (bot.rules.replay).
Public data only: the shared rules (never `personal_*`) and their alerts. Pure over its inputs."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any


from bot.catalog import Catalog
from bot.export import slice_values, write_csv
from bot.metrics import Frames
from bot.redact import is_personal, redact
from bot.rules.model import Rule
from bot.rules.replay import backtest
from bot.status import MetricStatus, current_regimes, regime_bases, snapshot, to_json
from bot.store import Storage

PERIODS = {"1m": 31, "3m": 92, "1y": 366, "5y": 5 * 366, "all": None}
DEFAULT_PERIOD = "1y"
SPARK_DAYS = 92          # the overview's sparklines: about a quarter
ALERTS_SHOWN = 100


@dataclass(frozen=True)
class Snapshot:
    """What the overview and /api/status show, read once per request (or per data version)."""

    rows: list[MetricStatus]
    firing: list[str]              # shared rules firing now (personal ones never leave the store)
    failing: list[dict[str, Any]]  # sources whose last attempt failed: {source, last_success, error}
    evaluated_at: str | None


def public_rules(rules: list[Rule]) -> list[Rule]:
    """The shared rules from the rules folder; a chat's own `personal_*` rule is never public."""
    return [r for r in rules if not is_personal(r.id)]


def take_snapshot(store: Storage, catalog: Catalog, frames: Frames, rules: list[Rule], now: datetime) -> Snapshot:
    """The `status --json` rows (same calls as bot.cli_data.cmd_status), firing shared rules, failing sources."""
    regimes = current_regimes(rules, frames, catalog.units, store.regimes(), now)
    rows = snapshot(catalog, frames, now.date(), regimes, store.held_prints(), regime_bases(rules, frames))
    shared = {r.id for r in rules}
    firing = [r for r in store.firing_rules() if r in shared and not is_personal(r)]
    # Error texts are redacted when stored; redacting again (token shapes) costs nothing on a public page.
    failing = [{"source": s, "last_success": f["last_success"], "error": redact(f["last_error"] or "")[:160]}
               for s, f in sorted(store.last_fetches().items()) if f["last_error"]]
    return Snapshot(rows, firing, failing, store.get_meta("rules_evaluated_at"))


def status_json(snap: Snapshot, verdict: list[str]) -> dict[str, Any]:
    """/api/status: `metrics` is exactly `status --json`; then the verdict, firing rules, failing sources
    (no clock reading: the answer, and so its ETag, changes only with the data)."""
    return {"metrics": to_json(snap.rows), "verdict": verdict,
            "firing": snap.firing, "failing_sources": snap.failing, "rules_evaluated_at": snap.evaluated_at}


def parse_day(raw: str | None) -> date | None:
    """`2024-01-31` -> a date; None when absent. ValueError for anything else."""
    return date.fromisoformat(raw) if raw else None


def period_start(period: str, last: date) -> date | None:
    """The first day a period (`1m`, `3m`, `1y`, `5y`, `all`) shows, counted back from the newest data."""
    days = PERIODS.get(period, PERIODS[DEFAULT_PERIOD])
    return None if days is None else last - timedelta(days=days)


def points(frames: Frames, metric: str, start: date | None, end: date | None) -> tuple[list[str], list[float]]:
    """(dates, values) of a metric between two days, both inclusive, in catalog units."""
    f = frames.get(metric)
    if f is None or f.empty:
        return [], []
    s = slice_values(f, start, end)   # the same slice as `export` and the CSV download
    return [d.date().isoformat() for d in s.index], [float(v) for v in s.to_numpy()]


def regime_spans(rules: list[Rule], frames: Frames, units: dict[str, str], metric: str) -> list[dict[str, str]]:
    """[{from, to, regime}] over the metric's history, from its regime rule's replayed band changes
    (with the rule's hysteresis), for shading the chart. Empty when no regime rule watches it."""
    banded = [r for r in rules if r.kind.banded and r.kind.level_bands(metric) is not None]
    f = frames.get(metric)
    if not banded or f is None or f.empty:
        return []
    changes = [t for t in backtest(banded[:1], frames, units) if t.state == "regime" and t.to_regime]
    first, last = f.index[0].date().isoformat(), f.index[-1].date().isoformat()
    spans: list[dict[str, str]] = []
    start, regime = first, changes[0].from_regime if changes else None
    for t in changes:
        if regime:
            spans.append({"from": start, "to": t.data_date.isoformat(), "regime": regime})
        start, regime = t.data_date.isoformat(), t.to_regime
    if regime:
        spans.append({"from": start, "to": last, "regime": regime})
    return spans


def series_json(catalog: Catalog, frames: Frames, metric: str, start: date | None, end: date | None,
                thresholds: list[float], regimes: list[dict[str, str]]) -> dict[str, Any]:
    """/api/series/<metric>: dates and values in the catalog unit, thresholds (bot.status.rule_marks),
    regime spans (`regime_spans`), sources."""
    m = catalog.metrics[metric]
    dates, values = points(frames, metric, start, end)
    sources = [{"series": sid, "source": catalog.series[sid].source, "title": catalog.series[sid].title}
               for sid in m.series if sid in catalog.series]
    return {"metric": metric, "label": m.label, "unit": m.unit, "dates": dates, "values": values,
            "thresholds": sorted(set(thresholds)), "regimes": regimes, "sources": sources,
            "inputs": list(m.inputs)}


def series_csv(frames: Frames, metric: str, start: date | None, end: date | None) -> str:
    """The same CSV as `liquidity-bot export METRIC --from --to` (bot.export.write_csv)."""
    out = io.StringIO()
    write_csv(out, frames, [metric], start, end)
    return out.getvalue()


def alerts_json(store: Storage, rules: list[Rule], limit: int = ALERTS_SHOWN) -> list[dict[str, Any]]:
    """/api/alerts: the shared rules' recent alert events, newest first (a personal alert's never)."""
    shared = {r.id: r for r in rules}
    out = []
    for e in store.recent_events(limit=limit * 2):
        rule = shared.get(e["rule_id"])
        if rule is None or e["topic"] == "personal" or is_personal(e["rule_id"]):
            continue
        out.append({"rule": e["rule_id"], "title": rule.heading(), "topic": e["topic"], "severity": e["severity"],
                    "state": e["state"], "data_date": e["data_date"], "value": e["value"],
                    "from": e["from_regime"], "to": e["to_regime"], "at": e["created_at"]})
    return out[:limit]


def rule_records(rules: list[Rule], frames: Frames, units: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each rule's backtest record over all stored history (as `liquidity-bot backtest`):
    firings (and regime changes), first and last, per year. Staleness rules have none."""
    years: dict[str, Counter[int]] = {r.id: Counter() for r in rules if not r.kind.wall_clock}
    first: dict[str, str] = {}
    last: dict[str, str] = {}
    for t in backtest(rules, frames, units):
        if t.state == "resolved":
            continue
        years[t.rule_id][t.at.year] += 1
        first.setdefault(t.rule_id, t.data_date.isoformat())
        last[t.rule_id] = t.data_date.isoformat()
    return {rid: {"fired": sum(c.values()), "first": first.get(rid), "last": last.get(rid),
                  "per_year": {str(y): n for y, n in sorted(c.items())}} for rid, c in years.items()}


def rules_json(rules: list[Rule], firing: list[str], records: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """/api/rules: the shared rules with their state and backtest record (None: not replayable)."""
    on = set(firing)
    return [{"id": r.id, "title": r.heading(), "topic": r.topic, "severity": r.severity, "kind": r.condition.kind,
             "description": r.description, "firing": r.id in on, "record": records.get(r.id)} for r in rules]
