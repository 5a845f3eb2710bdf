"""Alert messages: render a rule's template for a transition, with units and a calendar note.

Pure. Templates use `{name}` placeholders only (validated at load); values are formatted
before substitution, so no attribute access or code in rule text is ever evaluated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING

from bot.catalog import Catalog
from bot.chart_alert import alert_chart_metric
from bot.episode import AlertContext, lower_is_worse, since_line
from bot.rules.lifecycle import Transition
from bot.rules.model import Rule, Window
from bot.i18n import LANGUAGES, N_, tr
from bot.units import fmt_bp, fmt_change, fmt_value

if TYPE_CHECKING:
    from bot.metrics import Frames

_FIELD = re.compile(r"\{([a-z_]+)\}")
SEVERITY_MARK = {"info": "ℹ️", "warning": "⚠️", "critical": "🔴"}
RESOLVED_MARK = "✅"
SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}  # a grouped message: most severe first
# The shipped rules' regime band names, so a Chinese alert says 稀缺 -> 充足; an operator's own
# band names without a translation are shown as written.
BAND_NAMES = (N_("scarce"), N_("ample"), N_("abundant"), N_("qt"), N_("flat"), N_("expansion"))
STATE_WORD = {"firing": N_("FIRING"), "resolved": N_("RESOLVED"), "regime": N_("REGIME CHANGE")}


@dataclass(frozen=True)
class AlertMessage:
    rule_id: str
    topic: str
    severity: str
    state: str
    headline: str
    why: str
    data_date: str
    source: str
    note: str | None = None
    raw_text: str | None = None   # set only for rows stored before structured payloads
    heading: str = ""             # the rule's human title
    facts: str = ""               # value, threshold, change since the previous print
    context: str = ""             # the rule's record: "last fired 2025-10-02; 6 times since 2019"
    chart: bool = False           # attach a chart of `metric` (rules with `chart: true`)
    lang: str = "en"
    metric: str | None = None     # the rule's metric (the "Chart" button)
    event_id: int | None = None   # set at delivery (the "Mute" buttons name the event)
    drivers: str = ""             # the change's top three H.4.1 drivers, one line (bot/why_h41.py)
    analogs: tuple[str, ...] = ()  # a firing's most similar past episodes (bot/analogs.py)
    since: str = ""               # "3rd day in a row (since Dec 3), peak +38 bp"
    also: str = ""                # a grouped message: the other alerts of the same evaluation

    @property
    def title(self) -> str:
        _ = tr(self.lang)
        word = _(STATE_WORD[self.state]) if self.state in STATE_WORD else self.state
        mark = RESOLVED_MARK if self.state == "resolved" else SEVERITY_MARK.get(self.severity, "")
        return f"{mark} {word}: {self.heading or self.rule_id}".strip()

    def label(self, text: str) -> str:
        """A fixed label ("Why it matters") in the message's language."""
        return tr(self.lang)(text)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_stored(cls, payload: str | None, text: str, rule_id: str, topic: str, state: str,
                    lang: str | None = None) -> "AlertMessage":
        """Rebuild from an outbox row in the chat's language (payloads hold every language;
        older rows hold one message, older still only text)."""
        if payload:
            data = json.loads(payload)
            if "en" in data and isinstance(data["en"], dict):
                data = data.get(lang or "en") or data["en"]
            known = {f for f in cls.__dataclass_fields__}
            return cls(**{k: v for k, v in data.items() if k in known})
        title, _, rest = text.partition("\n")
        return cls(rule_id, topic, "warning", state, rest or title, "", "", "", None, raw_text=text)

    def to_text(self) -> str:
        """Plain text: title, headline, facts, since when, why it matters, record, calendar
        note, source; then a group's other alerts after a blank line."""
        own = self.own_text()
        return f"{own}\n\n{self.also}" if self.also else own

    def own_text(self) -> str:
        """This alert's text alone (without a group's other alerts)."""
        if self.raw_text:
            return self.raw_text
        _ = tr(self.lang)
        lines = [self.title, self.headline]
        if self.facts:
            lines.append(self.facts)
        if self.since:
            lines.append(self.since)
        if self.state != "resolved" and self.why:
            lines.append(_("Why it matters: {why}").format(why=self.why))
        if self.context:
            lines.append(self.context)
        if self.drivers:
            lines.append(self.drivers)
        if self.note:
            lines.append(_("Note: {note}").format(note=self.note))
        if self.analogs:
            lines += [_("Last times it looked like this:"), *self.analogs]
        lines.append(_("Source: {source}; data as of {date}.").format(source=self.source, date=self.data_date))
        return "\n".join(lines)


def payload(messages: dict[str, AlertMessage]) -> str:
    """One event's messages in every language, as stored with the event."""
    # vars(), not asdict(): every field is a plain value, and asdict's deep copy costs 70 us a message
    return json.dumps({lang: dict(vars(m)) for lang, m in messages.items()}, ensure_ascii=False)


def rule_unit(rule: Rule, catalog: Catalog) -> str:
    """The unit of the value a rule compares: metric unit, bp for percent spreads, % for percent changes."""
    return rule.kind.unit(catalog)


def fmt(x: float | None, unit: str) -> str:
    if x is None:
        return "n/a"
    if unit == "days":
        return f"{x:.1f} days"
    if unit == "pct_change":
        return f"{x:+.1f}%"
    return fmt_value(x, unit, signed=unit == "bp")  # spreads always carry their sign


def _business_days_from(d: date, n: int) -> date:
    step = 1 if n > 0 else -1
    while n:
        d += timedelta(days=step)
        if d.weekday() < 5:
            n -= step
    return d


def calendar_note(d: date, lang: str = "en") -> str | None:
    """Quarter-ends and tax dates bring routine funding spikes; say so when an alert lands on one."""
    _ = tr(lang)
    if d.month in (3, 6, 9, 12):
        quarter_end = (date(d.year, d.month % 12 + 1, 1) if d.month != 12 else date(d.year + 1, 1, 1)) - timedelta(days=1)
        if _business_days_from(quarter_end, -2) <= d <= quarter_end:
            if d.month == 12:
                return _("year-end: repo and reserves often move for a few days around it.")
            return _("quarter-end: repo and reserves often move for a few days around it.")
    if d.month in (1, 4, 7, 10) and d <= _business_days_from(date(d.year, d.month, 1) - timedelta(days=1), 2):
        return _("first days after a quarter-end: funding markets are often still normalising.")
    if d.month in (4, 6, 9, 12) and 15 <= d.day <= 18:   # the corporate dates (bot/liquidity_calendar.py)
        return _("tax date: corporate tax payments move cash into the TGA and drain reserves for a few days.")
    return None


def metric_label(catalog: Catalog, metric: str, lang: str = "en") -> str:
    """A metric's human name in a language (catalog labels are in the message catalogue)."""
    m = catalog.metrics.get(metric)
    return tr(lang)(m.label) if m else metric


def window_text(window: Window, lang: str = "en") -> str:
    """A change rule's window in words ("1 week", "5 business days") in the reader's language."""
    _ = tr(lang)
    if window.observations:
        return _("{n} observations").format(n=window.observations)
    if window.days:
        return _("1 week") if window.days == 7 else _("{n} days").format(n=window.days)
    return _("{n} business days").format(n=window.business_days)


def record_line(history: tuple[int, date | None, date | None] | None, lang: str = "en",
                since: date | None = None) -> str:
    """The rule's record before this firing: "Last fired 2025-10-02; 6 times since 2019."; `since`:
    the rule's record_from (its record counts from then)."""
    if history is None:
        return ""
    _ = tr(lang)
    n, first, last = history
    if (n == 0 or last is None or first is None) and since is not None:
        return _("First time this alert has fired since {date}.").format(date=since.isoformat())
    if n == 0 or last is None or first is None:
        return _("First time this alert has fired in the data on record.")
    if n == 1:
        return _("Last fired {date} (once before).").format(date=last.isoformat())
    return _("Last fired {date}; {n} times since {year}.").format(date=last.isoformat(), n=n, year=first.year)


def render(rule: Rule, t: Transition, catalog: Catalog, lang: str = "en",
           previous: float | None = None, *, context: AlertContext | None = None) -> AlertMessage:
    """The message for one transition of one rule, in one language. `previous` is the value
    of the rule's signal at the print before this one; `context` the firing's episode and, for
    change and spread rules, the metric's own level (a change rule's "since the previous print"
    is then the metric's own change, never a change of the change)."""
    _ = tr(lang)
    kind = rule.kind
    unit = kind.unit(catalog)
    metric = kind.shown_metric
    label = " - ".join(metric_label(catalog, m, lang) for m in rule.condition.metrics())  # a spread: "a - b"
    extra = dict(t.extra)
    threshold = rule.threshold
    level = context.level if context and kind.name in ("change", "spread") else None
    change = None if previous is None or t.value is None else t.value - previous
    change_unit = unit
    if level is not None and kind.name == "change":  # the metric's own previous print
        change_unit = catalog.metrics[level.metric].unit
        previous = level.previous
        change = None if previous is None else level.value - previous
    values = {
        "value": fmt(t.value, unit), "threshold": fmt(threshold, unit) if threshold is not None else "n/a",
        "clear": fmt(rule.clear, unit) if rule.clear is not None else "n/a",
        "amount": magnitude(t.value, unit), "change": _signed(change, change_unit) if change is not None else "n/a",
        "previous": fmt(previous, change_unit) if previous is not None else "n/a",
        "date": t.data_date.isoformat(), "metric": metric, "label": label, "rule": rule.id,
        "from": _(t.from_regime) if t.from_regime else "", "to": _(t.to_regime) if t.to_regime else "",
        "severity": rule.severity, "topic": rule.topic,
        "window": "", "multiple": "",
        "median": fmt(extra.get("median"), unit) if "median" in extra else "n/a",
        "age": "", **kind.placeholders(t.value, lang),
    }
    resolved = t.state == "resolved"
    template = rule.text("resolved_message", lang) if resolved else rule.text("message", lang)
    if resolved and not rule.resolved_message:
        template = _("Resolved: {label} is {value} (data {date}).")
    headline = _FIELD.sub(lambda m: values.get(m.group(1), m.group(0)), template or "")
    if kind.wall_clock and t.value is None and t.state == "firing":
        headline = _("No {label} data stored yet: the source has not delivered anything "
                     "(network down, or no --data file).").format(label=label)
    if level is not None:
        values["level"] = f"{metric_label(catalog, level.metric, lang)} {fmt(level.value, catalog.metrics[level.metric].unit)}"
    facts = "" if kind.wall_clock else _facts(values, threshold, change, lang)
    episode = context.episode if context and t.state == "firing" else None
    since = since_line(episode, t.data_date, fmt(episode.peak, unit), lang, _side(rule, catalog, unit, lang)) \
        if episode else ""
    shown = alert_chart_metric(rule, catalog)  # the chart shows what the rule compares
    return AlertMessage(rule.id, rule.topic, rule.severity, t.state, headline, rule.text("why", lang) or "",
                        t.data_date.isoformat(), catalog.source_text(metric), calendar_note(t.data_date, lang),
                        heading=rule.heading(lang), facts=facts,
                        context=record_line(t.history, lang, rule.record_start)
                        if t.state == "firing" and not kind.wall_clock else "",
                        chart=rule.chart and shown is not None, lang=lang, metric=shown, since=since)


def _side(rule: Rule, catalog: Catalog, unit: str, lang: str) -> tuple[str, str] | None:
    """Which side of which line a firing run stays on: ("above", "IORB") for SOFR - IORB > 0,
    ("below", "$3.000T") for reserves < $3T; None for kinds without one line (spikes)."""
    kind = rule.kind
    if kind.name not in ("level", "change", "spread", "crossing"):
        return None
    body = kind.body
    line = fmt(body.value, unit)
    if kind.name == "spread" and body.value == 0:  # "above IORB", not "above +0 bp"
        other = catalog.metrics.get(body.b)
        line = tr(lang)(other.short or other.label) if other else body.b
    return ("below" if lower_is_worse(rule) else "above", line)


def render_all(rule: Rule, t: Transition, catalog: Catalog, previous: float | None = None,
               drivers: Callable[[str], str | None] | None = None, *, frames: Frames | None = None,
               context: AlertContext | None = None) -> dict[str, AlertMessage]:
    """The message in every language the bot speaks; `context`: since when, and the level; `drivers(lang)`
    adds the drivers line; given the frames, a firing carries its analogs and, on a calendar day, the
    value against that event's past days (in place of the plain note)."""
    out = {lang: render(rule, t, catalog, lang, previous, context=context) for lang in LANGUAGES}
    if drivers:
        out = {lang: replace(m, drivers=drivers(lang) or "") for lang, m in out.items()}
    if frames is not None and t.state == "firing" and not rule.kind.wall_clock:
        from bot.analogs import analog_days, analogs  # wCalendar: issue 22 §2-3
        from bot.surprise import surprise_line

        days = analog_days(rule, catalog, frames, t.at.date())
        out = {lang: replace(m, analogs=tuple(analogs(rule, catalog, frames, t.at.date(), lang, days)),
                             note=surprise_line(rule.kind.shown_metric, catalog, frames, t.data_date, lang) or m.note)
               for lang, m in out.items()}
    return out


def _facts(values: dict[str, str], threshold: float | None, change: float | None, lang: str) -> str:
    _ = tr(lang)
    parts = [_("Value {value}").format(value=values["value"])]
    if "level" in values:  # a change or spread rule states the level too: "SOFR 4.03%"
        parts.append(values["level"])
    if threshold is not None:
        parts.append(_("threshold {threshold}").format(threshold=values["threshold"]))
    if change is not None:
        parts.append(_("{change} since the previous print").format(change=values["change"]))
    return " · ".join(parts)


def _signed(x: float, unit: str) -> str:
    """A change with its sign: fmt_change, plus the rule-only units (days, percent changes)."""
    return fmt(x, unit) if unit in ("days", "pct_change") else fmt_change(x, unit)


def magnitude(x: float | None, unit: str) -> str:
    """The size of a value without its sign ("fell {amount}" reads "fell $170.4B")."""
    if x is None:
        return "n/a"
    if unit == "bp":
        return fmt_bp(abs(x), signed=False)
    if unit == "pct_change":
        return f"{abs(x):.1f}%"
    return fmt(abs(x), unit)


def group(messages: list[AlertMessage]) -> AlertMessage:
    """Alerts one evaluation decided for one chat as one message (Alertmanager's grouping):
    most severe first (critical, warning, info), resolved last; one rule's transitions keep
    their order. The lead alert carries the buttons and one chart (its own, else the next one's);
    the others follow as text."""
    if len(messages) == 1:
        return messages[0]
    blocks: dict[str, list[AlertMessage]] = {}
    for m in messages:
        blocks.setdefault(m.rule_id, []).append(m)

    def rank(block: list[AlertMessage]) -> tuple[int, int]:
        return min((m.state == "resolved", SEVERITY_RANK.get(m.severity, 3)) for m in block)
    ordered = [m for block in sorted(blocks.values(), key=rank) for m in block]
    lead, rest = ordered[0], ordered[1:]
    charted = next((m for m in ordered if m.chart and m.metric), None)  # the most severe alert with a chart
    grouped = replace(lead, also="\n\n".join(m.own_text() for m in rest))
    return replace(grouped, chart=True, metric=charted.metric) if charted and not lead.chart else grouped


def split_message(text: str, limit: int) -> list[str]:
    """Split into chunks of at most `limit` characters, between paragraphs (a grouped message's
    alerts) where possible, else on line boundaries; a single longer line is cut hard. Every
    chunk is non-empty."""
    chunks: list[str] = []
    cur = ""
    for para in text.split("\n\n"):
        candidate = f"{cur}\n\n{para}" if cur else para
        if len(candidate) <= limit:
            cur = candidate
            continue
        if cur:
            chunks.append(cur)
        if len(para) <= limit:
            cur = para
            continue
        *done, cur = _split_lines(para, limit)
        chunks += done
    if cur or not chunks:
        chunks.append(cur or " ")
    return chunks


def _split_lines(text: str, limit: int) -> list[str]:
    """`split_message` within one paragraph: on line boundaries, a longer line cut hard."""
    chunks: list[str] = []
    cur = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if cur:
                chunks.append(cur)
                cur = ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{cur}\n{line}" if cur else line
        if len(candidate) > limit:
            chunks.append(cur)
            cur = line
        else:
            cur = candidate
    if cur or not chunks:
        chunks.append(cur or " ")
    return chunks
