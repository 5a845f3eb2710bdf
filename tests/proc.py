"""Run `liquidity-bot` as a real subprocess and wait on its output (no sleeps-and-hope)."""

from __future__ import annotations

import itertools
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path


_PORTS = itertools.count()


def free_port() -> int:
    """A free port for a process to listen on later: below the kernel's ephemeral range (32768+), where
    every outgoing connection takes its local port and could take this one first, and in a block of
    its own per pytest-xdist worker, so parallel workers never pick the same one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    base = 20000 + 500 * (int(worker[2:]) if worker[2:].isdigit() else 0)
    for _ in range(500):
        port = base + next(_PORTS) % 500
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {base}-{base + 499}")


class BotProcess:
    """`python -m bot ARGS` with a clean environment; stdout and stderr lines are collected."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]):
        base = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SLACK_", "FRED_", "POLL_"))}
        base.update(env)
        base["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", *args], cwd=cwd, env=base,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self._q: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            self._q.put(line)

    def wait_for(self, pattern: str, timeout: float = 20) -> str:
        """The first output line matching `pattern` (searching what came before too)."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            for line in self.lines[seen:]:
                if rx.search(line):
                    return line
            seen = len(self.lines)
            if self.proc.poll() is not None and seen == len(self.lines):
                time.sleep(0.1)
                if seen == len(self.lines):
                    break
            try:
                self._q.get(timeout=0.1)
            except queue.Empty:
                pass
        raise AssertionError(f"no line matching {pattern!r} within {timeout}s; output:\n" + "\n".join(self.lines[-40:]))

    def output(self) -> str:
        return "\n".join(self.lines)

    def terminate(self, timeout: float = 10) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


def recent_wednesday() -> str:
    """The newest Wednesday before today (ISO): a weekly print recent enough to be news (the bot
    never sends alerts about data older than its metric's cadence allows)."""
    from datetime import date, timedelta

    d = date.today() - timedelta(days=1)
    while d.weekday() != 2:
        d -= timedelta(days=1)
    return d.isoformat()
