"""Alert messages: render a rule's template for a transition, with units and a calendar note.

Pure. Templates use `{name}` placeholders only (validated at load); values are formatted
before substitution, so no attribute access or code in rule text is ever evaluated.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from bot.catalog import Catalog
from bot.rules.lifecycle import Transition
from bot.rules.model import Rule
from bot.units import fmt_value

_FIELD = re.compile(r"\{([a-z_]+)\}")
SEVERITY_MARK = {"info": "ℹ️", "warning": "⚠️", "critical": "🚨"}
STATE_WORD = {"firing": "FIRING", "resolved": "RESOLVED", "regime": "REGIME CHANGE"}


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

    @property
    def title(self) -> str:
        return f"{SEVERITY_MARK.get(self.severity, '')} {STATE_WORD.get(self.state, self.state)}: {self.rule_id}".strip()

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_stored(cls, payload: str | None, text: str, rule_id: str, topic: str, state: str) -> "AlertMessage":
        """Rebuild from an outbox row; rows written before payloads existed keep their text."""
        if payload:
            return cls(**json.loads(payload))
        title, _, rest = text.partition("\n")
        return cls(rule_id, topic, "warning", state, rest or title, "", "", "", None, raw_text=text)

    def to_text(self) -> str:
        """Plain text: title, headline, why it matters, calendar note, source line."""
        if self.raw_text:
            return self.raw_text
        lines = [self.title, self.headline]
        if self.state != "resolved":
            lines.append(f"Why it matters: {self.why}")
        if self.note:
            lines.append(f"Note: {self.note}")
        lines.append(f"Source: {self.source}; data as of {self.data_date}.")
        return "\n".join(lines)


def rule_unit(rule: Rule, catalog: Catalog) -> str:
    """The unit of the value a rule compares: metric unit, bp for percent spreads, % for percent changes."""
    c = rule.condition
    if c.kind == "stale":
        return "days"
    if c.kind == "spread":
        u = catalog.metrics[c.body.a].unit
        return "bp" if u == "percent" else u
    if getattr(c.body, "percent", False):
        return "pct_change"
    return catalog.metrics[c.body.metric].unit


def fmt(x: float | None, unit: str) -> str:
    if x is None:
        return "n/a"
    if unit == "days":
        return f"{x:.1f} days"
    if unit == "pct_change":
        return f"{x:+.1f}%"
    if unit == "bp":
        return f"{x:+.0f} bp"
    return fmt_value(x, unit)


def _business_days_from(d: date, n: int) -> date:
    step = 1 if n > 0 else -1
    while n:
        d += timedelta(days=step)
        if d.weekday() < 5:
            n -= step
    return d


def calendar_note(d: date) -> str | None:
    """Quarter-ends and tax dates bring routine funding spikes; say so when an alert lands on one."""
    if d.month in (3, 6, 9, 12):
        quarter_end = (date(d.year, d.month % 12 + 1, 1) if d.month != 12 else date(d.year + 1, 1, 1)) - timedelta(days=1)
        if _business_days_from(quarter_end, -2) <= d <= quarter_end:
            return f"{'year' if d.month == 12 else 'quarter'}-end: repo and reserves often move for a few days around it."
    if d.month in (1, 4, 7, 10) and d <= _business_days_from(date(d.year, d.month, 1) - timedelta(days=1), 2):
        return "first days after a quarter-end: funding markets are often still normalising."
    if d.month in (4, 6, 9) and 15 <= d.day <= 18:
        return "tax date: corporate tax payments move cash into the TGA and drain reserves for a few days."
    return None


def render(rule: Rule, t: Transition, catalog: Catalog) -> AlertMessage:
    """The message for one transition of one rule."""
    c = rule.condition
    unit = rule_unit(rule, catalog)
    metric = c.body.a if c.kind == "spread" else c.body.metric
    label = catalog.metrics[metric].label if metric in catalog.metrics else metric
    if c.kind == "spread":
        label = f"{catalog.metrics[c.body.a].label} - {catalog.metrics[c.body.b].label}"
    extra = dict(t.extra)
    threshold = rule.threshold
    if c.kind == "crossing":
        threshold = c.body.value
    values = {
        "value": fmt(t.value, unit), "threshold": fmt(threshold, unit) if threshold is not None else "n/a",
        "clear": fmt(rule.clear, unit) if rule.clear is not None else "n/a",
        "date": t.data_date.isoformat(), "metric": metric, "label": label, "rule": rule.id,
        "from": t.from_regime or "", "to": t.to_regime or "", "severity": rule.severity, "topic": rule.topic,
        "window": c.body.window.describe() if c.kind == "change" else "",
        "multiple": f"{c.body.multiple:g}x" if c.kind == "spike" else "",
        "median": fmt(extra.get("median"), unit) if "median" in extra else "n/a",
        "age": fmt(t.value, "days") if c.kind == "stale" else "",
    }
    template = rule.resolved_message if t.state == "resolved" and rule.resolved_message else rule.message
    if t.state == "resolved" and not rule.resolved_message:
        template = "Resolved: {label} is {value} (data {date})."
    headline = _FIELD.sub(lambda m: values.get(m.group(1), m.group(0)), template)
    if c.kind == "stale" and t.value is None and t.state == "firing":
        headline = f"No {label} data stored yet: the source has not delivered anything (network down, or no --data file)."
    return AlertMessage(rule.id, rule.topic, rule.severity, t.state, headline, rule.why, t.data_date.isoformat(),
                        label, calendar_note(t.data_date))


def split_message(text: str, limit: int) -> list[str]:
    """Split on line boundaries into chunks of at most `limit` characters; a single longer
    line is cut hard. Every chunk is non-empty."""
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
