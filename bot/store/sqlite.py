"""SQLite store (sqlite-utils): observations with vintages, fetch log, alerts, chats, outbox.

All SQL is parameterised. One connection, used from one thread at a time (the event loop);
WAL lets a second process (e.g. `liquidity-bot status`) read while the bot writes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from sqlite_utils import Database

from bot.rules.lifecycle import Alert, AlertState

if TYPE_CHECKING:
    from bot.catalog import Catalog
    from bot.metrics import Frames
from bot.store.migrations import migrations


@dataclass(frozen=True)
class FetchRecord:
    source: str
    started_at: str
    finished_at: str
    rows: int
    data_date: str | None
    error: str | None


@dataclass(frozen=True)
class OutboxRow:
    id: int
    event_id: int
    platform: str
    chat_id: str
    attempts: int
    text: str
    rule_id: str
    topic: str
    state: str
    payload: str | None = None


class Store:
    """The bot's state in one SQLite file."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
        self.db = Database(conn)
        if self.path != ":memory:":
            self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        migrations.apply(self.db)

    def close(self) -> None:
        self.db.close()

    # ---- observations -------------------------------------------------------------------
    def latest_map(self, series: str) -> dict[str, float]:
        """{date: newest value} for one series."""
        return dict(self.db.execute("SELECT date, value FROM latest WHERE series = ?", [series]).fetchall())

    def add_observations(self, series: str, rows: Iterable[tuple[str, float]], *, source: str,
                         vintage: str, known: dict[str, float] | None = None) -> list[str]:
        """Store new and revised values (a revision is a new vintage row); return their dates.

        Values equal to the newest stored one for the date are skipped, so re-reading the
        same file or an overlapping window adds nothing. `known` is `latest_map(series)` when
        the caller already has it.
        """
        if known is None:
            known = self.latest_map(series)
        fresh = [(d, float(v)) for d, v in rows if known.get(d) is None or abs(known[d] - v) > 1e-9 * max(1.0, abs(v))]
        if not fresh:
            return []
        with self.db.atomic():
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO observations (series, date, vintage, value, source) VALUES (?, ?, ?, ?, ?)",
                [(series, d, vintage, v, source) for d, v in fresh])
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO latest (series, date, value, vintage) VALUES (?, ?, ?, ?)",
                [(series, d, v, vintage) for d, v in fresh])
        return [d for d, _ in fresh]

    def last_date(self, series: str) -> str | None:
        """Newest observation date stored for a series."""
        row = self.db.execute("SELECT max(date) FROM latest WHERE series = ?", [series]).fetchone()
        return row[0]

    def series_since(self, series: str, since: str | None) -> list[tuple[str, float]]:
        """Newest values of one series dated on or after `since` (all when None), by date."""
        if since is None:
            return self.db.execute("SELECT date, value FROM latest WHERE series = ? ORDER BY date", [series]).fetchall()
        return self.db.execute("SELECT date, value FROM latest WHERE series = ? AND date >= ? ORDER BY date",
                               [series, since]).fetchall()

    def load_series(self, series: Sequence[str]) -> dict[str, pd.Series]:
        """Newest vintage of each series as a float Series indexed by date (sorted)."""
        out: dict[str, pd.Series] = {}
        for sid in series:
            rows = self.db.execute(
                "SELECT date, value FROM latest WHERE series = ? ORDER BY date", [sid]).fetchall()
            if rows:
                dates, values = zip(*rows)
                out[sid] = pd.Series(values, index=pd.DatetimeIndex(dates), dtype=float, name=sid)
        return out

    def frames(self, catalog: "Catalog") -> "Frames":
        """Every catalog metric computed from the newest stored values (see bot.metrics)."""
        from bot.metrics import compute_metrics, needed_series

        return compute_metrics(catalog, self.load_series(needed_series(catalog)))

    def revisions(self, series: str, date: str) -> list[tuple[str, float]]:
        """All vintages of one observation, oldest first."""
        return self.db.execute(
            "SELECT vintage, value FROM observations WHERE series = ? AND date = ? ORDER BY vintage",
            [series, date]).fetchall()

    def observation_count(self) -> int:
        return self.db.execute("SELECT count(*) FROM observations").fetchone()[0]

    # ---- fetch log ----------------------------------------------------------------------
    def log_fetch(self, rec: FetchRecord) -> None:
        self.db.execute(
            "INSERT INTO fetch_log (source, started_at, finished_at, rows, data_date, error) VALUES (?, ?, ?, ?, ?, ?)",
            [rec.source, rec.started_at, rec.finished_at, rec.rows, rec.data_date, rec.error])

    def last_fetches(self) -> dict[str, dict]:
        """Per source: the last attempt and the last success."""
        out: dict[str, dict] = {}
        for source, in self.db.execute("SELECT DISTINCT source FROM fetch_log").fetchall():
            last = self.db.execute(
                "SELECT finished_at, rows, error FROM fetch_log WHERE source = ? ORDER BY id DESC LIMIT 1",
                [source]).fetchone()
            ok = self.db.execute(
                "SELECT finished_at FROM fetch_log WHERE source = ? AND error IS NULL ORDER BY id DESC LIMIT 1",
                [source]).fetchone()
            out[source] = {"last_attempt": last[0], "last_rows": last[1], "last_error": last[2],
                           "last_success": ok[0] if ok else None}
        return out

    # ---- alerts -------------------------------------------------------------------------
    def rule_hashes(self) -> dict[str, str | None]:
        """Each rule's definition hash as of its stored state."""
        return dict(self.db.execute("SELECT rule_id, rule_hash FROM alert_state").fetchall())

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        [key, value])

    def load_alerts(self) -> dict[str, Alert]:
        """Every rule's stored alert state."""
        out = {}
        for r in self.db.execute_returning_dicts("SELECT * FROM alert_state"):
            out[r["rule_id"]] = Alert(
                state=AlertState(r["state"]),
                data_date=date.fromisoformat(r["data_date"]) if r["data_date"] else None,
                count=r["count"], since=date.fromisoformat(r["since"]) if r["since"] else None,
                last_fired_at=datetime.fromisoformat(r["last_fired_at"]) if r["last_fired_at"] else None,
                regime=r["regime"], pending_regime=r["pending_regime"], value=r["value"])
        return out

    _SAVE_ALERT = ("INSERT OR REPLACE INTO alert_state (rule_id, state, data_date, count, since, last_fired_at, regime,"
                   " pending_regime, value, updated_at, rule_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")

    @staticmethod
    def _alert_row(rule_id: str, a: Alert, now: str, rule_hash: str | None) -> list:
        return [rule_id, a.state.value, a.data_date.isoformat() if a.data_date else None, a.count,
                a.since.isoformat() if a.since else None,
                a.last_fired_at.isoformat() if a.last_fired_at else None, a.regime, a.pending_regime, a.value, now,
                rule_hash]

    def _save_alert(self, rule_id: str, a: Alert, now: str, rule_hash: str | None = None) -> None:
        self.db.execute(self._SAVE_ALERT, self._alert_row(rule_id, a, now, rule_hash))

    def save_states(self, states: list[tuple[str, Alert, str | None]], now: str) -> None:
        """Many rules' new states (no events) in one transaction: an evaluation of 15,000 rules
        is one commit, not 15,000."""
        with self.db.atomic():
            self.db.conn.executemany(self._SAVE_ALERT, [self._alert_row(r, a, now, h) for r, a, h in states])

    def record(self, rule_id: str, alert: Alert, events: list[tuple[dict, list[tuple[str, str, str]]]],
               now: str, rule_hash: str | None = None) -> list[int]:
        """Save a rule's new state, its events and their outbox rows in one transaction.

        `events` is [(event fields, [(platform, chat_id, reason), ...])]. A crash before the
        commit loses nothing: the state is not advanced either, so the next run redoes it.
        """
        ids = []
        with self.db.atomic():
            self._save_alert(rule_id, alert, now, rule_hash)
            for ev, destinations in events:
                cur = self.db.execute(
                    "INSERT INTO alert_events (rule_id, topic, severity, state, data_date, value, from_regime,"
                    " to_regime, text, payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [rule_id, ev["topic"], ev["severity"], ev["state"], ev["data_date"], ev["value"],
                     ev.get("from_regime"), ev.get("to_regime"), ev["text"], ev.get("payload"), now])
                ids.append(cur.lastrowid)
                self.db.conn.executemany(
                    "INSERT OR IGNORE INTO outbox (event_id, platform, chat_id, reason, created_at) VALUES (?, ?, ?, ?, ?)",
                    [(cur.lastrowid, p, c, reason, now) for p, c, reason in destinations])
        return ids

    def recent_events(self, topic: str | None = None, limit: int = 10) -> list[dict]:
        """Newest alert events first, optionally for one topic."""
        if topic:
            return self.db.execute_returning_dicts(
                "SELECT * FROM alert_events WHERE topic = ? ORDER BY id DESC LIMIT ?", [topic, limit])
        return self.db.execute_returning_dicts("SELECT * FROM alert_events ORDER BY id DESC LIMIT ?", [limit])

    def firing_rules(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT rule_id FROM alert_state WHERE state = 'firing' ORDER BY rule_id")]

    def regimes(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT rule_id, regime FROM alert_state WHERE regime IS NOT NULL").fetchall())

    # ---- chats and subscriptions ----------------------------------------------------------
    def ensure_chat(self, platform: str, chat_id: str, kind: str, title: str | None, now: str) -> None:
        self.db.execute(
            "INSERT INTO chats (platform, chat_id, kind, title, created_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (platform, chat_id) DO UPDATE SET kind = excluded.kind, title = excluded.title,"
            " active = 1, inactive_reason = NULL",
            [platform, chat_id, kind, title, now])

    def subscribe(self, platform: str, chat_id: str, topic: str, now: str) -> bool:
        """Add a subscription; False if it already existed."""
        cur = self.db.execute(
            "INSERT OR IGNORE INTO subscriptions (platform, chat_id, topic, created_at) VALUES (?, ?, ?, ?)",
            [platform, chat_id, topic, now])
        return cur.rowcount > 0

    def unsubscribe(self, platform: str, chat_id: str, topic: str | None) -> int:
        """Remove one topic (or all when None); return how many were removed."""
        if topic is None:
            cur = self.db.execute("DELETE FROM subscriptions WHERE platform = ? AND chat_id = ?", [platform, chat_id])
        else:
            cur = self.db.execute("DELETE FROM subscriptions WHERE platform = ? AND chat_id = ? AND topic = ?",
                                  [platform, chat_id, topic])
        return cur.rowcount

    def subscriptions(self, platform: str, chat_id: str) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT topic FROM subscriptions WHERE platform = ? AND chat_id = ? ORDER BY topic", [platform, chat_id])]

    def subscribers(self, topic: str) -> list[tuple[str, str]]:
        """Active chats subscribed to a topic or to `all`."""
        return [tuple(r) for r in self.db.execute(
            "SELECT DISTINCT s.platform, s.chat_id FROM subscriptions s JOIN chats c"
            " ON c.platform = s.platform AND c.chat_id = s.chat_id"
            " WHERE c.active = 1 AND s.topic IN (?, 'all') ORDER BY s.platform, s.chat_id", [topic])]

    def deactivate_chat(self, platform: str, chat_id: str, reason: str) -> None:
        """A chat that blocked or removed the bot: keep its rows, stop sending to it."""
        with self.db.atomic():
            self.db.execute("UPDATE chats SET active = 0, inactive_reason = ? WHERE platform = ? AND chat_id = ?",
                            [reason, platform, chat_id])
            self.db.execute("UPDATE outbox SET status = 'failed', last_error = ? WHERE platform = ? AND chat_id = ?"
                            " AND status = 'pending'", [f"chat inactive: {reason}", platform, chat_id])

    def migrate_chat(self, platform: str, old_id: str, new_id: str) -> None:
        """A group became a supergroup: its subscriptions and pending deliveries follow it."""
        with self.db.atomic():
            self.db.execute("UPDATE OR IGNORE chats SET chat_id = ? WHERE platform = ? AND chat_id = ?",
                            [new_id, platform, old_id])
            self.db.execute("UPDATE OR IGNORE subscriptions SET chat_id = ? WHERE platform = ? AND chat_id = ?",
                            [new_id, platform, old_id])
            self.db.execute("UPDATE OR IGNORE outbox SET chat_id = ? WHERE platform = ? AND chat_id = ? AND status = 'pending'",
                            [new_id, platform, old_id])

    # ---- outbox ---------------------------------------------------------------------------
    def due_outbox(self, platform: str, now: str, limit: int = 5000) -> list[OutboxRow]:
        """Pending rows whose retry time has come, in event order per chat.

        A row waits while an earlier row for the same chat is still waiting for its retry,
        so a chat never sees "resolved" before "firing".
        """
        rows = self.db.execute(
            "SELECT o.id, o.event_id, o.platform, o.chat_id, o.attempts, e.text, e.rule_id, e.topic, e.state,"
            " e.payload FROM outbox o JOIN alert_events e ON e.id = o.event_id"
            " WHERE o.status = 'pending' AND o.platform = ? AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= ?)"
            " AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.platform = o.platform AND p.chat_id = o.chat_id"
            "   AND p.status = 'pending' AND p.id < o.id AND p.next_attempt_at > ?)"
            " ORDER BY o.id LIMIT ?", [platform, now, now, limit]).fetchall()
        return [OutboxRow(*r) for r in rows]

    def failed_outbox(self, limit: int = 20) -> list[dict]:
        """The newest failed deliveries with their errors."""
        return self.db.execute_returning_dicts(
            "SELECT o.id, o.platform, o.chat_id, o.attempts, o.last_error, e.rule_id, e.state, o.created_at"
            " FROM outbox o JOIN alert_events e ON e.id = o.event_id WHERE o.status = 'failed'"
            " ORDER BY o.id DESC LIMIT ?", [limit])

    def mark_sent(self, row_id: int, now: str) -> None:
        self.db.execute("UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1 WHERE id = ?",
                        [now, row_id])

    def mark_retry(self, row_id: int, next_at: str, error: str) -> None:
        self.db.execute("UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?",
                        [next_at, error, row_id])

    def mark_failed(self, row_id: int, error: str) -> None:
        self.db.execute("UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?",
                        [error, row_id])

    def outbox_counts(self) -> dict[str, int]:
        counts = dict(self.db.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())
        return {k: counts.get(k, 0) for k in ("pending", "sent", "failed")}

    def prune(self, before: str) -> dict[str, int]:
        """Delete sent outbox rows, alert events without undelivered rows, and fetch log rows
        older than `before` (ISO); alert state, observations and failed deliveries are kept."""
        with self.db.atomic():
            sent = self.db.execute("DELETE FROM outbox WHERE status = 'sent' AND created_at < ?", [before]).rowcount
            events = self.db.execute(
                "DELETE FROM alert_events WHERE created_at < ? AND NOT EXISTS"
                " (SELECT 1 FROM outbox o WHERE o.event_id = alert_events.id)", [before]).rowcount
            fetches = self.db.execute("DELETE FROM fetch_log WHERE finished_at < ?", [before]).rowcount
        return {"outbox": sent, "alert_events": events, "fetch_log": fetches}

    def retry_failed(self) -> int:
        """Put failed rows of active chats back in the queue; return how many."""
        cur = self.db.execute(
            "UPDATE outbox SET status = 'pending', next_attempt_at = NULL, attempts = 0 WHERE status = 'failed'"
            " AND NOT EXISTS (SELECT 1 FROM chats c WHERE c.platform = outbox.platform AND c.chat_id = outbox.chat_id"
            " AND c.active = 0)")
        return cur.rowcount

    # --- polling --- release observations (bot/release.py learns from these) ------------
    def record_release_seen(self, release: str, day: str, seen_at: str, delay_seconds: float | None) -> bool:
        """Record when `release`'s new data first appeared on ET `day`; False if already recorded."""
        cur = self.db.execute(
            "INSERT INTO release_seen (release, day, seen_at, delay_seconds) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (release, day) DO NOTHING", [release, day, seen_at, delay_seconds])
        return cur.rowcount > 0

    def release_seen(self, release: str, limit: int = 40) -> list[dict]:
        """The most recent observations of `release`, oldest first: {day, seen_at, delay_seconds}."""
        rows = self.db.execute(
            "SELECT day, seen_at, delay_seconds FROM release_seen WHERE release = ? ORDER BY day DESC LIMIT ?",
            [release, limit]).fetchall()
        return [{"day": d, "seen_at": s, "delay_seconds": x} for d, s, x in reversed(rows)]
