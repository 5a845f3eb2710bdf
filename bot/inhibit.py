"""Inhibition (as Alertmanager's): a firing stale-data alert holds back alerts on its metric.

Pure. While a metric's staleness rule fires, alerts of rules on that metric, or on metrics
built from it (formulas, spreads, changes), are recorded but held back: a formula on old or
missing data can say what is not so. Once the data is fresh again each rule's newest held
alert is sent if it is still true, or dropped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

from bot.catalog import Catalog
from bot.rules.lifecycle import Alert, AlertState
from bot.rules.model import Rule


@dataclass(frozen=True)
class Held:
    """An alert event recorded without outbox rows while its data was stale."""

    event_id: int
    rule_id: str
    state: str                    # firing | resolved | regime
    data_date: str                # ISO: too old by release time, it is dropped like any old news
    to_regime: str | None = None


def inhibited_metrics(stale: Collection[str], catalog: Catalog) -> set[str]:
    """The stale metrics and every metric computed (directly or not) from one of them."""
    out: set[str] = set()
    for name in catalog.metric_order():
        if name in stale or set(catalog.metrics[name].inputs) & out:
            out.add(name)
    return out


def inhibited_rules(stale_rules: Iterable[Rule], rules: Sequence[Rule], alerts: Mapping[str, Alert],
                    catalog: Catalog, metrics_of: Callable[[Rule], Collection[str]]) -> set[str]:
    """The ids of `rules` held back now: on a metric whose staleness rule fires, or built from one."""
    stale = {r.kind.body.metric for r in stale_rules
             if r.kind.wall_clock and (a := alerts.get(r.id)) is not None and a.state == AlertState.FIRING}
    if not stale:
        return set()
    metrics = inhibited_metrics(stale, catalog)
    return {r.id for r in rules if not r.kind.wall_clock and set(metrics_of(r)) & metrics}


def _still_true(h: Held, alert: Alert | None) -> bool:
    if alert is None:
        return False
    if h.state == "firing":
        return alert.state == AlertState.FIRING
    if h.state == "resolved":
        return alert.state != AlertState.FIRING
    return alert.regime == h.to_regime


def release(held: Iterable[Held], inhibited_rules: Collection[str],
            current: Mapping[str, Alert]) -> tuple[list[Held], list[Held], list[Held]]:
    """(send, drop, keep) for held alerts: a rule still inhibited keeps its held alerts; else
    its newest is sent if it is still true (a resolution only when its firing was not held
    too: the chat never heard that it fired) and the rest are dropped."""
    by_rule: dict[str, list[Held]] = {}
    for h in sorted(held, key=lambda h: h.event_id):
        by_rule.setdefault(h.rule_id, []).append(h)
    send: list[Held] = []
    drop: list[Held] = []
    keep: list[Held] = []
    for rule_id, events in by_rule.items():
        if rule_id in inhibited_rules:
            keep += events
            continue
        newest = events[-1]
        unheard = newest.state == "resolved" and any(e.state == "firing" for e in events)
        if not unheard and _still_true(newest, current.get(rule_id)):
            send.append(newest)
            drop += events[:-1]
        else:
            drop += events
    return send, drop, keep


def dumps(held: Iterable[Held]) -> str:
    """Held alerts as stored (in the store's `meta`, written with the events themselves)."""
    return json.dumps([asdict(h) for h in held])


def loads(text: str | None) -> list[Held]:
    """Held alerts as `dumps` stored them (none when nothing was stored)."""
    return [Held(**d) for d in json.loads(text)] if text else []
