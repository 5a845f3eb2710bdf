"""Which threshold lines a chart draws: a few rule thresholds near the data, plus the asking chat's
own personal alerts, never another chat's; rendered in a worker process, once for many askers."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime

import pandas as pd
from PIL import Image

from bot.catalog import default_catalog
from bot.chart import build_figure
from bot.chart_marks import MAX_MARKS
from bot.commands import CommandService
from bot.rules.model import Rule

NOW = datetime(2026, 11, 22, 12)


def level_rule(i: int, value: float) -> Rule:
    return Rule.model_validate({"id": f"r{i}", "topic": "reserves", "severity": "info", "title": f"Line {i}",
                                "condition": {"level": {"metric": "reserves", "op": "<", "value": value}},
                                "message": "{value}", "why": "test"})


def fill(store) -> None:
    """Weekly reserves between $2.8T and $3.4T over the last two years."""
    rows = [(f"{d:%Y-%m-%d}", 2.8e12 + (i % 60) * 1e10)
            for i, d in enumerate(pd.date_range("2024-11-20", "2026-11-18", freq="W-WED"))]
    store.add_observations("WRESBAL", rows, source="files", vintage="t")


def service(store, rules: list[Rule]) -> CommandService:
    return CommandService(store, default_catalog(), lambda: rules, lambda: NOW)


def drawn(spec) -> list[str]:
    fig = build_figure(spec)
    return [t.get_text() for ax in fig.axes for t in ax.texts if ":" in t.get_text()]


def test_a_chart_draws_its_chats_own_alerts_and_at_most_ten_lines_never_other_chats(store):
    fill(store)
    for i in range(5000):  # other chats' personal alerts on reserves
        store.add_personal("telegram", str(1000 + i), "reserves", "<", 2.9e12 + i * 1e8, 1, "t", 50)
    store.add_personal("telegram", "42", "reserves", "<", 2.95e12, 1, "t", 50)
    rules = [level_rule(i, 2.5e12 + i * 2e8) for i in range(5001)]   # $2.5T to $3.5T
    svc = service(store, rules)
    spec, _last = svc._chart_spec("reserves", "2y", "en", ("telegram", "42"))
    labels = [t.label for t in spec.thresholds]
    assert len(spec.thresholds) <= MAX_MARKS
    assert "Your alert: < $2.950T" in labels                       # this chat's own
    assert all(t.label.startswith(("Line ", "Your alert")) for t in spec.thresholds)
    assert sum(t.label.startswith("Your alert") for t in spec.thresholds) == 1   # no other chat's
    assert len(drawn(spec)) <= MAX_MARKS + 1                      # the lines' labels (+ the last value)
    other, _ = svc._chart_spec("reserves", "2y", "en", ("telegram", "7"))
    assert not any(t.label.startswith("Your alert") for t in other.thresholds)


def test_rule_thresholds_far_outside_the_plotted_data_are_left_out(store):
    fill(store)
    rules = [level_rule(1, 3.0e12), level_rule(2, 0.5e12), level_rule(3, 9e12)]
    spec, _ = service(store, rules)._chart_spec("reserves", "2y", "en")
    assert [t.label for t in spec.thresholds] == ["Line 1: $3.000T"]


async def test_sixty_asks_for_one_chart_render_it_once_in_a_worker_process(store, monkeypatch):
    from bot import commands

    fill(store)
    calls = []
    real = commands.CHART_POOL.render

    async def counted(spec):
        calls.append(spec)
        return await real(spec)

    monkeypatch.setattr(commands.CHART_POOL, "render", counted)
    svc = service(store, [level_rule(1, 3.0e12)])
    pngs = await asyncio.gather(*(svc.chart_png("reserves", "1y", "en", ("telegram", "42")) for _ in range(60)))
    assert len(calls) == 1 and len({p for p in pngs if p}) == 1
    assert Image.open(io.BytesIO(pngs[0])).size >= (1280, 720)


def test_charts_render_in_another_process():
    import os

    from bot.chart_pool import ChartPool

    pool = ChartPool(1)
    try:
        pid = pool._executor().submit(os.getpid).result(timeout=120)
        assert pid != os.getpid()
    finally:
        pool.shutdown()


def test_a_killed_bots_chart_worker_exits_instead_of_idling_forever(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    script = ("import os, time\n"
              "from bot.chart_pool import ChartPool\n"
              "pool = ChartPool(1)\n"
              "pool.start()\n"
              "time.sleep(3)\n"
              "print(*[p for p in pool._executor()._processes], flush=True)\n"
              "time.sleep(600)\n")
    bot = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    worker = int(bot.stdout.readline().split()[0])
    os.kill(bot.pid, signal.SIGKILL)   # as an OOM killer or `kill -9` would
    bot.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.kill(worker, signal.SIGKILL)
        raise AssertionError("the chart worker outlived its bot")
