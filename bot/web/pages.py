"""The dashboard's HTML: overview, metric, alerts, rules. Pure string building; every value
goes through html.escape (`e`), and no page carries an inline script or style (the CSP forbids
them): data for charts travels in data-* attributes that /static/app.js reads. Translated texts
are looked up before the f-strings that use them (gettext extraction cannot see inside those)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from bot.format import fmt, rule_unit
from bot.catalog import Catalog
from bot.i18n import LANGUAGES, N_, tr
from bot.rules.model import Rule
from bot.status import REGIME_WORD, MetricStatus, _chg
from bot.units import fmt_value
from bot.web.api import PERIODS, Snapshot

ET = ZoneInfo("America/New_York")
SOURCE_NAMES = {"fred": "FRED", "nyfed": "New York Fed", "fiscaldata": "Treasury FiscalData"}
STATES = {"firing": N_("firing"), "resolved": N_("resolved"), "regime": N_("regime change")}


def e(x: object) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return escape("" if x is None else str(x), quote=True)


def et_time(iso_utc: str | None, lang: str) -> str:
    """'2026-12-04 16:31 ET' from a stored UTC timestamp (naive ones are UTC)."""
    if not iso_utc:
        return tr(lang)("never")
    try:
        t = datetime.fromisoformat(iso_utc.replace("Z", "+00:00"))
    except ValueError:
        return iso_utc[:16]
    t = t if t.tzinfo else t.replace(tzinfo=ZoneInfo("UTC"))
    return t.astimezone(ET).strftime("%Y-%m-%d %H:%M") + " ET"


def current(on: bool, value: str = "true") -> str:
    """` aria-current="..."` on the link to the page (or choice) being shown."""
    return f' aria-current="{value}"' if on else ""


def href(path: str, lang: str, **query: str) -> str:
    """An internal link that keeps the page's language."""
    q = "&".join(f"{k}={v}" for k, v in {**query, "lang": lang}.items())
    return e(f"{path}?{q}")


def layout(title: str, body: str, lang: str, path: str, query: dict[str, str] | None = None) -> str:
    """The page frame: header with navigation and the language switch, the body, a footer."""
    _ = tr(lang)
    nav = [("/", _("Overview")), ("/alerts", _("Alerts")), ("/rules", _("Rules"))]
    links = "".join(f'<a href="{href(p, lang)}"{current(p == path, "page")}>{e(t)}</a>' for p, t in nav)
    switch = "".join(f'<a hreflang="{k}" lang="{k}" href="{href(path, k, **(query or {}))}"'
                     f'{current(k == lang)}>{e(v)}</a>' for k, v in LANGUAGES.items())
    language, times = e(_("Language")), e(_("Times are US/Eastern (ET)."))
    sources = e(_("Public data from FRED, the New York Fed and Treasury FiscalData."))
    html_lang = "zh-Hans" if lang == "zh" else "en"
    return (f'<!doctype html><html lang="{html_lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="color-scheme" content="light dark">'
            f'<title>{e(title)} · Liquidity Bot</title>'
            '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
            '<link rel="stylesheet" href="/static/vendor/uPlot.min.css"><link rel="stylesheet" href="/static/app.css">'
            '<script src="/static/vendor/uPlot.iife.min.js" defer></script><script src="/static/app.js" defer></script>'
            f'</head><body><header><a class="brand" href="{href("/", lang)}">Liquidity Bot</a>'
            f'<nav>{links}</nav><nav class="lang" aria-label="{language}">{switch}</nav></header>'
            f'<main>{body}</main><footer>{times} {sources} <a href="/api/status">JSON</a></footer></body></html>')


def _card(r: MetricStatus, spark: tuple[list[str], list[float]], lang: str) -> str:
    _ = tr(lang)
    regime = held = ""
    if r.regime:
        regime = f'<span class="regime">{e(_(REGIME_WORD.get(r.regime, r.regime.capitalize())))}</span>'
    if r.held:
        held = f'<span class="held">{e(_("Held: {series} {date} (unit?)").format(**r.held))}</span>'
    label, week = e(_(r.label)), e(_("1w"))
    asof = e(_("as of {date}").format(date=r.date) + " · " + _("{n}d old").format(n=r.age_days))
    dates, values = spark
    return (f'<a class="card" href="{href("/metric/" + r.metric, lang)}" data-metric="{e(r.metric)}">'
            f'<span class="label">{label}</span>'
            f'<span class="value" data-value="{e(repr(r.value))}" data-unit="{e(r.unit)}">{e(fmt_value(r.value, r.unit))}</span>'
            f'<span class="change">{week} {e(_chg(r.change_1w, r.unit))}</span><span class="asof">{asof}</span>'
            f'{regime}{held}<span class="spark" data-unit="{e(r.unit)}" data-dates="{e(json.dumps(dates))}"'
            f' data-values="{e(json.dumps(values))}"></span></a>')


def overview(snap: Snapshot, verdict: list[str], sparks: dict[str, tuple[list[str], list[float]]],
             rules: dict[str, Rule], sections: Sequence[str], lang: str) -> str:
    """The overview's body: verdict, one card per metric, firing alerts, failing sources, extra sections."""
    _ = tr(lang)
    if not snap.rows:
        empty = e(_("No data yet: the bot has not fetched anything. Try again in a minute."))
        return f'<section class="verdict"><h1 id="verdict">{empty}</h1></section>'
    head, facts = (verdict[0], verdict[1:]) if verdict else ("", [])
    out = [f'<section class="verdict"><h1 id="verdict">{e(head)}</h1><ul>'
           + "".join(f"<li>{e(f.removeprefix('• '))}</li>" for f in facts) + "</ul></section>"]
    cards = "".join(_card(r, sparks.get(r.metric, ([], [])), lang) for r in snap.rows)
    metrics, firing_h, failing_h, nothing = e(_("Metrics")), e(_("Firing alerts")), e(_("Failing sources")), e(_("nothing"))
    out.append(f'<section><h2>{metrics}</h2><div class="cards" id="metrics">{cards}</div></section>')
    out += sections
    titles = [rules[r].heading(lang) for r in snap.firing if r in rules]
    items = "".join(f"<li>{e(t)}</li>" for t in titles) or f'<li class="none">{nothing}</li>'
    out.append(f'<section><h2>{firing_h}</h2><ul id="firing">{items}</ul></section>')
    if snap.failing:
        line = _("{source} failing; last OK {since}")
        rows = "".join(f"<li>{e(line.format(source=f['source'], since=et_time(f['last_success'], lang)))}"
                       f'<br><small>{e(f["error"])}</small></li>' for f in snap.failing)
        out.append(f'<section><h2>{failing_h}</h2><ul id="failing">{rows}</ul></section>')
    evaluated = et_time(snap.evaluated_at, lang) if snap.evaluated_at else _("not yet")
    note = e(_("Rules last evaluated: {time}").format(time=evaluated))
    out.append(f'<p class="note">{note}</p>')
    return "".join(out)


def metric_page(series: dict[str, Any], period: str, lang: str, start: str | None) -> str:
    """A metric's chart (periods, thresholds, regime shading), its sources and a CSV download."""
    _ = tr(lang)
    m, unit, label = series["metric"], series["unit"], _(series["label"])
    every = _("All")
    periods = "".join(f'<a href="{href("/metric/" + m, lang, period=p)}"{current(p == period)}>'
                      f"{e(p.upper() if p != 'all' else every)}</a>" for p in PERIODS)
    query = f"?from={start}" if start else ""
    aria = e(_("Chart of {metric}").format(metric=label))
    chart = (f'<div id="chart" class="chart" data-src="{e(f"/api/series/{m}{query}")}" data-unit="{e(unit)}"'
             f' data-label="{e(label)}" role="img" aria-label="{aria}"></div>')
    none = e(_("none"))
    lines = "".join(f"<li>{e(fmt(t, unit))}</li>" for t in series["thresholds"]) or f"<li>{none}</li>"
    src = "".join(f"<li>{_source(s)}</li>" for s in series["sources"])
    if not src and series["inputs"]:
        inputs = ", ".join(f'<a href="{href("/metric/" + i, lang)}">{e(i)}</a>' for i in series["inputs"])
        template = e(_("computed from {metrics}"))   # escaped first: the links go in as HTML
        src = "<li>" + template.format(metrics=inputs) + "</li>"
    values = series["values"]
    if values:
        asof = e(_("as of {date}").format(date=series["dates"][-1]))
        latest = f'<p class="latest"><span class="value">{e(fmt_value(values[-1], unit))}</span> {asof}</p>'
    else:
        latest = f"<p>{e(_('No data yet.'))}</p>"
    value_w, threshold_w = e(_("value")), e(_("threshold"))
    seen = dict.fromkeys(s["regime"] for s in series["regimes"])
    bands = "".join(f' <span class="sw {e(r)}"></span>{e(_(REGIME_WORD.get(r, r.capitalize())))}' for r in seen)
    thresholds_h, source_h, csv_w = e(_("Thresholds")), e(_("Source")), e(_("Download CSV"))
    return (f'<h1>{e(label)}</h1>{latest}<nav class="periods">{periods}</nav>{chart}'
            f'<p class="legend"><span class="sw line"></span>{value_w} <span class="sw thr"></span>{threshold_w}'
            f'{bands}</p>'
            f'<h2>{thresholds_h}</h2><ul>{lines}</ul><h2>{source_h}</h2><ul>{src}</ul>'
            f'<p><a class="button" download href="{e(f"/api/series/{m}.csv{query}")}">{csv_w}</a></p>')


def _source(s: dict[str, str]) -> str:
    """'FRED WRESBAL: Reserve balances ...', the FRED id linked to its page there."""
    name, sid = SOURCE_NAMES.get(s["source"], s["source"]), e(s["series"])
    if s["source"] == "fred":
        sid = f'<a href="https://fred.stlouisfed.org/series/{sid}" rel="noopener noreferrer">{sid}</a>'
    return f'{e(name)} {sid}: {e(s["title"])}'


def alerts_page(alerts: list[dict[str, Any]], rules: dict[str, Rule], catalog: Catalog, lang: str) -> str:
    """Recent alerts of the shared rules, newest first."""
    _ = tr(lang)
    rows = []
    for a in alerts:
        rule = rules[a["rule"]]
        what = f'{a["from"]} → {a["to"]}' if a["state"] == "regime" else fmt(a["value"], rule_unit(rule, catalog))
        state = _(STATES.get(a["state"], a["state"]))
        rows.append(f'<tr class="{e(a["severity"])}"><td>{e(a["data_date"])}</td><td>{e(rule.heading(lang))}</td>'
                    f'<td>{e(state)}</td><td>{e(what)}</td><td>{e(et_time(a["at"], lang))}</td></tr>')
    empty = e(_("No alerts yet."))
    body = "".join(rows) or f'<tr><td colspan="5">{empty}</td></tr>'
    title, heads = e(_("Recent alerts")), [_("data date"), _("rule"), _("state"), _("value"), _("sent")]
    th = "".join(f"<th>{e(h)}</th>" for h in heads)
    return (f'<h1>{title}</h1><div class="scroll"><table id="alerts"><thead><tr>{th}</tr></thead>'
            f'<tbody>{body}</tbody></table></div>')


def _record(rec: dict[str, Any] | None, lang: str) -> str:
    _ = tr(lang)
    if rec is None:
        return _("not replayed (staleness is about live sources)")
    if rec["fired"] == 0:
        return _("never fired in the data on record")
    return _("{n} times, {first} to {last}").format(n=rec["fired"], first=rec["first"], last=rec["last"])


def rules_page(items: list[dict[str, Any]], rules: dict[str, Rule], page: int, pages: int, lang: str) -> str:
    """The shared rules with their state and backtest record, one page of them."""
    _ = tr(lang)
    firing = _("firing")
    rows = []
    for it in items:
        rule = rules[it["id"]]
        state = firing if it["firing"] else ""
        rows.append(f'<tr class="{e(rule.severity)}"><td><b>{e(rule.heading(lang))}</b><br><small>{e(rule.id)}</small></td>'
                    f'<td>{e(rule.topic)}</td><td>{e(state)}</td><td>{e(_record(it["record"], lang))}</td></tr>')
    nav = ""
    if pages > 1:
        prev = f'<a href="{href("/rules", lang, page=str(page - 1))}">←</a>' if page > 1 else ""
        nxt = f'<a href="{href("/rules", lang, page=str(page + 1))}">→</a>' if page < pages else ""
        where = e(_("page {n} of {total}").format(n=page, total=pages))
        nav = f'<nav class="pages">{prev} {where} {nxt}</nav>'
    title, intro = e(_("Rules")), e(_("Backtest: every firing the rule would have sent over the stored history."))
    th = "".join(f"<th>{e(h)}</th>" for h in (_("rule"), _("topic"), _("state"), _("backtest record")))
    return (f'<h1>{title}</h1><p>{intro}</p><div class="scroll"><table id="rules"><thead><tr>{th}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>{nav}')


def not_found(lang: str) -> str:
    """The body of a 404 page."""
    _ = tr(lang)
    title, back = e(_("Not found")), e(_("Overview"))
    return f'<h1>{title}</h1><p><a href="{href("/", lang)}">{back}</a></p>'
