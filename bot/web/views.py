"""The dashboard's request handlers: read the store and frames (on the event loop, like chat
/status), call bot.web.api for the data and bot.web.pages for the HTML. What depends only on
the data is cached per data version: the frames object (swapped whole after each evaluation),
the rule set, and the store's firing / fetch / regime / held-print state."""

from __future__ import annotations

import asyncio
import json
import math
from datetime import date, timedelta
from typing import Any

from aiohttp import web

from bot.clock import eastern_date
from bot.metrics import Frames
from bot.rules.model import Rule
from bot.status import rule_marks
from bot.web import api, pages
from bot.web.app import WebDeps
from bot.i18n import DEFAULT, normalise
from bot.web.lang import pick

RULES_PER_PAGE = 100
PAGE_HEADERS = {"Cache-Control": "no-cache"}   # revalidate every time: a 304 when nothing changed
HTML_HEADERS = {**PAGE_HEADERS, "Vary": "Accept-Language"}   # the language may come from the browser


class Views:
    """Handlers for the pages and the JSON API, with their per-data-version caches."""

    def __init__(self, deps: WebDeps):
        self.deps = deps
        self._key: tuple[Any, ...] | None = None
        self._cache: dict[Any, Any] = {}
        self._refs: tuple[Frames, list[Rule]] | None = None   # keeps the id()s in the cache key unique

    # --- data, cached per version ---
    def _state(self) -> tuple[Frames, list[Rule]]:
        """The current frames and public rules; drops every cached answer when the data moved on."""
        d = self.deps
        frames, rules = d.frames(), d.rules()
        st = d.store
        # Sources matter only while failing: a successful poll that brought nothing new changes nothing shown.
        failing = tuple((s, f["last_success"], f["last_error"]) for s, f in sorted(st.last_fetches().items())
                        if f["last_error"])
        key = (id(frames), id(rules), len(rules), tuple(st.firing_rules()), failing, repr(st.held_prints()),
               repr(st.regimes()), st.get_meta("rules_evaluated_at"), d.now().date())
        if key != self._key:
            self._key, self._cache, self._refs = key, {"rules": api.public_rules(rules)}, (frames, rules)
        return frames, self._cache["rules"]

    def _current(self) -> tuple[Frames, list[Rule]]:
        """The frames and public rules of the version the request's handler checked (`_state`, once)."""
        if self._refs is None:
            return self._state()
        return self._refs[0], self._cache["rules"]

    def _memo(self, name: Any, make: Any) -> Any:
        if name not in self._cache:
            self._cache[name] = make()
        return self._cache[name]

    def _snapshot(self) -> api.Snapshot:
        frames, rules = self._current()
        snap: api.Snapshot = self._memo("snap", lambda: api.take_snapshot(self.deps.store, self.deps.catalog, frames, rules,
                                                            self.deps.now()))
        return snap

    def _verdict(self, lang: str) -> list[str]:
        """Chat /status's verdict lines (the same function), once per data version and language."""
        self._current()
        return list(self._memo(("verdict", lang), lambda: [x for x in self.deps.verdict(lang).split("\n") if x]))

    def _sparks(self) -> dict[str, tuple[list[str], list[float]]]:
        frames, _ = self._current()

        def make() -> dict[str, tuple[list[str], list[float]]]:
            out = {}
            for r in self._snapshot().rows:
                start = date.fromisoformat(r.date) - timedelta(days=api.SPARK_DAYS)
                out[r.metric] = api.points(frames, r.metric, start, None)
            return out
        return dict(self._memo("sparks", make))

    def _series(self, name: str, start: date | None, end: date | None) -> dict[str, Any]:
        """A metric's series JSON; its thresholds and regime spans are computed once per data version."""
        frames, rules = self._current()
        marks = self._memo("marks", lambda: rule_marks(rules, self.deps.catalog))
        spans = self._memo(("spans", name), lambda: api.regime_spans(rules, frames, self.deps.catalog.units, name))
        return api.series_json(self.deps.catalog, frames, name, start, end, marks.get(name, []), spans)

    async def _records(self, rules: list[Rule]) -> dict[str, dict[str, Any]]:
        """Backtest records of some rules, replayed off the event loop, cached per data version."""
        frames, _ = self._current()
        key, cache = ("records", tuple(r.id for r in rules)), self._cache   # this version's cache, even if
        if key not in cache:                                                 # the data moves on meanwhile
            cache[key] = await asyncio.to_thread(api.rule_records, rules, frames, self.deps.catalog.units)
        return dict(cache[key])

    # --- pages ---
    def _html(self, request: web.Request, title: str, body: str, lang: str, status: int = 200,
              query: dict[str, str] | None = None) -> web.Response:
        text = pages.layout(title, body, lang, request.path, query)
        return web.Response(text=text, content_type="text/html", status=status, headers=HTML_HEADERS)

    @staticmethod
    def _lang(request: web.Request) -> str:
        return pick(request.query.get("lang"), request.headers.get("Accept-Language"))

    async def overview(self, request: web.Request) -> web.Response:
        """The overview: verdict, metrics with sparklines, firing alerts, failing sources."""
        lang = self._lang(request)
        frames, rules = self._state()
        snap = self._snapshot()

        def make() -> str:
            today = eastern_date(self.deps.now())
            sections = [s for s in (f(self.deps.catalog, frames, lang, self.deps.store, today)
                                    for f in self.deps.sections) if s]
            return pages.overview(snap, self._verdict(lang), self._sparks(),
                                  {r.id: r for r in rules}, sections, lang)
        body = self._memo(("overview", lang), make)
        from bot.i18n import tr

        return self._html(request, tr(lang)("Overview"), body, lang)

    async def metric(self, request: web.Request) -> web.Response:
        """One metric: interactive chart over a period, thresholds, regimes, source, CSV."""
        lang, name = self._lang(request), request.match_info["metric"]
        frames, _ = self._state()
        if name not in self.deps.catalog.metrics:
            return self._html(request, "404", pages.not_found(lang), lang, 404)
        period = request.query.get("period", api.DEFAULT_PERIOD)
        period = period if period in api.PERIODS else api.DEFAULT_PERIOD
        f = frames.get(name)
        last = f.index[-1].date() if f is not None and not f.empty else self.deps.now().date()
        start = api.period_start(period, last)
        series = self._series(name, start, None)
        body = pages.metric_page(series, period, lang, start.isoformat() if start else None)
        return self._html(request, self.deps.catalog.metrics[name].label, body, lang, query={"period": period})

    async def alerts(self, request: web.Request) -> web.Response:
        """Recent alerts of the shared rules."""
        lang = self._lang(request)
        _, rules = self._state()
        body = pages.alerts_page(api.alerts_json(self.deps.store, rules), {r.id: r for r in rules}, self.deps.catalog, lang)
        return self._html(request, "Alerts", body, lang)

    async def rules(self, request: web.Request) -> web.Response:
        """The shared rules with their backtest records, a page at a time."""
        lang = self._lang(request)
        page, pages_n, chunk = self._page(request)
        records = await self._records(chunk)
        items = api.rules_json(chunk, self._snapshot().firing, records)
        body = pages.rules_page(items, {r.id: r for r in chunk}, page, pages_n, lang)
        return self._html(request, "Rules", body, lang, query={"page": str(page)})

    def _page(self, request: web.Request) -> tuple[int, int, list[Rule]]:
        _, rules = self._state()   # the first look of the rules handlers
        pages_n = max(1, math.ceil(len(rules) / RULES_PER_PAGE))
        raw = request.query.get("page", "1")
        page = min(max(1, int(raw)), pages_n) if raw.isdigit() and len(raw) < 7 else 1
        return page, pages_n, rules[(page - 1) * RULES_PER_PAGE: page * RULES_PER_PAGE]

    # --- JSON API ---
    @staticmethod
    def _json(body: Any, status: int = 200) -> web.Response:
        return web.Response(text=json.dumps(body, ensure_ascii=False, allow_nan=False), status=status,
                            content_type="application/json", headers=PAGE_HEADERS)

    async def api_status(self, request: web.Request) -> web.Response:
        """`metrics` as `status --json`, the verdict (English, or `?lang=zh`), firing rules, failing sources."""
        self._state()
        lang = normalise(request.query.get("lang")) or DEFAULT
        return self._json(self._memo(("api_status", lang), lambda: api.status_json(self._snapshot(), self._verdict(lang))))

    async def api_series(self, request: web.Request) -> web.Response:
        """/api/series/<metric>?from=&to= as JSON, or /api/series/<metric>.csv as `export` writes it."""
        name = request.match_info["metric"]
        csv = name.endswith(".csv")
        name = name.removesuffix(".csv")
        if name not in self.deps.catalog.metrics:
            return self._json({"error": "unknown metric", "metrics": list(self.deps.catalog.metrics)}, 404)
        try:
            start, end = api.parse_day(request.query.get("from")), api.parse_day(request.query.get("to"))
        except ValueError:
            return self._json({"error": "from and to are dates: YYYY-MM-DD"}, 400)
        frames, _ = self._state()
        if csv:
            text = api.series_csv(frames, name, start, end)
            return web.Response(text=text, content_type="text/csv", headers={
                **PAGE_HEADERS, "Content-Disposition": f'attachment; filename="{name}.csv"'})
        return self._json(self._series(name, start, end))

    async def api_alerts(self, request: web.Request) -> web.Response:
        """The shared rules' recent alert events, newest first."""
        _, rules = self._state()
        return self._json({"alerts": api.alerts_json(self.deps.store, rules)})

    async def api_rules(self, request: web.Request) -> web.Response:
        """The shared rules, 100 a page (?page=), with state and backtest record."""
        page, pages_n, chunk = self._page(request)
        records = await self._records(chunk)
        return self._json({"page": page, "pages": pages_n,
                           "rules": api.rules_json(chunk, self._snapshot().firing, records)})


