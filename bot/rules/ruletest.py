"""Rule unit tests in YAML, like `promtool test rules`: input series, expected transitions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from bot.catalog import Catalog
from bot.metrics import compute_metrics
from bot.rules.loader import MAX_DEPTH, _unreadable, load_rules
from bot.rules.nesting import too_deep_at
from bot.rules.replay import backtest


@dataclass
class CaseResult:
    file: str
    name: str
    ok: bool
    problems: list[str]


def _series(points: Any) -> pd.Series:
    if isinstance(points, dict):
        items = [(str(k), v) for k, v in points.items()]
    else:
        items = [(str(d), v) for d, v in points]
    return pd.Series([float(v) for _, v in items], index=pd.DatetimeIndex([d for d, _ in items]))


def _expected(e: dict[str, Any]) -> tuple[Any, ...]:
    return (e["rule"], e["state"], str(e["date"]), e.get("from"), e.get("to"))


def run_test_file(path: Path, catalog: Catalog) -> list[CaseResult]:
    """Run every case in one rule-test file."""
    why = _unreadable(path)
    if why:
        return [CaseResult(str(path), "(file)", False, [why])]
    try:
        text = path.read_text(encoding="utf-8")
        deep_line = too_deep_at(text, MAX_DEPTH)
        doc = None if deep_line else YAML(typ="safe").load(text)
    except (OSError, UnicodeDecodeError, YAMLError, RecursionError) as exc:
        return [CaseResult(str(path), "(file)", False, [f"cannot read: {str(exc)[:200]}"])]
    if deep_line:
        return [CaseResult(str(path), "(file)", False, [f"line {deep_line}: nested deeper than {MAX_DEPTH} levels"])]
    if not isinstance(doc, dict) or not isinstance(doc.get("tests"), list) \
            or not isinstance(doc.get("rule_files", []), list):
        return [CaseResult(str(path), "(file)", False, ["expected `rule_files:` (a list) and `tests:` (a list)"])]
    files = [path.parent / str(f) for f in doc.get("rule_files", [])]
    loaded = load_rules(files, catalog)
    if loaded.problems:
        return [CaseResult(str(path), "(rules)", False, [str(p) for p in loaded.problems])]
    out = []
    for case in doc["tests"]:
        if not isinstance(case, dict):
            out.append(CaseResult(str(path), "(case)", False, [f"a test case must be a mapping, not {case!r:.60}"]))
            continue
        name = str(case.get("name", "unnamed"))
        try:
            given = {m: _series(pts) for m, pts in case["series"].items()}
            unknown = [m for m in given if m not in catalog.metrics]
            if unknown:
                out.append(CaseResult(str(path), name, False, [f"unknown metric(s) {unknown}"]))
                continue
            scope = set(case.get("rules") or [r.id for r in loaded.rules])
            rules = [r for r in loaded.rules if r.id in scope]
            frames = compute_metrics(catalog, {}, given)
            got = [(t.rule_id, t.state, t.at.date().isoformat(), t.from_regime, t.to_regime)
                   for t in backtest(rules, frames, catalog.units)]
            want = [_expected(e) for e in case.get("expect", [])]
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            out.append(CaseResult(str(path), name, False, [f"bad test case: {type(exc).__name__}: {str(exc)[:200]}"]))
            continue
        problems = [f"missing: {w}" for w in want if w not in got] + [f"unexpected: {g}" for g in got if g not in want]
        out.append(CaseResult(str(path), name, not problems, problems))
    return out


def test_files(targets: list[str]) -> list[Path]:
    """Test files named, or every *.yaml under rules/tests/ by default."""
    paths: list[Path] = []
    for t in targets:
        p = Path(t)
        paths += sorted(p.glob("*.yaml")) if p.is_dir() else [p]
    return paths


