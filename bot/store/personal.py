"""Personal alerts (/alert) and mutes (/mute): per chat, numbered per chat, capped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.store.connection import SQLBase
from bot.store.records import PersonalAdded


class PersonalRepo(SQLBase):
    """Queries of `personal_rules` and `mutes`."""

    def add_personal(self, platform: str, chat_id: str, metric: str, op: str, value: float, for_n: int,
                     now: str, limit: int) -> PersonalAdded | None:
        """A new personal alert (its id and per-chat number), the existing one when this chat
        already has the same alert (`duplicate`), or None when the chat has `limit` of them.

        The cap is part of the INSERT itself and replicas adding for one chat at once
        serialise on a per-chat lock, so no race stores more than `limit`."""
        with self.transaction():
            self._chat_lock(platform, chat_id)
            for pid, number, m, o, v, n in self._rows(
                    "SELECT id, number, metric, op, value, for_n FROM personal_rules WHERE platform = ? AND chat_id = ?",
                    [platform, chat_id]):
                if (m, o, n) == (metric, op, for_n) and abs(v - value) <= 1e-9 * max(1.0, abs(value)):
                    return PersonalAdded(pid, number if number is not None else pid, duplicate=True)
            row = self._one(
                "INSERT INTO personal_rules (platform, chat_id, metric, op, value, for_n, created_at, number)"
                " SELECT ?, ?, ?, ?, ?, ?, ?, (SELECT coalesce(max(number), 0) + 1 FROM personal_rules"
                " WHERE platform = ? AND chat_id = ?)"
                " WHERE (SELECT count(*) FROM personal_rules WHERE platform = ? AND chat_id = ?) < ? RETURNING id, number",
                [platform, chat_id, metric, op, value, for_n, now, platform, chat_id, platform, chat_id, limit])
            if row is None:
                return None
            self._bump_personal()
        return PersonalAdded(row[0], row[1])

    def _chat_lock(self, platform: str, chat_id: str) -> None:
        """Serialise writers of one chat's personal alerts (inside a transaction). SQLite's
        `BEGIN IMMEDIATE` already does; PostgreSQL takes an advisory lock (postgres.py)."""

    def delete_personal(self, platform: str, chat_id: str, number: int) -> bool:
        """Delete this chat's alert #number (its per-chat number) and its stored state."""
        with self.transaction():
            # A row stored without a number (an older replica mid-upgrade) is shown by its id.
            row = self._one("SELECT id FROM personal_rules WHERE platform = ? AND chat_id = ?"
                            " AND (number = ? OR (number IS NULL AND id = ?))", [platform, chat_id, number, number])
            if row is None:
                return False
            self._run("DELETE FROM personal_rules WHERE id = ?", [row[0]])
            self._run("DELETE FROM alert_state WHERE rule_id = ?", [f"personal_{row[0]}"])
            self._run("DELETE FROM mutes WHERE platform = ? AND chat_id = ? AND target = ?",
                      [platform, chat_id, f"personal_{row[0]}"])
            self._bump_personal()
        return True

    def personal_rules(self, platform: str | None = None, chat_id: str | None = None) -> list[tuple[Any, ...]]:
        """(id, platform, chat_id, metric, op, value, for_n, number) rows: one chat's, or everyone's."""
        cols = "SELECT id, platform, chat_id, metric, op, value, for_n, number FROM personal_rules"
        if platform is None:
            return self._rows(cols + " ORDER BY id")
        return self._rows(cols + " WHERE platform = ? AND chat_id = ? ORDER BY number, id", [platform, chat_id])

    def personal_owner(self, rule_id: str) -> tuple[str, str] | None:
        """The chat a `personal_<id>` rule belongs to (None: not a live personal alert)."""
        pid = rule_id.removeprefix("personal_")
        if not pid.isascii() or not pid.isdigit() or len(pid) > 18:
            return None
        row = self._one("SELECT platform, chat_id FROM personal_rules WHERE id = ?", [int(pid)])
        return (row[0], row[1]) if row else None

    def mute(self, platform: str, chat_id: str, target: str, until: str | None, until_resolved: bool,
             now: str) -> None:
        self._run("INSERT INTO mutes (platform, chat_id, target, until, until_resolved, created_at)"
                  " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (platform, chat_id, target) DO UPDATE SET"
                  " until = excluded.until, until_resolved = excluded.until_resolved, created_at = excluded.created_at",
                  [platform, chat_id, target, until, int(until_resolved), now])

    def unmute(self, platform: str, chat_id: str, target: str | None) -> int:
        if target is None:
            return self._run("DELETE FROM mutes WHERE platform = ? AND chat_id = ?", [platform, chat_id])
        return self._run("DELETE FROM mutes WHERE platform = ? AND chat_id = ? AND target = ?",
                         [platform, chat_id, target])

    def mutes(self, now: str, platform: str | None = None, chat_id: str | None = None) -> list[tuple[Any, ...]]:
        """Active mutes: (platform, chat_id, target, until, until_resolved)."""
        sql = ("SELECT platform, chat_id, target, until, until_resolved FROM mutes"
               " WHERE (until_resolved = 1 OR until > ?)")
        if platform is None:
            return self._rows(sql, [now])
        return self._rows(sql + " AND platform = ? AND chat_id = ? ORDER BY target", [now, platform, chat_id])

    def end_resolved_mutes(self, targets: Sequence[str], owner: tuple[str, str] | None = None) -> int:
        """Mutes "until resolved" of a rule (or its topic) end when the rule resolves; a personal
        alert's (`owner` given) end only in its own chat, never another chat's."""
        if owner is not None:
            return sum(self._run("DELETE FROM mutes WHERE until_resolved = 1 AND target = ? AND platform = ?"
                                 " AND chat_id = ?", [t, owner[0], owner[1]]) for t in targets)
        return sum(self._run("DELETE FROM mutes WHERE until_resolved = 1 AND target = ?", [t]) for t in targets)
