"""The outbox: alert deliveries waiting, claimed, sent, held (quiet hours) or failed, and
the platform send pace replicas share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.store.connection import SQLBase
from bot.store.records import OutboxRow

# An outbox row as delivery reads it: the row, its event, and its chat's language and quiet hours.
_OUTBOX_SELECT = ("SELECT o.id, o.event_id, o.platform, o.chat_id, o.attempts, e.text, e.rule_id, e.topic, e.state,"
                  " e.payload, c.lang AS language, e.severity, c.quiet AS quiet, o.created_at AS batch"
                  " FROM outbox o JOIN alert_events e ON e.id = o.event_id"
                  " LEFT JOIN chats c ON c.platform = o.platform AND c.chat_id = o.chat_id")


def due_first_of_chat(earlier: str = "") -> str:
    """WHERE clause: a platform's due rows (parameters: platform, now, now) not under a live lease and
    with no earlier pending row of their chat that also matches `earlier` (SQLite: one still waiting or
    claimed; PostgreSQL: any, its claim passing over locked rows)."""
    return (" WHERE o.status IN ('pending', 'held') AND o.platform = ? AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= ?)"
            " AND (o.claimed_until IS NULL OR o.claimed_until <= ?)"
            " AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.platform = o.platform AND p.chat_id = o.chat_id"
            f"   AND p.status = 'pending' AND p.id < o.id{earlier})")


class OutboxRepo(SQLBase):
    """Queries of `outbox` and `send_pace` (and pruning old delivered rows)."""

    def due_outbox(self, platform: str, now: str, limit: int = 5000) -> list[OutboxRow]:
        """Pending rows whose retry time has come, in event order per chat.

        A row waits while an earlier row for the same chat is still waiting for its retry,
        so a chat never sees "resolved" before "firing".
        """
        rows = self._rows(
            f"{_OUTBOX_SELECT}"
            " WHERE o.status IN ('pending', 'held') AND o.platform = ? AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= ?)"
            " AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.platform = o.platform AND p.chat_id = o.chat_id"
            "   AND p.status = 'pending' AND p.id < o.id AND p.next_attempt_at > ?)"
            " ORDER BY o.id LIMIT ?", [platform, now, now, limit])
        return [OutboxRow(*r) for r in rows]

    def claim_outbox(self, platform: str, now: str, owner: str, lease_until: str,
                     limit: int = 5000) -> list[OutboxRow]:
        """Claim due rows for `owner` until `lease_until` and return them (see subclasses).

        A claimed row is skipped by other deliverers until its lease passes, so a replica
        that died mid-send has its rows taken over after the lease.
        """
        with self.transaction():
            rows = self._claimable(platform, now, limit)
            if rows:
                self._many("UPDATE outbox SET claimed_by = ?, claimed_until = ? WHERE id = ?",
                           [(owner, lease_until, r.id) for r in rows])
        return rows

    def _claimable(self, platform: str, now: str, limit: int) -> list[OutboxRow]:
        # Single instance (SQLite): the due rows not under another live lease.
        rows = self._rows(
            f"{_OUTBOX_SELECT}{due_first_of_chat(' AND (p.next_attempt_at > ? OR p.claimed_until > ?)')}"
            " ORDER BY o.id LIMIT ?", [platform, now, now, now, now, limit])
        return [OutboxRow(*r) for r in rows]

    def release_claims(self, ids: Sequence[int]) -> None:
        """Give claimed rows back unsent (a chat's later rows behind one waiting for a retry)."""
        self._many("UPDATE outbox SET claimed_by = NULL, claimed_until = NULL WHERE id = ?", [(i,) for i in ids])

    def claimed_count(self, now: str) -> int:
        """Pending rows under a live lease (being sent by some replica)."""
        count: int = self._value("SELECT count(*) FROM outbox WHERE status = 'pending' AND claimed_until > ?", [now])
        return count

    def failed_outbox(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest failed deliveries with their errors."""
        return self._dicts(
            "SELECT o.id, o.platform, o.chat_id, o.attempts, o.last_error, e.rule_id, e.state, o.created_at"
            " FROM outbox o JOIN alert_events e ON e.id = o.event_id WHERE o.status = 'failed'"
            " ORDER BY o.id DESC LIMIT ?", [limit])

    def mark_sent(self, row_id: int, now: str) -> None:
        self._run("UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, claimed_until = NULL"
                  " WHERE id = ?", [now, row_id])

    def enqueue(self, event_id: int, destinations: Sequence[tuple[str, str, str]], now: str) -> None:
        """Outbox rows for an event recorded earlier (an alert held back by stale data, now due)."""
        self._many("INSERT INTO outbox (event_id, platform, chat_id, reason, created_at) VALUES (?, ?, ?, ?, ?)"
                   " ON CONFLICT DO NOTHING", [(event_id, p, c, reason, now) for p, c, reason in destinations])

    def mark_sent_many(self, row_ids: Sequence[int], now: str) -> None:
        """A grouped message's rows, sent together: recorded together, so none is sent twice."""
        with self.transaction():
            for row_id in row_ids:
                self.mark_sent(row_id, now)

    def mark_retry(self, row_id: int, next_at: str, error: str) -> None:
        self._run("UPDATE outbox SET status = 'pending', attempts = attempts + 1, next_attempt_at = ?, last_error = ?,"
                  " claimed_until = NULL WHERE id = ?", [next_at, error, row_id])

    def hold(self, row_id: int, until: str, reason: str) -> None:
        """Keep a row back until `until` (quiet hours) without blocking the chat's later rows:
        a critical alert behind it still goes through."""
        self._run("UPDATE outbox SET status = 'held', next_attempt_at = ?, last_error = ?, claimed_until = NULL"
                  " WHERE id = ?", [until, reason, row_id])

    def mark_failed(self, row_id: int, error: str) -> None:
        self._run("UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?, claimed_until = NULL"
                  " WHERE id = ?", [error, row_id])

    def outbox_counts(self) -> dict[str, int]:
        counts = dict(self._rows("SELECT status, count(*) FROM outbox GROUP BY status"))
        out = {k: counts.get(k, 0) for k in ("pending", "sent", "failed")}
        if counts.get("held"):
            out["held"] = counts["held"]  # quiet hours
        return out

    def retry_failed(self) -> int:
        """Put failed rows of active chats back in the queue; return how many."""
        return self._run(
            "UPDATE outbox SET status = 'pending', next_attempt_at = NULL, attempts = 0, claimed_until = NULL"
            " WHERE status = 'failed'"
            " AND NOT EXISTS (SELECT 1 FROM chats c WHERE c.platform = outbox.platform AND c.chat_id = outbox.chat_id"
            " AND c.active = 0)")

    def prune(self, before: str) -> dict[str, int]:
        """Delete sent outbox rows, alert events without undelivered rows, and fetch log rows
        older than `before` (ISO); alert state, observations and failed deliveries are kept."""
        with self.transaction():
            sent = self._run("DELETE FROM outbox WHERE status = 'sent' AND created_at < ?", [before])
            events = self._run(
                "DELETE FROM alert_events WHERE created_at < ? AND NOT EXISTS"
                " (SELECT 1 FROM outbox o WHERE o.event_id = alert_events.id)", [before])
            fetches = self._run("DELETE FROM fetch_log WHERE finished_at < ?", [before])
        return {"outbox": sent, "alert_events": events, "fetch_log": fetches}

    def reserve_send_slot(self, platform: str, now: float, interval: float) -> float:
        """Reserve the platform's next send slot, `interval` seconds after the previous one
        (or `now`); return when to send (epoch seconds). One atomic UPDATE, so replicas
        reserving together get distinct, evenly spaced slots (GCRA / virtual scheduling)."""
        sql = ("UPDATE send_pace SET next_at = (CASE WHEN next_at > ? THEN next_at ELSE ? END) + ?"
               " WHERE platform = ? RETURNING next_at")
        row = self._one(sql, [now, now, interval, platform])
        if row is None:
            self._run("INSERT INTO send_pace (platform, next_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                      [platform, now])
            row = self._one(sql, [now, now, interval, platform])
        assert row is not None  # the INSERT above made the platform's row
        slot: float = row[0] - interval
        return slot
