"""Chats and their subscriptions: settings (language, quiet hours, digest), digests queued,
and a chat leaving (blocked the bot) or changing id (group became a supergroup)."""

from __future__ import annotations

from typing import Any

from bot.store.connection import SQLBase


class ChatsRepo(SQLBase):
    """Queries of `chats` and `subscriptions` (and the rows that follow a chat when it moves)."""

    def ensure_chat(self, platform: str, chat_id: str, kind: str, title: str | None, now: str) -> None:
        self._run(
            "INSERT INTO chats (platform, chat_id, kind, title, created_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (platform, chat_id) DO UPDATE SET kind = excluded.kind, title = excluded.title,"
            " active = 1, inactive_reason = NULL",
            [platform, chat_id, kind, title, now])

    def set_language(self, platform: str, chat_id: str, language: str | None) -> None:
        """A chat's language for replies and alerts (the chat row must exist: ensure_chat)."""
        self._run("UPDATE chats SET lang = ? WHERE platform = ? AND chat_id = ?", [language, platform, chat_id])

    def set_chat_setting(self, platform: str, chat_id: str, column: str, value: str | None) -> None:
        """quiet, digest or digest_last of a chat (the chat row must exist: ensure_chat)."""
        if column not in ("quiet", "digest", "digest_last"):  # column names are never user text
            raise ValueError(column)
        self._run(f"UPDATE chats SET {column} = ? WHERE platform = ? AND chat_id = ?", [value, platform, chat_id])

    def language(self, platform: str, chat_id: str) -> str | None:
        row = self._one("SELECT lang FROM chats WHERE platform = ? AND chat_id = ?", [platform, chat_id])
        return row[0] if row else None

    def chat_settings(self, platform: str, chat_id: str) -> tuple[str | None, str | None, str | None]:
        """One chat's (language, quiet hours, digest) as stored; all None for an unknown chat."""
        row = self._one("SELECT lang, quiet, digest FROM chats WHERE platform = ? AND chat_id = ?", [platform, chat_id])
        return (row[0], row[1], row[2]) if row else (None, None, None)

    def chat_events(self, platform: str, chat_id: str, since: str, limit: int = 30) -> list[dict[str, Any]]:
        """Alerts queued for one chat since `since` (UTC), oldest first: what its digest lists."""
        return self._dicts(
            "SELECT e.rule_id, e.topic, e.state, e.data_date, e.text, e.payload, e.created_at FROM outbox o"
            " JOIN alert_events e ON e.id = o.event_id WHERE o.platform = ? AND o.chat_id = ? AND e.created_at > ?"
            " AND e.rule_id <> 'digest' ORDER BY e.id LIMIT ?", [platform, chat_id, since, limit])

    def enqueue_digest(self, platform: str, chat_id: str, text: str, payload: str, now: str, covered: str) -> int:
        """A digest as an event with one outbox row (delivered, retried and rate-limited like an
        alert), and the chat's digest_last moved to `covered`, in one transaction."""
        with self.transaction():
            self._check_fence()
            eid = self._insert_id(
                "INSERT INTO alert_events (rule_id, topic, severity, state, data_date, value, text, payload, created_at)"
                " VALUES ('digest', 'digest', 'info', 'digest', ?, NULL, ?, ?, ?) RETURNING id",
                [covered[:10], text, payload, now])
            self._run("INSERT INTO outbox (event_id, platform, chat_id, reason, created_at) VALUES (?, ?, ?, ?, ?)",
                      [eid, platform, chat_id, "digest", now])
            self._run("UPDATE chats SET digest_last = ? WHERE platform = ? AND chat_id = ?", [covered, platform, chat_id])
        return eid

    def digests(self) -> list[tuple[str, str, str, str | None, str | None]]:
        """Active chats with a digest: (platform, chat_id, digest, digest_last, lang)."""
        return self._rows("SELECT platform, chat_id, digest, digest_last, lang FROM chats"
                          " WHERE digest IS NOT NULL AND active = 1 ORDER BY platform, chat_id")

    def subscribe(self, platform: str, chat_id: str, topic: str, now: str) -> bool:
        """Add a subscription; False if it already existed."""
        return self._run(
            "INSERT INTO subscriptions (platform, chat_id, topic, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING", [platform, chat_id, topic, now]) > 0

    def unsubscribe(self, platform: str, chat_id: str, topic: str | None) -> int:
        """Remove one topic (or all when None); return how many were removed."""
        if topic is None:
            return self._run("DELETE FROM subscriptions WHERE platform = ? AND chat_id = ?", [platform, chat_id])
        return self._run("DELETE FROM subscriptions WHERE platform = ? AND chat_id = ? AND topic = ?",
                         [platform, chat_id, topic])

    def subscriptions(self, platform: str, chat_id: str) -> list[str]:
        return [r[0] for r in self._rows(
            "SELECT topic FROM subscriptions WHERE platform = ? AND chat_id = ? ORDER BY topic", [platform, chat_id])]

    def subscribers(self, topic: str) -> list[tuple[str, str]]:
        """Active chats subscribed to a topic or to `all`."""
        return self._rows(
            "SELECT DISTINCT s.platform, s.chat_id FROM subscriptions s JOIN chats c"
            " ON c.platform = s.platform AND c.chat_id = s.chat_id"
            " WHERE c.active = 1 AND s.topic IN (?, 'all') ORDER BY s.platform, s.chat_id", [topic])

    def inactive_chats(self) -> set[tuple[str, str]]:
        """Chats that blocked or removed the bot (their personal alerts are not queued)."""
        return {(p, c) for p, c in self._rows("SELECT platform, chat_id FROM chats WHERE active = 0")}

    def deactivate_chat(self, platform: str, chat_id: str, reason: str) -> None:
        """A chat that blocked or removed the bot: keep its rows, stop sending to it."""
        with self.transaction():
            self._run("UPDATE chats SET active = 0, inactive_reason = ? WHERE platform = ? AND chat_id = ?",
                      [reason, platform, chat_id])
            self._run("UPDATE outbox SET status = 'failed', last_error = ? WHERE platform = ? AND chat_id = ?"
                      " AND status IN ('pending', 'held')", [f"chat inactive: {reason}", platform, chat_id])

    def migrate_chat(self, platform: str, old_id: str, new_id: str) -> None:
        """A group became a supergroup: its subscriptions and pending deliveries follow it.

        Rows that would collide with one the new id already has stay behind (portable form of
        SQLite's `UPDATE OR IGNORE`).
        """
        with self.transaction():
            self._run("UPDATE chats SET chat_id = ? WHERE platform = ? AND chat_id = ?"
                      " AND NOT EXISTS (SELECT 1 FROM chats c2 WHERE c2.platform = ? AND c2.chat_id = ?)",
                      [new_id, platform, old_id, platform, new_id])
            self._run("UPDATE subscriptions SET chat_id = ? WHERE platform = ? AND chat_id = ?"
                      " AND NOT EXISTS (SELECT 1 FROM subscriptions s2 WHERE s2.platform = subscriptions.platform"
                      " AND s2.chat_id = ? AND s2.topic = subscriptions.topic)",
                      [new_id, platform, old_id, new_id])
            # Numbers the moved alerts after any the new id already has (numbers are unique per chat).
            top = self._one("SELECT coalesce(max(number), 0) FROM personal_rules WHERE platform = ? AND chat_id = ?",
                            [platform, new_id])
            self._run("UPDATE personal_rules SET chat_id = ?, number = number + ? WHERE platform = ? AND chat_id = ?",
                      [new_id, top[0] if top else 0, platform, old_id])
            self._run("UPDATE mutes SET chat_id = ? WHERE platform = ? AND chat_id = ? AND NOT EXISTS (SELECT 1 FROM"
                      " mutes m2 WHERE m2.platform = mutes.platform AND m2.chat_id = ? AND m2.target = mutes.target)",
                      [new_id, platform, old_id, new_id])
            self._bump_personal()
            self._run("UPDATE outbox SET chat_id = ? WHERE platform = ? AND chat_id = ? AND status IN ('pending', 'held')"
                      " AND NOT EXISTS (SELECT 1 FROM outbox o2 WHERE o2.platform = outbox.platform"
                      " AND o2.chat_id = ? AND o2.event_id = outbox.event_id)",
                      [new_id, platform, old_id, new_id])
