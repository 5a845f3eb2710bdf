"""/chart: checks the request, then draws it off the loop, once per cache key.

Charts render in a worker process (matplotlib holds the GIL for seconds), and a chart of the same
data is rendered once: the cache key includes the newest data date, the language and the lines drawn.
"""

from __future__ import annotations

import asyncio
import difflib
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import pandas as pd

from bot.chart_marks import Own, RuleMarks, chart_thresholds, era_periods, regime_shading
from bot.chart_pool import ChartPool
from bot.commands.alerts import PersonalAlerts
from bot.commands.core import Core
from bot.commands.reply import MAX_ARG, CommandError, Reply
from bot.format import metric_label
from bot.i18n import DEFAULT, N_, tr

if TYPE_CHECKING:
    from bot.chart import ChartSpec

CHART_POOL = ChartPool(1)
CHART_CACHE_SIZE = 64
PERIODS = {"1m": 31, "3m": 92, "6m": 183, "1y": 366, "2y": 731, "3y": 1096, "5y": 1827, "10y": 3653, "max": 100000}
PERIOD_WORDS = {"1m": N_("last month"), "3m": N_("last 3 months"), "6m": N_("last 6 months"),
                "1y": N_("last year"), "2y": N_("last 2 years"), "3y": N_("last 3 years"),
                "5y": N_("last 5 years"), "10y": N_("last 10 years"), "max": N_("all history")}

ChartKey = tuple[Any, ...]


class Charts:
    """The charts a chat asks for, with its own alerts and nearby rule thresholds drawn."""

    def __init__(self, core: Core, alerts: PersonalAlerts):
        self.core, self.alerts = core, alerts
        self._charts: OrderedDict[ChartKey, bytes] = OrderedDict()
        self._rendering: dict[ChartKey, asyncio.Future[bytes]] = {}   # charts being rendered, by cache key
        self._marks = RuleMarks(core.catalog)

    def chart_spec(self, metric: str, period: str, lang: str,
                   chat: tuple[str, str] | None = None) -> tuple[ChartSpec | None, str | None]:
        """The chart of `metric` as `chat` (platform, chat id) sees it: its own personal alerts
        and a few rule thresholds near the data (see bot.chart_marks), and the newest data date."""
        from bot.chart import ChartSpec, cjk_font

        if lang != DEFAULT and cjk_font() is None:
            lang = DEFAULT  # Chinese drawn without a Chinese font is boxes: an English chart reads
        _ = tr(lang)
        core = self.core
        f = core.frames().get(metric)
        if f is None or f.empty:
            return None, None
        days = PERIODS.get(period, 731)
        end = pd.Timestamp(core.now().date())
        s = f["value"][f.index >= end - pd.Timedelta(days=days)]
        m = core.catalog.metrics[metric]
        ended = None
        if (end - f.index[-1]).days > 2 * m.cadence_days + 7:
            ended = _("series ended {date}").format(date=f.index[-1].date().isoformat())
            if s.empty:  # show the last stretch there is, and say so
                s = f["value"][f.index >= f.index[-1] - pd.Timedelta(days=days)]
        bands, periods = regime_shading(core.rules, core.frames(), core.catalog, metric, lang)
        periods += era_periods(core.rules, metric, lang)
        own = [Own(p.op, float(p.value)) for p in (self.alerts.personal(*chat) if chat else []) if p.metric == metric]
        thresholds = chart_thresholds(self._marks.candidates(core.rules, metric), own, s.to_list(), m.unit,
                                      core.catalog, lang)
        spec = ChartSpec(series=s, title=metric_label(core.catalog, metric, lang), unit=m.unit,
                         period=_(PERIOD_WORDS[period]), source=_("Source: {source}").format(
                             source=core.catalog.source_text(metric)),
                         thresholds=thresholds, bands=bands, last_word=_("Last"), ended_note=ended,
                         periods=periods)
        return spec, str(f.index[-1].date())

    async def chart_png(self, metric: str, period: str, lang: str = DEFAULT,
                        chat: tuple[str, str] | None = None) -> bytes | None:
        """The chart `chat` asked for (None: no personal alerts drawn). The data is read here (the
        store stays on the loop's thread); it renders in the chart process, once per cache key
        even when many ask at the same time."""
        from bot.chart import cjk_font

        if metric == "global":  # Fed, ECB and BoJ stacked (bot/global_view.py)
            return await self._global_png(period, lang)
        if lang != DEFAULT:  # the font lookup imports matplotlib (and may build its cache): not on the loop
            await asyncio.get_running_loop().run_in_executor(None, cjk_font)
        spec, last = self.chart_spec(metric, period, lang, chat)
        if spec is None:
            return None
        key = (metric, period, last, lang, spec.thresholds, spec.bands, spec.ended_note, spec.periods)
        png = self._charts.get(key)
        if png is not None:
            self._charts.move_to_end(key)
            return png
        pending = self._rendering.get(key)
        if pending is None:
            pending = asyncio.ensure_future(CHART_POOL.render(spec))
            self._rendering[key] = pending
            pending.add_done_callback(lambda fut: self._rendered(key, fut))
        return await asyncio.shield(pending)  # one asker giving up does not cancel the others' chart

    def _rendered(self, key: ChartKey, fut: asyncio.Future[bytes]) -> None:
        self._rendering.pop(key, None)
        if fut.cancelled() or fut.exception() is not None:
            return
        self._charts[key] = fut.result()
        if len(self._charts) > CHART_CACHE_SIZE:
            self._charts.popitem(last=False)

    async def _global_png(self, period: str, lang: str) -> bytes | None:
        from bot.chart import cjk_font
        from bot.global_view import render_stack, stack_spec

        if lang != DEFAULT and await asyncio.get_running_loop().run_in_executor(None, cjk_font) is None:
            lang = DEFAULT
        spec = stack_spec(self.core.catalog, self.core.frames(), PERIODS.get(period, 731),
                          pd.Timestamp(self.core.now().date()), tr(lang)(PERIOD_WORDS.get(period, period)), lang)
        return None if spec is None else await CHART_POOL.call(render_stack, spec)

    def chart_caption(self, metric: str, period: str, lang: str = DEFAULT) -> str:
        """"Bank reserves, last 3 years" in the chat's language."""
        metric = "global_cb_assets_usd" if metric == "global" else metric
        words = tr(lang)(PERIOD_WORDS[period]) if period in PERIOD_WORDS else period
        return f"{metric_label(self.core.catalog, metric, lang)}, {words}"[:1024]

    def metric(self, raw: str | None, lang: str) -> str:
        """The metric the user meant (default reserves), or a CommandError naming the closest one."""
        _ = tr(lang)
        metrics = self.core.catalog.metrics
        metric = (raw or "reserves").strip().lower()[:MAX_ARG]
        if metric not in metrics:
            close = difflib.get_close_matches(metric, list(metrics), n=1)
            hint = " " + _("Did you mean {word}?").format(word=close[0]) if close else ""
            raise CommandError(_("Unknown metric {metric!r}.").format(metric=metric) + hint + " "
                               + _("Metrics: {metrics}").format(metrics=", ".join(metrics)))
        return metric

    def chart(self, raw_metric: str | None, raw_period: str | None, lang: str = DEFAULT) -> Reply:
        """/chart <metric> [period]: a reply that asks the adapter to attach the chart."""
        _ = tr(lang)
        metric = "global" if (raw_metric or "").strip().lower() == "global" else self.metric(raw_metric, lang)
        period = (raw_period or "2y").strip().lower()[:MAX_ARG]
        if period not in PERIODS:
            raise CommandError(_("Unknown period {period!r}. Use one of: {periods}").format(
                period=period, periods=", ".join(PERIODS)))
        f = self.core.frames().get("global_cb_assets_usd" if metric == "global" else metric)
        if f is None or f.empty:
            return Reply(_("No data for {metric} yet.").format(metric=metric_label(self.core.catalog, metric, lang)))
        # Rendered by the adapter after the reply (Slack must be answered within 3 s).
        return Reply("", chart=(metric, period))
