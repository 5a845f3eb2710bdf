"""Evaluate rules incrementally and record transitions with their outbox rows.

The glue between the pure core (metrics, evaluation, lifecycle, formatting) and the store.
The engine keeps the source series and metric frames in memory: after a fetch it re-reads
only the series that changed (from their first new date), recomputes only the metrics built
on them, and steps only the rules on those metrics, each over its new observations only
(as Prometheus evaluates a rule at the new timestamp). A rule seen for the first time, or
whose definition changed, is replayed over the whole history, silently and vectorised.

It is meant to run in one worker thread with its own store connection (see bot/runtime.py):
nothing here touches the event loop.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from bot.catalog import Catalog
from bot.episode import AlertContext, alert_context, holds_now, previous_print
from bot.held import HeldAlerts
from bot.format import payload, render_all
from bot.i18n import LANGUAGES
from bot.inhibit import Held, inhibited_rules
from bot.metrics import Frames, compute_metrics, needed_series
from bot.redact import detail_level, log_name
from bot.rules.evaluate import SignalInputs
from bot.rules.lifecycle import Alert, Transition
from bot.rules.model import Rule
from bot.rules.replay import catch_up, first_run
from bot.routing import Destination, Router, Snapshot
from bot.store.errors import NotLeader
from bot.store import Storage

log = logging.getLogger(__name__)

WEEKLY_MAX_AGE = 14  # days: no message, ever, about older data (unless a user asks)
DAILY_MAX_AGE = 7
ANALOG_BUDGET = 20  # firings per evaluation that get analogs (bot/analogs.py: a replay each, 10-60 ms)


# Stand-ins for a rule's id and "why" in a shared rendering (private-use characters: they pass
# through the templates and JSON unchanged and never occur in real text).
_RULE_ID = "\ue000id\ue000"
_WHY = {lang: f"\ue000why-{lang}\ue000" for lang in LANGUAGES}


def _json_str(text: str) -> str:
    """`text` as it appears inside a JSON string (the payload is dumped with ensure_ascii=False)."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def rule_hash(rule: Rule) -> str:
    """A changed definition (threshold, window, `for`, ...) means a fresh, silent replay."""
    return hashlib.sha1(rule.model_dump_json().encode()).hexdigest()[:16]


@dataclass
class Engine:
    store: Storage
    catalog: Catalog
    rules: list[Rule]
    # Destinations that receive every alert regardless of subscriptions (console, Slack feed).
    feeds: list[tuple[str, str]] = field(default_factory=list)
    # Platforms whose subscribers get outbox rows (only adapters that are running).
    platforms: set[str] = field(default_factory=set)
    # Series whose source has finished its first fetch attempt in this process; None: all have
    # (the CLI, tests). A rule waits for its sources before its first evaluation.
    settled: Callable[[], set[str]] | None = None
    # Called (in the engine's thread) after each evaluation that stored something.
    after_evaluation: list[Callable[[], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._raw: dict[str, pd.Series] | None = None
        self._forgotten = False  # forget() was called: the next refresh treats every metric as new
        self.frames: Frames = {}
        self._alerts: dict[str, Alert] = {}
        self._hashes: dict[str, str | None] = {}
        self._preloaded: set[str] = set()  # metrics that had data when the engine first loaded
        self.last_evaluated: datetime | None = None
        self.stop_requested = False  # set on shutdown: stop at the next rule
        self.busy = False            # an evaluation is running (on the engine thread)
        self._rule_hashes: dict[int, tuple[Rule, str, bool, frozenset[str]]] = {}
        self.file_rules: list[Rule] = list(self.rules)   # rules/*.yaml; self.rules adds personal alerts
        self._personal: list[Rule] = []
        self.owners: dict[str, tuple[str, str]] = {}     # personal rule id -> (platform, chat_id)
        self._personal_version: str | None = None
        # Who is told: a fresh router (and store snapshot) for each evaluation.
        self._router = Router(Snapshot(self.store, ""))
        self._rendered: dict[tuple[Any, ...], tuple[str, str]] = {}  # this evaluation's shared texts
        self._analogs_left = ANALOG_BUDGET
        self._failed: set[tuple[str, str]] = set()  # (rule id, hash) whose evaluation raised: logged once
        self._held = HeldAlerts(self.store)   # alerts held back by stale data
        self._released = False                # this evaluation queued held-back alerts
        self._contexts: dict[tuple[Any, ...], AlertContext | None] = {}  # this evaluation's, by condition

    # ---- in-memory data ------------------------------------------------------------------
    def _load(self) -> None:
        self._raw = self.store.load_series(needed_series(self.catalog))
        self.frames = compute_metrics(self.catalog, self._raw)
        self._alerts = self.store.load_alerts()
        self._hashes = self.store.rule_hashes()
        self._preloaded = {m for m, f in self.frames.items() if not f.empty}

    def _affected(self, series: set[str]) -> set[str]:
        """Metrics built (directly or through other metrics) on any of `series`."""
        out: set[str] = set()
        for name in self.catalog.metric_order():
            m = self.catalog.metrics[name]
            if set(m.series) & series or set(m.inputs) & out:
                out.add(name)
        return out

    def refresh(self, changed: dict[str, str] | None = None) -> set[str]:
        """Bring the in-memory series up to date; return the metrics that changed.

        `changed` maps series -> the first date with new or revised rows (from ingest); None
        re-reads everything (the CLI, tests, and the first call).
        """
        if self._raw is None or changed is None:
            before = {} if self._forgotten else self.frames  # forgotten: every metric is news
            self._forgotten = False
            self._load()
            return {m for m in self.frames if m not in before or not self.frames[m].equals(before[m])}
        raw = dict(self._raw)
        for sid, since in changed.items():
            rows = self.store.series_since(sid, since)
            if not rows:
                continue
            dates, values = zip(*rows, strict=False)
            new = pd.Series(values, index=pd.DatetimeIndex(dates), dtype=float, name=sid)
            old = raw.get(sid)
            raw[sid] = new if old is None else pd.concat([old[old.index < new.index[0]], new])
        metrics = self._affected(set(changed))
        if metrics:
            # Swap whole objects: readers on other threads never see a half-updated dict.
            self._raw, self.frames = raw, compute_metrics(self.catalog, raw, only=metrics, base=self.frames)
        return metrics

    # ---- rules -----------------------------------------------------------------------------
    def _series_of(self, metric: str) -> set[str]:
        m = self.catalog.metrics[metric]
        return set(m.series).union(*(self._series_of(d) for d in m.inputs))

    def _ready(self, rule: Rule, settled: set[str] | None) -> bool:
        """First evaluation waits until every source the rule depends on has answered once in
        this process, unless its data was already stored (a restart). Stale rules always wait."""
        if settled is None:
            return True
        needs = set().union(*(self._series_of(m) for m in rule.condition.metrics()))
        if needs <= settled:
            return True
        return not rule.kind.wall_clock and set(rule.condition.metrics()) <= self._preloaded

    def _max_age(self, rule: Rule) -> int:
        weekly = any(self.catalog.metrics[m].cadence_days >= 7 for m in rule.condition.metrics())
        return WEEKLY_MAX_AGE if weekly else DAILY_MAX_AGE

    def _destinations(self, rule: Rule) -> list[Destination]:
        destinations, muted = self._router.route(rule.id, rule.topic)
        if muted:
            log.log(detail_level(rule.id), "alert %s: muted in %d chat(s), not sent there", rule.id, muted)
        return destinations

    def _sync_personal(self, now: datetime) -> None:
        """Pick up personal alerts added or deleted (by any replica)."""
        from bot.personal import Personal, rule_for

        self._rendered.clear()
        self._analogs_left = ANALOG_BUDGET
        self._contexts.clear()
        version = self.store.get_meta("personal_version")
        if version == self._personal_version:
            return
        rules, owners = [], {}
        for row in self.store.personal_rules():
            pa = Personal(*row)
            if pa.metric not in self.catalog.metrics:
                log.warning("a personal alert's metric no longer exists; skipped (details at DEBUG)")
                log.debug("personal alert %s: metric %s no longer exists; skipped", pa.id, pa.metric)
                continue
            try:
                rule = rule_for(pa, self.catalog)
            except Exception as exc:  # one chat's unusable alert (stored before bounds) must not stop the rest
                log.warning("a personal alert is not a valid rule; skipped (details at DEBUG)")
                log.debug("personal alert %s: not a valid rule (%s); skipped", pa.id, str(exc).splitlines()[0][:200])
                continue
            rules.append(rule)
            owners[rule.id] = (pa.platform, pa.chat_id)
        self._personal, self.owners, self._personal_version = rules, owners, version
        self.rules = self.file_rules + rules

    def _drivers(self, rule: Rule, t: Transition, frames: Frames) -> Callable[[str], str | None] | None:
        """A firing reserves or net-liquidity alert names its top three H.4.1 drivers (bot/why_h41.py)."""
        from bot.why_h41 import PARTS, drivers_line

        metric = rule.kind.shown_metric
        if t.state != "firing" or rule.kind.wall_clock or not any(metric.startswith(k) for k in PARTS):
            return None
        return lambda lang: drivers_line(self.catalog, frames, metric, lang, to=t.data_date, exact=True)
    def _analog_frames(self, rule: Rule, t: Transition) -> Frames | None:
        """The history a firing's analogs are drawn from: shared rules only, at most ANALOG_BUDGET
        per evaluation (each search replays the rule's history, 10-60 ms; personal alerts can fire
        by the thousand on one print)."""
        if rule.topic == "personal" or t.state != "firing" or self._analogs_left <= 0:
            return None
        self._analogs_left -= 1
        return self.frames

    def _texts(self, rule: Rule, t: Transition, inputs: SignalInputs) -> tuple[str, str]:
        """The event's English text and every language's payload. Rules that differ only in id
        and "why" (personal alerts on one threshold: a print can fire thousands) render and
        serialise once per evaluation; each then gets its own id and "why" put in."""
        previous = previous_print(rule, t, inputs)
        drivers = self._drivers(rule, t, inputs.frames)
        context = alert_context(rule, t, inputs, self.catalog, self._contexts)
        whys = {lang: rule.text("why", lang) or "" for lang in LANGUAGES}
        if not all(whys.values()) or "{rule}" in "".join(
                filter(None, (rule.message, rule.message_zh, rule.resolved_message, rule.resolved_message_zh))):
            messages = render_all(rule, t, self.catalog, previous, drivers, frames=self._analog_frames(rule, t),
                                  context=context)
            return messages["en"].to_text(), payload(messages)
        key = (rule.model_dump_json(exclude={"id", "why", "why_zh"}), tuple(rule.heading(lang) for lang in whys),
               t.state, t.data_date, t.value,
               t.from_regime, t.to_regime, t.extra, t.history, previous, context)
        shared = self._rendered.get(key)
        if shared is None:
            blank = {lang: replace(m, rule_id=_RULE_ID, why=_WHY[lang])
                     for lang, m in render_all(rule, t, self.catalog, previous, drivers,
                                               frames=self._analog_frames(rule, t), context=context).items()}
            shared = self._rendered[key] = (blank["en"].to_text(), payload(blank))
        text, body = shared
        text = text.replace(_RULE_ID, rule.id).replace(_WHY["en"], whys["en"])
        body = body.replace(_RULE_ID, _json_str(rule.id))
        for lang, why in whys.items():
            body = body.replace(_WHY[lang], _json_str(why))
        return text, body

    def _event(self, rule: Rule, t: Transition, inputs: SignalInputs) -> dict[str, Any]:
        text, body = self._texts(rule, t, inputs)
        return {"topic": rule.topic, "severity": rule.severity, "state": t.state,
                "data_date": t.data_date.isoformat(), "value": t.value, "from_regime": t.from_regime,
                "to_regime": t.to_regime, "text": text, "payload": body}

    def _worth_telling(self, rule: Rule, t: Transition, today: date) -> bool:
        if t.state == "resolved" and not rule.notify_resolved:
            return False
        if rule.kind.wall_clock:
            return True  # a staleness alert is about missing data: old by definition
        return (today - t.data_date).days <= self._max_age(rule)

    def evaluate(self, now: datetime, changed: dict[str, str] | None = None) -> list[int]:
        """Step the rules whose metrics changed over their new observations (staleness rules on
        every call); record new states, events and outbox rows; return the new event ids.

        `now` is naive UTC. Replayed history is silent, and no message is ever about data older
        than its metric's cadence allows (weekly 14 days, daily 7 days).
        """
        self.busy = True
        try:
            return self._evaluate(now, changed)
        except NotLeader:
            self.forget()  # the states this pass computed were not recorded: never trust them
            raise
        finally:
            self.busy = False

    def forget(self) -> None:
        """Drop what is held in memory (series, frames, alert states); the next evaluation reads
        the store again and steps every rule from its stored state. Replicas call it on every
        change of leader: meanwhile another replica may have recorded newer states."""
        self._raw, self._forgotten = None, True
        self._held.forget()

    def _evaluate(self, now: datetime, changed: dict[str, str] | None) -> list[int]:
        self._sync_personal(now)
        # This evaluation's routing: subscriptions, mutes and blocked chats as of now, read on first need.
        self._router = Router(Snapshot(self.store, now.isoformat(timespec="seconds")), self.feeds, self.platforms,
                              self.owners)
        metrics = self.refresh(changed)
        settled = self.settled() if self.settled else None
        units = self.catalog.units
        inputs = SignalInputs(self.frames, units)
        stamp = now.isoformat(timespec="seconds")
        states: list[tuple[str, Alert, str | None]] = []
        ids: list[int] = []
        records: list[tuple[str, Alert, list[tuple[dict[str, Any], list[Destination]]], str | None]] = []
        for rule in self.rules:
            if self.stop_requested:
                break
            h, wall_clock, needs = self._meta(rule)
            prev = self._alerts.get(rule.id)
            fresh = prev is None or prev.data_date is None or self._hashes.get(rule.id) not in (h, None)
            if not fresh and not wall_clock and not needs & metrics:
                continue  # nothing new for this rule
            if fresh and not self._ready(rule, settled):
                continue
            try:
                if fresh:
                    recent = timedelta(days=self._max_age(rule))
                    run = first_run(rule, self.frames, units, now, recent, inputs)
                else:
                    assert prev is not None  # not fresh: a stored state exists
                    run = catch_up(rule, self.frames, units, prev, now, inputs)
                notify = [t for t in run.transitions if self._worth_telling(rule, t, now.date())]
                events = [(self._event(rule, t, inputs), self._destinations(rule)) for t in notify]
            except Exception:  # one broken rule must not stop the others' evaluation or delivery
                if (rule.id, h) not in self._failed:  # once, not on every poll
                    self._failed.add((rule.id, h))
                    log.exception("rule %s: evaluation failed (the other rules go on)", log_name(rule.id))
                continue
            for t in run.transitions:
                if t not in notify and t.state != "resolved":
                    log.log(detail_level(rule.id), "alert %s %s on data of %s: not sent (older than the metric's "
                            "cadence allows)", rule.id, t.state, t.data_date)
            if run.alert == prev and not notify and self._hashes.get(rule.id) == h:
                continue
            self._alerts[rule.id], self._hashes[rule.id] = run.alert, h
            if any(t.state == "resolved" for t in run.transitions):  # "/mute ... resolved" ends here
                self._router.resolved(rule.id, rule.topic)
            if not notify:
                states.append((rule.id, run.alert, h))
                continue
            records.append((rule.id, run.alert, events, h))
            for t in notify:
                log.log(detail_level(rule.id), "alert %s %s (data %s, value %s)", rule.id, t.state, t.data_date, t.value)
        inhibited, self._released = inhibited_rules(self.file_rules, self.rules, self._alerts, self.catalog,
                                                    lambda r: self._meta(r)[2]), False
        if self._held.any() or records:
            ids = self._record(records, inhibited, now)
        if states:
            self.store.save_states(states, stamp)
        self.store.set_meta("rules_evaluated_at", stamp)
        self.last_evaluated = now
        if ids or states or self._released:
            for fn in self.after_evaluation:
                fn()
        return ids

    def _record(self, records: list[tuple[str, Alert, list[tuple[dict[str, Any], list[Destination]]], str | None]],
                inhibited: set[str], now: datetime) -> list[int]:
        """Record the evaluation's events: an inhibited rule's without outbox rows (held back);
        held alerts the data no longer holds back are queued or dropped (bot/held.py)."""
        stamp = now.isoformat(timespec="seconds")
        records = [(r, a, [(ev, [] if r in inhibited else d) for ev, d in evs], h) for r, a, evs, h in records]
        rules = {r.id: r for r in self.rules} if self._held.any() else {}
        with self.store.transaction():
            ids = self.store.record_many(records, stamp) if records else []
            events = [(r, ev) for r, _a, evs, _h in records for ev, _d in evs]
            new = [Held(i, r, ev["state"], ev["data_date"], ev.get("to_regime"))
                   for i, (r, ev) in zip(ids, events, strict=True) if r in inhibited]
            self._released, held = self._held.settle(new, inhibited, self._alerts,
                                                     lambda h: self._queue(rules.get(h.rule_id), h, now))
        self._held.keep(held)
        return ids

    def _queue(self, rule: Rule | None, h: Held, now: datetime) -> bool:
        """Queue a held alert for its chats now, unless its rule is gone, its data too old by now,
        or (a firing) its condition no longer holds on the fresh data."""
        if rule is None or (now.date() - date.fromisoformat(h.data_date)).days > self._max_age(rule) \
                or (h.state == "firing" and not holds_now(rule, SignalInputs(self.frames, self.catalog.units))):
            return False
        self.store.enqueue(h.event_id, self._destinations(rule), now.isoformat(timespec="seconds"))
        return True

    def _meta(self, rule: Rule) -> tuple[str, bool, frozenset[str]]:
        """(definition hash, judged on the wall clock (stale), metrics) of a rule, computed once per rule object:
        the loop over 30,000 rules with nothing new for them is then a few dict lookups each."""
        m = self._rule_hashes.get(id(rule))
        if m is None or m[0] is not rule:
            m = self._rule_hashes[id(rule)] = (rule, rule_hash(rule), rule.kind.wall_clock,
                                               frozenset(rule.condition.metrics()))
        return m[1], m[2], m[3]

    def set_rules(self, rules: list[Rule]) -> None:
        """Swap the rules from files (called on the engine's thread, between evaluations);
        personal alerts stay."""
        self.file_rules = list(rules)
        self.rules = self.file_rules + self._personal

