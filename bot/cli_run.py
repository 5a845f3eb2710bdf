"""`liquidity-bot` process subcommands: run (the bot), demo, schedule (the release model's plan)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from datetime import time
from pathlib import Path

from bot.clock import eastern_date, utcnow
from bot.cli_data import _store
from bot.config import Settings


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.runtime import run

    return run(settings, data_dirs=args.data, skip_bad_rules=args.skip_bad_rules)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.demo import run_demo

    logging.getLogger("bot").setLevel(logging.WARNING)  # the demo's own output says it all
    return run_demo(fast=args.fast)


def cmd_schedule(args: argparse.Namespace, settings: Settings) -> int:
    """The release model's planned polls, assuming no data arrives; then the cost per source and day."""
    from bot.budget import PER_DAY
    from bot.release import closed_reason, plan
    from bot.schedule import parse_every
    from datetime import timedelta

    first = getattr(args, "from") or eastern_date(utcnow())
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


def _observed_releases(settings: Settings) -> dict[str, list[time]]:
    """Observed arrival times per release from the store (the model learns from them)."""
    from bot.release import RELEASES
    from bot.schedule import _et_time

    store = _store(settings)
    try:
        return {r.key: [_et_time(o["seen_at"]) for o in store.release_seen(r.key)] for r in RELEASES}
    finally:
        store.close()
