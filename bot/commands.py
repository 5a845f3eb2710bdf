"""Chat commands as plain functions returning data; adapters only translate.

Shared by Telegram and Slack: subscribe / unsubscribe / list / status / rules / history /
chart / help. Nothing here knows a platform's payloads.
"""

from __future__ import annotations

import asyncio
import difflib
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from bot.catalog import Catalog
from bot.format import fmt, rule_unit
from bot.rules.model import Rule
from bot.status import current_regimes, snapshot
from bot.store.sqlite import Store
from bot.units import fmt_change, fmt_value

# Charts render in at most two threads (matplotlib is CPU-bound), and a chart of the same data
# is rendered once: the cache key includes the newest data date.
CHART_POOL = ThreadPoolExecutor(2, thread_name_prefix="chart")
CHART_CACHE_SIZE = 64
PERIODS = {"1m": 31, "3m": 92, "6m": 183, "1y": 366, "2y": 731, "3y": 1096, "5y": 1827, "10y": 3653, "max": 100000}
MAX_ARG = 64  # longer arguments are cut before they reach a reply


@dataclass(frozen=True)
class Reply:
    text: str
    preformatted: bool = False   # a table: the adapter keeps its spacing (Telegram <pre>, Slack ```)
    photo: bytes | None = None
    caption: str | None = None


class CommandError(Exception):
    """A user mistake with a helpful message (unknown topic, missing argument)."""


HELP = """Liquidity Bot watches bank reserves, ON RRP, the TGA, repo rates vs IORB and SRF usage, and tells you when they change.

{p}subscribe <topic> - get alerts for a topic ({topics})
{p}unsubscribe <topic|all> - stop them
{p}list - this chat's subscriptions
{p}status - latest values, 1-week changes, regimes, firing alerts (+ chart)
{p}chart <metric> [period] - a chart, e.g. {p}chart reserves 2y (periods: {periods})
{p}rules - the alert rules and their thresholds
{p}history [topic] - recent alerts
{p}help - this text"""


class CommandService:
    """What the chat commands do, over the store and the current rules."""

    def __init__(self, store: Store, catalog: Catalog, rules: Callable[[], list[Rule]], now: Callable[[], datetime]):
        self.store, self.catalog, self._rules, self.now = store, catalog, rules, now
        self._frames_cache = None
        self._charts: OrderedDict[tuple, bytes] = OrderedDict()

    def invalidate(self) -> None:
        """New data or new alert states (called from the engine's thread after an evaluation):
        the next /status or /chart reads the store again instead of the cached frames."""
        self._frames_cache = None

    @property
    def rules(self) -> list[Rule]:
        return self._rules()

    def topics(self) -> list[str]:
        return [*sorted({r.topic for r in self.rules}), "all"]

    def help(self, prefix: str = "/") -> Reply:
        return Reply(HELP.format(p=prefix, topics=", ".join(self.topics()), periods=", ".join(PERIODS)))

    def _topic(self, raw: str | None, allow_all: bool = True) -> str:
        if not raw:
            raise CommandError(f"Which topic? One of: {', '.join(self.topics())}")
        topic = raw.strip().lower()[:MAX_ARG]
        if topic in self.topics():
            return topic
        close = difflib.get_close_matches(topic, self.topics(), n=1)
        hint = f" Did you mean {close[0]}?" if close else ""
        raise CommandError(f"Unknown topic {topic!r}.{hint} Topics: {', '.join(self.topics())}")

    def subscribe(self, platform: str, chat_id: str, raw: str | None, kind: str, title: str | None) -> Reply:
        topic = self._topic(raw)
        stamp = self.now().isoformat(timespec="seconds")
        self.store.ensure_chat(platform, chat_id, kind, title, stamp)
        added = self.store.subscribe(platform, chat_id, topic, stamp)
        what = "every alert" if topic == "all" else f"{topic} alerts"
        return Reply(f"Subscribed to {what}." if added else f"Already subscribed to {topic}.")

    def unsubscribe(self, platform: str, chat_id: str, raw: str | None) -> Reply:
        topic = self._topic(raw)
        n = self.store.unsubscribe(platform, chat_id, None if topic == "all" else topic)
        if topic == "all":
            return Reply(f"Unsubscribed from everything ({n} topic(s)).")
        return Reply(f"Unsubscribed from {topic}." if n else f"This chat was not subscribed to {topic}.")

    def list(self, platform: str, chat_id: str) -> Reply:
        subs = self.store.subscriptions(platform, chat_id)
        if not subs:
            return Reply("No subscriptions yet. Try /subscribe reserves (topics: " + ", ".join(self.topics()) + ").")
        return Reply("This chat is subscribed to: " + ", ".join(subs))

    def _frames(self):
        frames = self._frames_cache
        if frames is None:  # read once per evaluation, not per request
            frames = self._frames_cache = self.store.frames(self.catalog)
        return frames

    def status_text(self) -> Reply:
        frames = self._frames()
        rows = snapshot(self.catalog, frames, self.now().date(), current_regimes(self.rules, frames, self.catalog.units))
        if not rows:
            return Reply("No data yet: the bot has not fetched anything. Try again in a minute.")
        show = [r for r in rows if r.metric in ("reserves", "fed_assets", "tga", "tga_daily", "rrp", "net_liquidity",
                                                  "sofr", "effr", "iorb", "sofr_iorb_spread", "effr_iorb_spread",
                                                  "srf_usage")]
        lines = [f"{'metric':<17}{'value':>10}{'1w':>10}  as of"]
        for r in show:
            chg = fmt_change(r.change_1w, r.unit) if r.change_1w is not None else "n/a"
            age = f" ({r.age_days}d old)" if r.age_days > 7 else ""
            regime = f" [{r.regime}]" if r.regime else ""
            lines.append(f"{r.metric:<17}{fmt_value(r.value, r.unit):>10}{chg:>10}  {r.date}{age}{regime}")
        firing = self.store.firing_rules()
        lines.append("")
        lines.append("Firing: " + (", ".join(firing) if firing else "nothing"))
        for source, f in sorted(self.store.last_fetches().items()):
            if f["last_error"] and f["last_rows"] == 0:
                since = f["last_success"] or "never"
                lines.append(f"Source {source}: failing (last success {since[:16]}): {f['last_error'][:80]}")
        return Reply("\n".join(lines), preformatted=True)

    async def reserves_chart(self) -> bytes | None:
        """The /status chart: reserves over 3 years with the $3T line and regime bands."""
        return await self.chart_png("reserves", "3y")

    async def chart_png(self, metric: str, period: str) -> bytes | None:
        """Read the data here (the store stays on the loop's thread); render in a worker thread."""
        from bot.chart import render_chart

        f = self._frames().get(metric)
        if f is None or f.empty:
            return None
        days = PERIODS.get(period, 731)
        s = f["value"][f.index >= f.index[-1] - pd.Timedelta(days=days)]
        m = self.catalog.metrics[metric]
        lines, bands = [], None
        for r in self.rules:
            c = r.condition
            if c.kind == "level" and c.body.metric == metric:
                lines.append((float(c.body.value), f"{r.id}: {fmt_value(c.body.value, m.unit)}"))
            if c.kind == "regime" and c.body.metric == metric and c.body.change is None:
                bands = c.body.bands
        key = (metric, period, str(f.index[-1].date()), tuple(lines), tuple(b.name for b in bands or ()))
        png = self._charts.get(key)
        if png is None:
            loop = asyncio.get_running_loop()
            png = await loop.run_in_executor(CHART_POOL, render_chart, s, f"{m.label} ({period})", m.unit, lines, bands)
            self._charts[key] = png
            if len(self._charts) > CHART_CACHE_SIZE:
                self._charts.popitem(last=False)
        else:
            self._charts.move_to_end(key)
        return png

    async def chart(self, raw_metric: str | None, raw_period: str | None) -> Reply:
        metric = (raw_metric or "reserves").strip().lower()[:MAX_ARG]
        if metric not in self.catalog.metrics:
            close = difflib.get_close_matches(metric, list(self.catalog.metrics), n=1)
            raise CommandError(f"Unknown metric {metric!r}." + (f" Did you mean {close[0]}?" if close else "")
                               + f" Metrics: {', '.join(self.catalog.metrics)}")
        period = (raw_period or "2y").strip().lower()[:MAX_ARG]
        if period not in PERIODS:
            raise CommandError(f"Unknown period {period!r}. Use one of: {', '.join(PERIODS)}")
        png = await self.chart_png(metric, period)
        if png is None:
            return Reply(f"No data for {metric} yet.")
        return Reply(f"{self.catalog.metrics[metric].label}, last {period}", photo=png,
                     caption=f"{self.catalog.metrics[metric].label}, last {period}")

    def rules_text(self) -> Reply:
        lines = []
        for r in self.rules:
            c = r.condition
            unit = rule_unit(r, self.catalog)
            if c.kind in ("level", "change", "spread"):
                metric = f"{c.body.a} - {c.body.b}" if c.kind == "spread" else c.body.metric
                extra = f" over {c.body.window.describe()}" if c.kind == "change" else ""
                cond = f"{metric}{extra} {c.body.op} {fmt(c.body.value, unit)}"
                if r.clear is not None:
                    cond += f" (clears at {fmt(r.clear, unit)})"
            elif c.kind == "regime":
                cond = f"{c.body.metric} regime: " + ", ".join(
                    f"{b.name} < {fmt(b.below, unit)}" if b.below is not None else b.name for b in c.body.bands)
            elif c.kind == "spike":
                cond = f"{c.body.metric} > {c.body.multiple:g}x its {c.body.window}-day median (min {fmt(c.body.floor, unit)})"
            elif c.kind == "stale":
                cond = f"{c.body.metric} older than {c.body.max_age}"
            else:
                cond = f"{c.body.metric} crosses {c.body.direction} {fmt(c.body.value, unit)}"
            lines.append(f"• {r.id} [{r.topic}, {r.severity}]: {cond}")
        return Reply("\n".join(lines))

    def history(self, raw_topic: str | None) -> Reply:
        topic = self._topic(raw_topic) if raw_topic else None
        events = self.store.recent_events(None if topic == "all" else topic, limit=10)
        if not events:
            return Reply("No alerts yet" + (f" for {topic}." if topic else "."))
        lines = [f"{e['created_at'][:16].replace('T', ' ')} UTC  {e['state']:<8} {e['rule_id']} (data {e['data_date']})"
                 for e in events]
        return Reply("\n".join(lines), preformatted=True)
