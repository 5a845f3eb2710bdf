"""`liquidity-bot` rule subcommands: rules check, rules test, backtest."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

from bot.catalog import default_catalog
from bot.clock import utcnow
from bot.config import Settings


def cmd_rules_check(args: argparse.Namespace, settings: Settings) -> int:
    """Validate rule files: a summary line, or every problem as path:line: message."""
    from bot.rules.loader import load_rules

    loaded = load_rules(args.rules or settings.rules_dir, default_catalog())
    if loaded.problems:
        for p in loaded.problems:
            print(p)
        print(f"{len(loaded.problems)} problem(s) in {len(loaded.files)} file(s)", file=sys.stderr)
        return 1
    topics = sorted({r.topic for r in loaded.rules})
    print(f"OK: {len(loaded.rules)} rules in {len(loaded.files)} files (topics: {', '.join(topics)})")
    return 0


def cmd_rules_test(args: argparse.Namespace, settings: Settings) -> int:
    """Run YAML rule tests (default: every file in <rules dir>/tests)."""
    from bot.rules.ruletest import run_test_file, test_files

    targets = args.files or [str(Path(args.rules or settings.rules_dir) / "tests")]
    files = test_files(targets)
    if not files:
        print(f"no rule test files in {', '.join(targets)}")
        return 1
    results = [r for f in files for r in run_test_file(f, default_catalog())]
    for r in results:
        print(f"{'PASS' if r.ok else 'FAIL'} {r.file}: {r.name}")
        for p in r.problems:
            print(f"    {p}")
    failed = sum(not r.ok for r in results)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


def cmd_backtest(args: argparse.Namespace, settings: Settings) -> int:
    """Replay the rules over history in --data, as the data would have arrived."""
    from bot.format import fmt, rule_unit
    from bot.ingest import ingest_source
    from bot.rules.loader import load_rules
    from bot.rules.evaluate import signal
    from bot.rules.replay import backtest
    from bot.sources.files import FileSource
    from bot.store import Store

    catalog = default_catalog()
    loaded = load_rules(args.rules or settings.rules_dir, catalog)
    if loaded.problems:
        for p in loaded.problems:
            print(p, file=sys.stderr)
        return 1
    store = Store(":memory:")
    report = ingest_source(store, FileSource(catalog, args.data), utcnow)
    for e in report.errors:
        print(f"{e.series}: {e.error}", file=sys.stderr)
    frames = store.frames(catalog)
    rules = {r.id: r for r in loaded.rules}
    transitions = backtest(loaded.rules, frames, catalog.units,
                           getattr(args, "from"), args.to)
    if args.json:
        for t in transitions:
            print(json.dumps({"rule": t.rule_id, "topic": rules[t.rule_id].topic, "state": t.state,
                              "date": t.at.date().isoformat(), "data_date": t.data_date.isoformat(), "value": t.value,
                              "from": t.from_regime, "to": t.to_regime}))
        return 0
    print(f"{'sent':<10} {'data':<10} {'rule':<26} {'state':<9} value")
    for t in transitions:
        r = rules[t.rule_id]
        detail = f"{t.from_regime} -> {t.to_regime}  " if t.state == "regime" else ""
        print(f"{t.at.date()} {t.data_date} {t.rule_id:<26} {t.state:<9} {detail}{fmt(t.value, rule_unit(r, catalog))}")
    per_year: dict[str, Counter[int]] = defaultdict(Counter)
    for t in transitions:
        if t.state != "resolved":
            per_year[t.rule_id][t.at.year] += 1
    print("\nfirings (and regime changes) per year of the rule's data:")
    for rid in sorted(per_year):
        years = per_year[rid]
        sig = signal(rules[rid], frames, catalog.units)
        span = max(1.0, (sig["known"].max() - sig["known"].min()).days / 365.25)
        total = sum(years.values())
        busiest = max(years, key=lambda y: years[y])
        print(f"  {rid:<26} {total:>3} in {span:4.1f} years = {total / span:.1f}/yr, most {years[busiest]} in {busiest}")
    skipped = [r.id for r in loaded.rules if r.kind.wall_clock]
    if skipped:
        print(f"(not replayed: {', '.join(skipped)} - staleness is about live sources, not history)")
    return 0

