"""`liquidity-bot` command line: fetch, status, rules check|test, backtest, run, demo, outbox.

Only wiring: settings from the environment, arguments to function calls, results to stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

from bot.catalog import default_catalog
from bot.clock import utcnow
from bot.config import ConfigError, Settings, load_settings
from bot.logsetup import setup_logging
from bot.sources import SourceError

log = logging.getLogger("bot")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _store(settings: Settings):
    """The configured store: PostgreSQL when DATABASE_URL is set, else the SQLite file (--- pg ---)."""
    from bot.store import open_store

    return open_store(settings)


def cmd_fetch(args, settings: Settings) -> int:
    """Pull everything new from every source into the store."""
    from bot.ingest import ingest_source
    from bot.wiring import build_sources

    catalog = default_catalog()
    store = _store(settings)
    failed_series: list[str] = []
    total = 0
    for source in build_sources(settings, catalog, args.data):
        print(f"fetching {source.name} ...", flush=True)
        report = ingest_source(store, source, utcnow, settings.secrets())
        total += report.added
        failed_series += [r.series for r in report.errors]
        print("  " + report.summary(), flush=True)
        for r in report.errors:
            print(f"    {r.series}: {r.error}", flush=True)
    print(f"done: +{total} rows into {store.describe()} ({store.observation_count()} stored)")
    store.close()
    if failed_series:
        print(f"failed: {len(failed_series)} series ({', '.join(failed_series)})", file=sys.stderr)
    return 1 if failed_series else 0


def cmd_status(args, settings: Settings) -> int:
    """Latest value of every metric, from the store (files in --data are loaded first)."""
    from bot.ingest import ingest_source
    from bot.sources.files import FileSource
    from bot.rules.loader import load_rules
    from bot.status import current_regimes, render_table, snapshot, to_json

    catalog = default_catalog()
    store = _store(settings)
    if args.data:
        report = ingest_source(store, FileSource(catalog, args.data), utcnow)
        for r in report.errors:
            print(f"{r.series}: {r.error}", file=sys.stderr)
    frames = store.frames(catalog)
    rules = load_rules(args.rules or settings.rules_dir, catalog).rules
    rows = snapshot(catalog, frames, utcnow().date(), current_regimes(rules, frames, catalog.units),
                    store.held_prints())
    if args.json:
        print(json.dumps(to_json(rows), indent=2))
        return 0
    if not rows:
        print(f"No data in {store.describe()} yet: run `liquidity-bot fetch` (or `run`) first.")
        return 1
    print(render_table(rows, {m: c.cadence_days * 2 + 3 for m, c in catalog.metrics.items()}))
    fetches = store.last_fetches()
    for source, f in sorted(fetches.items()):
        line = f"{source}: last success {f['last_success'] or 'never'}"
        if f["last_error"]:
            line += f"; last attempt failed: {f['last_error'][:120]}"
        print(line)
    for sid, h in store.held_prints().items():
        print(f"held print: {sid} {h['date']} = {h['value']:g} refused ({h['reason']}); "
              "still serving the older value until a good print arrives")
    firing = store.firing_rules()
    evaluated = store.get_meta("rules_evaluated_at")
    last_fetch = max((f["last_attempt"] for f in fetches.values() if f["last_attempt"]), default=None)
    if evaluated is None:
        print("firing alerts: unknown - rules have not been evaluated on this database yet "
              "(`liquidity-bot run` evaluates them after every fetch)")
    else:
        print(f"firing alerts (rules last evaluated {evaluated} UTC): " + (", ".join(firing) if firing else "none"))
        if last_fetch and last_fetch > evaluated:
            print(f"note: data was fetched at {last_fetch} UTC, after the last rule evaluation; "
                  "`liquidity-bot run` evaluates rules after every fetch")
    return 0


def cmd_rules_check(args, settings: Settings) -> int:
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


def cmd_rules_test(args, settings: Settings) -> int:
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


def cmd_why(args, settings: Settings) -> int:
    """What moved a metric, factor by factor (bot/why.py), from the store (and --data files)."""
    from bot.ingest import ingest_source
    from bot.sources.files import FileSource
    from bot.why import run_cli

    catalog = default_catalog()
    store = _store(settings)
    if args.data:
        ingest_source(store, FileSource(catalog, args.data), utcnow)
    return run_cli(args.metric.lower(), catalog, store.frames(catalog), args.weeks, args.to, args.json)


def cmd_backtest(args, settings: Settings) -> int:
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
    for r in report.errors:
        print(f"{r.series}: {r.error}", file=sys.stderr)
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
    per_year: dict[str, Counter] = defaultdict(Counter)
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


def cmd_export(args, settings: Settings) -> int:
    """Stored observations of metrics in catalog units (dollars, percent, bp), CSV or JSON lines."""
    from bot.export import json_lines, write_csv

    catalog = default_catalog()
    unknown = [m for m in args.metrics if m not in catalog.metrics]
    if unknown:
        print(f"unknown metric(s): {', '.join(unknown)}; metrics: {', '.join(catalog.metrics)}", file=sys.stderr)
        return 2
    if args.to and getattr(args, "from") and args.to < getattr(args, "from"):
        print("--to is before --from", file=sys.stderr)
        return 2
    store = _store(settings)
    frames = store.frames(catalog)
    store.close()
    if args.format == "json":
        for line in json_lines(frames, catalog, args.metrics, getattr(args, "from"), args.to):
            print(line)
    else:
        write_csv(sys.stdout, frames, args.metrics, getattr(args, "from"), args.to)
    return 0


def cmd_outbox(args, settings: Settings) -> int:
    """Show pending / failed deliveries; --retry re-queues failed rows (whoever can run this
    command on the bot's machine is its admin)."""
    store = _store(settings)
    if args.retry:
        print(f"re-queued {store.retry_failed()} failed deliveries (rows for inactive chats stay failed)")
    counts = store.outbox_counts()
    print(f"outbox: {counts['pending']} pending, {counts['failed']} failed, {counts['sent']} sent")
    for row in store.failed_outbox():
        print(f"  failed #{row['id']} {row['platform']}:{row['chat_id']} {row['rule_id']} {row['state']}"
              f" after {row['attempts']} attempt(s): {row['last_error']}")
    return 0


def cmd_run(args, settings: Settings) -> int:
    from bot.runtime import run

    return run(settings, data_dirs=args.data, skip_bad_rules=args.skip_bad_rules)


def cmd_demo(args, settings: Settings) -> int:
    from bot.demo import run_demo

    logging.getLogger("bot").setLevel(logging.WARNING)  # the demo's own output says it all
    return run_demo(fast=args.fast)


# --- polling ---
def cmd_schedule(args, settings: Settings) -> int:
    """The release model's planned polls, assuming no data arrives; then the cost per source and day."""
    from bot.budget import PER_DAY
    from bot.release import ET, closed_reason, plan
    from bot.schedule import parse_every
    from datetime import timedelta

    first = getattr(args, "from") or utcnow().astimezone(ET).date()
    if args.days < 1:
        print("--days must be at least 1", file=sys.stderr)
        return 2
    every = parse_every(settings.release_poll_seconds or "")
    observed = _observed_releases(settings) if Path(settings.database_path).is_file() else {}
    polls = plan(first, args.days, observed=observed, every=every)
    if args.json:
        for p in polls:
            print(json.dumps(p.as_json()))
        return 0
    for p in polls:
        print(f"{p.at.isoformat(timespec='seconds')}  {p.source:<10} {','.join(p.series):<32} {p.why}")
    cost = Counter((p.at.date(), p.source) for p in polls for _ in p.series)
    for i in range(args.days):
        day = first + timedelta(days=i)
        why = closed_reason(day)
        per = ", ".join(f"{src} {n}" + (f" (over the {PER_DAY} a day budget)" if n > PER_DAY else "")
                        for (d, src), n in sorted(cost.items()) if d == day)
        print(f"# {day} ({day:%a}): " + (f"no release windows ({why})" if why else f"requests if nothing arrives: {per}"))
    return 0


def _observed_releases(settings: Settings) -> dict:
    """Observed arrival times per release from the store (the model learns from them)."""
    from bot.release import RELEASES
    from bot.schedule import _et_time

    store = _store(settings)
    try:
        return {r.key: [_et_time(o["seen_at"]) for o in store.release_seen(r.key)] for r in RELEASES}
    finally:
        store.close()
# --- end polling ---


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="liquidity-bot", description="Watches Fed liquidity data and alerts chats.")
    p.add_argument("--db", help="SQLite path (default: $DATABASE_PATH or ./liquidity.db)")
    sub = p.add_subparsers(dest="command", required=True)

    def data_arg(sp, required=False):
        sp.add_argument("--data", action="append", metavar="DIR", required=required,
                        help="directory of CSVs named after series (repeatable); replaces the network sources")

    sp = sub.add_parser("fetch", help="pull everything new into the store")
    data_arg(sp)
    sp.set_defaults(func=cmd_fetch)

    sp = sub.add_parser("status", help="latest value of every metric")
    sp.add_argument("--json", action="store_true", help="one JSON object keyed by metric")
    sp.add_argument("--rules", metavar="DIR", help="rules directory (for regimes)")
    data_arg(sp)
    sp.set_defaults(func=cmd_status)

    rules = sub.add_parser("rules", help="check or test rule files").add_subparsers(dest="rules_cmd", required=True)
    sp = rules.add_parser("check", help="validate rules; path:line: message for each problem")
    sp.add_argument("--rules", metavar="DIR", help="rules directory or file (default: rules/)")
    sp.set_defaults(func=cmd_rules_check)
    sp = rules.add_parser("test", help="run YAML rule tests")
    sp.add_argument("files", nargs="*", help="test files or directories (default: rules/tests)")
    sp.add_argument("--rules", metavar="DIR", help="rules directory (its tests/ is the default)")
    sp.set_defaults(func=cmd_rules_test)

    sp = sub.add_parser("backtest", help="replay rules over history")
    data_arg(sp, required=True)
    sp.add_argument("--rules", metavar="DIR")
    sp.add_argument("--from", type=_date, metavar="DATE", help="first day to report (YYYY-MM-DD)")
    sp.add_argument("--to", type=_date, metavar="DATE", help="last day to replay (YYYY-MM-DD)")
    sp.add_argument("--json", action="store_true", help="one JSON object per transition per line")
    sp.set_defaults(func=cmd_backtest)

    sp = sub.add_parser("why", help="what moved a metric, factor by factor (global: Fed, ECB, BoJ, FX)")
    sp.add_argument("metric", metavar="METRIC", help="the metric to explain (supported: global)")
    sp.add_argument("--weeks", type=int, default=4, metavar="N", help="the change over N weeks (default 4)")
    sp.add_argument("--to", type=_date, metavar="DATE", help="the last date (default: the newest data)")
    sp.add_argument("--json", action="store_true", help="one JSON object: metric, from, to, change, factors, residual")
    data_arg(sp)
    sp.set_defaults(func=cmd_why)

    sp = sub.add_parser("run", help="run the bot: scheduler, chat adapters, delivery, health")
    data_arg(sp)
    sp.add_argument("--poll-seconds", type=float, metavar="N", help="poll every source every N s (replaces the calendar)")
    sp.add_argument("--skip-bad-rules", action="store_true", help="start even if some rule files are invalid")
    sp.set_defaults(func=cmd_run)

    sp = sub.add_parser("demo", help="a simulated scenario, offline, printed as alerts")
    sp.add_argument("--fast", action="store_true", help="no pauses between simulated days")
    sp.set_defaults(func=cmd_demo)

    sp = sub.add_parser("export", help="stored observations of metrics, CSV or JSON lines")
    sp.add_argument("metrics", nargs="+", metavar="METRIC", help="metric names (see `liquidity-bot status`)")
    sp.add_argument("--from", type=_date, metavar="DATE", help="first date (YYYY-MM-DD)")
    sp.add_argument("--to", type=_date, metavar="DATE", help="last date (YYYY-MM-DD)")
    sp.add_argument("--format", choices=("csv", "json"), default="csv", help="csv (default) or json (one object per line)")
    sp.set_defaults(func=cmd_export)

    # --- polling ---
    sp = sub.add_parser("schedule", help="planned polls of the release model, one per line")
    sp.add_argument("--from", type=_date, metavar="YYYY-MM-DD", help="first day (default: today, US/Eastern)")
    sp.add_argument("--days", type=int, default=1, metavar="N", help="number of days (default 1)")
    sp.add_argument("--json", action="store_true", help="one JSON object per poll per line")
    sp.set_defaults(func=cmd_schedule)

    sp = sub.add_parser("outbox", help="delivery queue: pending / failed counts")
    sp.add_argument("--retry", action="store_true", help="re-queue failed deliveries")
    sp.set_defaults(func=cmd_outbox)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 1
    overrides = {}
    if args.db:
        overrides["database_path"] = args.db
    if getattr(args, "poll_seconds", None):
        overrides["poll_seconds"] = args.poll_seconds
    if overrides:
        try:
            settings = settings.replace(**overrides)
        except ConfigError as exc:
            print(f"configuration error: {exc}", file=sys.stderr)
            return 1
    setup_logging(settings.log_level, settings.log_format, settings.secrets())
    try:
        return args.func(args, settings)
    except KeyboardInterrupt:
        return 130
    except SourceError as exc:  # e.g. a --data folder that does not exist
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        from bot.store.errors import describe, is_database_error

        if not is_database_error(exc):
            raise
        msg = str(exc) if type(exc).__name__ == "StoreError" else describe(exc, settings.database_path)
        print(f"error: {msg}", file=sys.stderr)
        return 1
