"""`liquidity-bot` command line: fetch, status, stress, rules check|test, backtest, run, demo, outbox.

Only wiring: settings from the environment, arguments to function calls, results to stdout.
The parser and `main` live here; the subcommands in bot/cli_data.py, cli_rules.py and cli_run.py.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date

from bot.cli_data import cmd_export, cmd_fetch, cmd_outbox, cmd_status, cmd_why
from bot.cli_rules import cmd_backtest, cmd_rules_check, cmd_rules_test
from bot.cli_run import cmd_demo, cmd_run, cmd_schedule
from bot.cli_stress import cmd_stress
from bot.config import ConfigError, load_settings
from bot.logsetup import setup_logging
from bot.sources import SourceError

log = logging.getLogger("bot")


def _date(text: str) -> date:
    """An argparse type: YYYY-MM-DD."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="liquidity-bot", description="Watches Fed liquidity data and alerts chats.")
    p.add_argument("--db", help="SQLite path (default: $DATABASE_PATH or ./liquidity.db)")
    sub = p.add_subparsers(dest="command", required=True)

    def data_arg(sp: argparse.ArgumentParser, required: bool = False) -> None:
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

    sp = sub.add_parser("stress", help="the liquidity stress score (0-100, a light, its drivers) per day")
    sp.add_argument("--from", type=_date, metavar="DATE", help="first day (default: 2008-10-09, when IOER began)")
    sp.add_argument("--to", type=_date, metavar="DATE", help="last day (default: the newest data)")
    sp.add_argument("--json", action="store_true", help="one JSON object per day per line")
    data_arg(sp)
    sp.set_defaults(func=cmd_stress)

    sp = sub.add_parser("why", help="what moved a metric, factor by factor (H.4.1 factors; global: Fed, ECB, BoJ, FX)")
    sp.add_argument("metric", metavar="METRIC", help="the metric to explain: reserves, net_liquidity or global")
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

    sp = sub.add_parser("schedule", help="planned polls of the release model, one per line")
    sp.add_argument("--from", type=_date, metavar="YYYY-MM-DD", help="first day (default: today, US/Eastern)")
    sp.add_argument("--days", type=int, default=1, metavar="N", help="number of days (default 1)")
    sp.add_argument("--json", action="store_true", help="one JSON object per poll per line")
    sp.set_defaults(func=cmd_schedule)

    from bot.cli_calendar import add_parser as add_calendar

    add_calendar(sub, _date)

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
        code: int = args.func(args, settings)
        return code
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
