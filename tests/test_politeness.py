"""Politeness toward the sources: per-host pace (FRED's real limits), Retry-After, shared paces,
and a CLI that starts without importing what it does not use."""

from __future__ import annotations

import subprocess
import sys


def test_the_cli_starts_without_importing_fredapi_or_pandas():
    # fredapi (and the pandas it imports) cost ~0.3 s of every `liquidity-bot --help`.
    code = ("import sys, bot.cli, bot.wiring; heavy = [m for m in ('fredapi', 'pandas') if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)
