"""Rule state and alert events: what each rule last decided, and the events (with their
outbox rows) recorded when it changed."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from bot.rules.lifecycle import Alert, AlertState
from bot.store.connection import SQLBase


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


class AlertsRepo(SQLBase):
    """Queries of `alert_state` and `alert_events` (leader-only writes check the fence)."""

    def rule_hashes(self) -> dict[str, str | None]:
        """Each rule's definition hash as of its stored state."""
        return dict(self._rows("SELECT rule_id, rule_hash FROM alert_state"))

    def load_alerts(self) -> dict[str, Alert]:
        """Every rule's stored alert state."""
        out = {}
        for r in self._dicts("SELECT * FROM alert_state"):
            out[r["rule_id"]] = Alert(
                state=AlertState(r["state"]),
                data_date=date.fromisoformat(r["data_date"]) if r["data_date"] else None,
                count=r["count"], since=date.fromisoformat(r["since"]) if r["since"] else None,
                last_fired_at=datetime.fromisoformat(r["last_fired_at"]) if r["last_fired_at"] else None,
                regime=r["regime"], pending_regime=r["pending_regime"], value=r["value"],
                fired=r["fired"] or 0, first_fired=_day(r["first_fired"]), last_fired=_day(r["last_fired"]))
        return out

    _SAVE_ALERT = (
        "INSERT INTO alert_state (rule_id, state, data_date, count, since, last_fired_at, regime,"
        " pending_regime, value, updated_at, rule_hash, fired, first_fired, last_fired)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (rule_id) DO UPDATE SET state = excluded.state, data_date = excluded.data_date,"
        " count = excluded.count, since = excluded.since, last_fired_at = excluded.last_fired_at,"
        " regime = excluded.regime, pending_regime = excluded.pending_regime, value = excluded.value,"
        " updated_at = excluded.updated_at, rule_hash = excluded.rule_hash, fired = excluded.fired,"
        " first_fired = excluded.first_fired, last_fired = excluded.last_fired")

    @staticmethod
    def _alert_row(rule_id: str, a: Alert, now: str, rule_hash: str | None) -> list[Any]:
        return [rule_id, a.state.value, a.data_date.isoformat() if a.data_date else None, a.count,
                a.since.isoformat() if a.since else None,
                a.last_fired_at.isoformat() if a.last_fired_at else None, a.regime, a.pending_regime, a.value, now,
                rule_hash, a.fired, a.first_fired.isoformat() if a.first_fired else None,
                a.last_fired.isoformat() if a.last_fired else None]

    def _save_alert(self, rule_id: str, a: Alert, now: str, rule_hash: str | None = None) -> None:
        self._run(self._SAVE_ALERT, self._alert_row(rule_id, a, now, rule_hash))

    def save_states(self, states: list[tuple[str, Alert, str | None]], now: str) -> None:
        """Many rules' new states (no events) in one transaction: an evaluation of 15,000 rules
        is one commit, not 15,000."""
        with self.transaction():
            self._check_fence()
            self._many(self._SAVE_ALERT, [self._alert_row(r, a, now, h) for r, a, h in states])

    def record(self, rule_id: str, alert: Alert, events: list[tuple[dict[str, Any], list[tuple[str, str, str]]]],
               now: str, rule_hash: str | None = None) -> list[int]:
        """Save a rule's new state, its events and their outbox rows in one transaction.

        `events` is [(event fields, [(platform, chat_id, reason), ...])]. A crash before the
        commit loses nothing: the state is not advanced either, so the next run redoes it.
        """
        ids = []
        with self.transaction():
            self._save_alert(rule_id, alert, now, rule_hash)
            for ev, destinations in events:
                eid = self._insert_id(
                    "INSERT INTO alert_events (rule_id, topic, severity, state, data_date, value, from_regime,"
                    " to_regime, text, payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    [rule_id, ev["topic"], ev["severity"], ev["state"], ev["data_date"], ev["value"],
                     ev.get("from_regime"), ev.get("to_regime"), ev["text"], ev.get("payload"), now])
                ids.append(eid)
                if destinations:
                    self._many(
                        "INSERT INTO outbox (event_id, platform, chat_id, reason, created_at) VALUES (?, ?, ?, ?, ?)"
                        " ON CONFLICT DO NOTHING",
                        [(eid, p, c, reason, now) for p, c, reason in destinations])
        return ids

    def record_many(self, records: list[tuple[str, Alert, list[tuple[dict[str, Any], list[tuple[str, str, str]]]], str | None]],
                    now: str) -> list[int]:
        """`record` for many rules in one transaction (thousands of personal alerts firing on
        one print cost one commit)."""
        ids: list[int] = []
        with self.transaction():
            self._check_fence()
            for rule_id, alert, events, rule_hash in records:
                ids += self.record(rule_id, alert, events, now, rule_hash)
        return ids

    def recent_events(self, topic: str | None = None, limit: int = 10) -> list[dict[str, Any]]:
        """Newest alert events first, optionally for one topic (every chat's: not for chat replies,
        see `chat_history`)."""
        if topic:
            return self._dicts("SELECT * FROM alert_events WHERE topic = ? ORDER BY id DESC LIMIT ?", [topic, limit])
        return self._dicts("SELECT * FROM alert_events WHERE rule_id <> 'digest' ORDER BY id DESC LIMIT ?", [limit])

    def chat_history(self, platform: str, chat_id: str, topic: str | None = None, limit: int = 10) -> list[dict[str, Any]]:
        """What one chat's /history may show, newest first: the shared rules' events and this chat's
        own personal alerts' (never another chat's), with the personal alert's per-chat number."""
        where = "e.rule_id <> 'digest' AND (e.topic <> 'personal' OR p.id IS NOT NULL)"
        params: list[Any] = [platform, chat_id]
        if topic:
            where += " AND e.topic = ?"
            params.append(topic)
        return self._dicts(
            "SELECT e.*, p.number AS personal_number FROM alert_events e LEFT JOIN personal_rules p"
            " ON e.topic = 'personal' AND e.rule_id = 'personal_' || p.id AND p.platform = ? AND p.chat_id = ?"
            f" WHERE {where} ORDER BY e.id DESC LIMIT ?", [*params, limit])

    def event(self, event_id: int) -> dict[str, Any] | None:
        """One alert event's rule and topic (the buttons under an alert name its event)."""
        rows = self._dicts("SELECT id, rule_id, topic, state, data_date FROM alert_events WHERE id = ?", [event_id])
        return rows[0] if rows else None

    def firing_rules(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT rule_id FROM alert_state WHERE state = 'firing' ORDER BY rule_id")]

    def regimes(self) -> dict[str, str]:
        return dict(self._rows("SELECT rule_id, regime FROM alert_state WHERE regime IS NOT NULL"))
