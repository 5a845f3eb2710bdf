"""`liquidity-bot` data subcommands: fetch, status, why, export, outbox (the store and sources).

Imports of the store, pandas and the sources stay inside the commands: `--help` stays fast."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.catalog import Catalog, default_catalog
from bot.clock import utcnow
from bot.config import Settings

if TYPE_CHECKING:
    from bot.store import Storage


def _store(settings: Settings) -> Storage:
    """The configured store: PostgreSQL when DATABASE_URL is set, else the SQLite file."""
    from bot.store import open_store

    return open_store(settings)


def read_data(store: Storage, catalog: Catalog, data: list[str | Path] | None) -> None:
    """Add the `--data` folders' files to the store (nothing without them); each series' problem on stderr."""
    from bot.ingest import ingest_source
    from bot.sources.files import FileSource

    if not data:
        return
    report = ingest_source(store, FileSource(catalog, data), utcnow)
    for e in report.errors:
        print(f"{e.series}: {e.error}", file=sys.stderr)


def cmd_fetch(args: argparse.Namespace, settings: Settings) -> int:
    """Pull everything new from every source into the store."""
    from bot.ingest import ingest_source
    from bot.wiring import build_sources

    catalog = default_catalog()
    store = _store(settings)
    failed_series: list[str] = []
    total = 0
    for source in build_sources(settings, catalog, args.data):
        print(f"fetching {source.name} ...", flush=True)
        # The ignores here: ingest names the SQLite store until the store Protocols land.
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


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    """Latest value of every metric, from the store (files in --data are loaded first)."""
    from bot.rules.loader import load_rules
    from bot.redact import is_personal
    from bot.status import current_regimes, regime_bases, render_table, score_lines, snapshot, to_json
    from bot.stress import latest

    catalog = default_catalog()
    store = _store(settings)
    read_data(store, catalog, args.data)
    frames = store.frames(catalog)
    rules = load_rules(args.rules or settings.rules_dir, catalog).rules
    regimes = current_regimes(rules, frames, catalog.units, store.regimes(), utcnow())
    rows = snapshot(catalog, frames, utcnow().date(), regimes, store.held_prints(), regime_bases(rules, frames))
    if args.json:
        print(json.dumps(to_json(rows), indent=2))
        return 0
    if not rows:
        print(f"No data in {store.describe()} yet: run `liquidity-bot fetch` (or `run`) first.")
        return 1
    firing = store.firing_rules()
    critical = [r.heading() for r in rules if r.id in firing and r.severity == "critical" and not is_personal(r.id)]
    for line in score_lines(latest(catalog, frames, utcnow().date()), critical):   # the verdict first
        print(line)
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
    evaluated = store.get_meta("rules_evaluated_at")
    last_fetch = max((f["last_attempt"] for f in fetches.values() if f["last_attempt"]), default=None)
    if evaluated is None:
        print("firing alerts: unknown - rules have not been evaluated on this database yet "
              "(`liquidity-bot run` evaluates them after every fetch)")
    else:
        shared = [r for r in firing if not is_personal(r)]
        personal = len(firing) - len(shared)  # a count, like /healthz: whose and what are private
        text = ", ".join(shared) or ("" if personal else "none")
        if personal:
            text += f"{' ' if shared else ''}+ {personal} personal alert{'s' if personal > 1 else ''}"
        print(f"firing alerts (rules last evaluated {evaluated} UTC): {text}")
        if last_fetch and last_fetch > evaluated:
            print(f"note: data was fetched at {last_fetch} UTC, after the last rule evaluation; "
                  "`liquidity-bot run` evaluates rules after every fetch")
    return 0


def cmd_why(args: argparse.Namespace, settings: Settings) -> int:
    """What moved a metric, factor by factor (bot/why.py), from the store (and --data files)."""
    from bot.ingest import ingest_source
    from bot.sources.files import FileSource
    from bot.why import run_cli

    catalog = default_catalog()
    store = _store(settings)
    if args.data:
        ingest_source(store, FileSource(catalog, args.data), utcnow)
    return run_cli(args.metric.lower(), catalog, store.frames(catalog), args.weeks, args.to, args.json)



def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
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


def cmd_outbox(args: argparse.Namespace, settings: Settings) -> int:
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

