"""`liquidity-bot demo`: the whole pipeline offline on a short SIMULATED scenario.

Simulated numbers go into a temporary SQLite store day by day; the real rules evaluate
them and the console adapter prints the alerts exactly as `run` would.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TextIO

import numpy as np

from bot.catalog import default_catalog
from bot.chat.console import CONSOLE_CHAT, ConsoleAdapter
from bot.config import REPO_RULES
from bot.delivery import Deliverer
from bot.engine import Engine
from bot.rules.loader import load_rules
from bot.store import Store
from bot.units import fmt_pct, fmt_usd

START = date(2026, 1, 5)       # a Monday; the scenario is made up, not history
WARMUP_DAYS = 140              # quiet history so rules have a baseline
SCENARIO_DAYS = 45


def business_days(start: date, n: int) -> list[date]:
    days: list[date]
    days, d = [], start
    while len(days) < n:
        if d.weekday() < 5:
            days.append(d)
        d += timedelta(days=1)
    return days


def scenario() -> dict[date, dict[str, float]]:
    """Series values (dollars / percent) per simulated business day."""
    rng = np.random.default_rng(7)
    days = business_days(START, WARMUP_DAYS + SCENARIO_DAYS)
    out: dict[date, dict[str, float]] = {}
    for i, d in enumerate(days):
        k = max(0, i - WARMUP_DAYS)          # days into the stress part
        stress = k / SCENARIO_DAYS
        reserves = 3.30e12 - 0.35e12 * stress - 0.0003e12 * i + rng.normal(0, 4e9)
        rrp = max(5e9, 4.2e11 - 2.6e11 * stress * 1.6 + rng.normal(0, 1e10))
        sofr_spread = -0.07 + (0.16 if k >= 30 else 0.0) + (0.35 if k == 36 else 0.0) + rng.normal(0, 0.005)
        srf = 0.0 if k not in (36, 37) else (3.1e10 if k == 36 else 8e9)
        row = {"RRPONTSYD": rrp, "RPONTSYD": srf, "SOFR": round(4.40 + sofr_spread, 2), "IORB": 4.40,
               "EFFR": 4.33, "TGA_DTS_CLOSE": 7.5e11 + 1.2e11 * stress + rng.normal(0, 5e9)}
        if d.weekday() == 2:  # H.4.1 weekly numbers are dated Wednesday
            row |= {"WRESBAL": reserves, "WALCL": 6.60e12 - 0.2e12 * stress, "WTREGEN": row["TGA_DTS_CLOSE"]}
        out[d] = row
    return out


def _line(d: date, vals: dict[str, float], last: dict[str, float]) -> str:
    r = vals.get("WRESBAL", last.get("WRESBAL"))
    parts = [f"reserves {fmt_usd(r)}" if r else "", f"ON RRP {fmt_usd(vals['RRPONTSYD'])}",
             f"SOFR {fmt_pct(vals['SOFR'])} vs IORB {fmt_pct(vals['IORB'])}", f"SRF {fmt_usd(vals['RPONTSYD'])}"]
    return f"[simulated {d}] " + ", ".join(p for p in parts if p)


async def _run(fast: bool, out: TextIO) -> int:
    catalog = default_catalog()
    loaded = load_rules(REPO_RULES, catalog)
    rules = [r for r in loaded.rules if not r.kind.wall_clock]  # the simulated clock is not the real one
    with tempfile.TemporaryDirectory(prefix="liquidity-demo-") as tmp:
        store = Store(Path(tmp) / "demo.db")
        console = ConsoleAdapter(out)
        engine = Engine(store, catalog, rules, feeds=[("console", CONSOLE_CHAT)], platforms={"console"})
        sim_now = {"t": datetime.combine(START, datetime.min.time())}
        deliverer = Deliverer(store, [console], lambda: sim_now["t"])
        print("=" * 72, file=out)
        print("LIQUIDITY BOT DEMO - a SIMULATION. Every number below is made up; nothing is fetched.", file=out)
        print(f"Scenario: {WARMUP_DAYS} quiet business days, then {SCENARIO_DAYS} days where reserves slide below $3T,\n"
              "ON RRP drains, repo trades above IORB, the SRF is tapped and the reserves regime changes.", file=out)
        print(f"Database: temporary ({tmp}), rules: {len(rules)} from {REPO_RULES}", file=out)
        print("=" * 72, file=out)
        last: dict[str, float] = {}
        days = scenario()
        for i, (d, vals) in enumerate(days.items()):
            vintage = f"{d.isoformat()}T17:00:00"
            for sid, v in vals.items():
                store.add_observations(sid, [(d.isoformat(), v)], source="simulation", vintage=vintage)
            last |= vals
            # Evaluate as of the next morning, when every series for day d is public.
            sim_now["t"] = datetime.combine(d + timedelta(days=1), datetime.min.time()) + timedelta(hours=9)
            if i < WARMUP_DAYS - 1:
                continue
            if i == WARMUP_DAYS - 1:
                engine.evaluate(sim_now["t"])  # learn the baseline state silently
                print(f"[simulated {d}] baseline learned from {WARMUP_DAYS} quiet days; watching...", file=out)
                continue
            print(_line(d, vals, last), file=out, flush=True)
            if engine.evaluate(sim_now["t"]):
                await deliverer.drain_once()
            if not fast:
                await asyncio.sleep(0.12)
        store.close()
    print(f"Demo finished: {console.count} alerts printed. This was a simulation; run `liquidity-bot run` for real data.",
          file=out)
    return 0


def run_demo(fast: bool = False, out: TextIO | None = None) -> int:
    """Run the simulated scenario; pauses between days only on an interactive terminal."""
    out = out or sys.stdout
    return asyncio.run(_run(fast or not out.isatty(), out))
