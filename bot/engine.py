"""Evaluate rules against the store and record transitions with their outbox rows.

The glue between the pure core (metrics, evaluation, lifecycle, formatting) and the store.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from bot.catalog import Catalog
from bot.format import render
from bot.metrics import Frames
from bot.rules.lifecycle import Transition
from bot.rules.model import Rule
from bot.rules.replay import catch_up, first_run
from bot.store.sqlite import Store

log = logging.getLogger(__name__)


@dataclass
class Engine:
    store: Store
    catalog: Catalog
    rules: list[Rule]
    # Destinations that receive every alert regardless of subscriptions (console, Slack feed).
    feeds: list[tuple[str, str]] = field(default_factory=list)
    # Platforms whose subscribers get outbox rows (only adapters that are running).
    platforms: set[str] = field(default_factory=set)

    def frames(self) -> Frames:
        return self.store.frames(self.catalog)

    def _destinations(self, rule: Rule) -> list[tuple[str, str, str]]:
        subs = [(p, c, f"subscribed to {rule.topic}") for p, c in self.store.subscribers(rule.topic)
                if p in self.platforms]
        seen = {(p, c) for p, c, _ in subs}
        return subs + [(p, c, "feed") for p, c in self.feeds if (p, c) not in seen]

    def _event(self, rule: Rule, t: Transition) -> dict:
        msg = render(rule, t, self.catalog)
        return {"topic": rule.topic, "severity": rule.severity, "state": t.state,
                "data_date": t.data_date.isoformat(), "value": t.value, "from_regime": t.from_regime,
                "to_regime": t.to_regime, "text": msg.to_text(), "payload": msg.to_json()}

    def evaluate(self, now: datetime) -> list[int]:
        """Step every rule over what is new since its stored state; return new event ids.

        `now` is naive UTC. A rule seen for the first time learns its state from history
        silently and reports only an alert that is firing on recent data.
        """
        frames = self.frames()
        alerts = self.store.load_alerts()
        stamp = now.isoformat(timespec="seconds")
        units = self.catalog.units
        ids: list[int] = []
        for rule in self.rules:
            prev = alerts.get(rule.id)
            try:
                run = (first_run(rule, frames, units, now) if prev is None
                       else catch_up(rule, frames, units, prev, now))
            except Exception:  # one broken rule must not stop the others
                log.exception("rule %s: evaluation failed", rule.id)
                continue
            notify = [t for t in run.transitions if t.state != "resolved" or rule.notify_resolved]
            if run.alert == prev and not notify:
                continue
            events = [(self._event(rule, t), self._destinations(rule)) for t in notify]
            ids += self.store.record(rule.id, run.alert, events, stamp)
            for t in notify:
                log.info("alert %s %s (data %s, value %s)", rule.id, t.state, t.data_date, t.value)
        return ids
