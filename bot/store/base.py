"""The store's SQL, written once for SQLite and PostgreSQL.

`SQLStore` holds every query; a subclass supplies the connection and a tiny dialect layer:

* placeholders: queries use `?`; the PostgreSQL store rewrites them to `%s` (`_sql`);
* upserts: portable `INSERT ... ON CONFLICT (...) DO UPDATE SET x = excluded.x` / `DO NOTHING`
  (both databases speak it; never `INSERT OR REPLACE`);
* new ids: `INSERT ... RETURNING id` (SQLite >= 3.35, PostgreSQL);
* row locks: `_skip_locked` is `FOR UPDATE SKIP LOCKED` on PostgreSQL, empty on SQLite
  (a single SQLite instance is guaranteed by its lock file, see bot/store/sqlite.py).

A method added here serves both databases: use `_rows`, `_dicts`, `_run`, `_many`, `_insert_id`
and `with self.transaction():`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from bot.rules.lifecycle import Alert, AlertState
from bot.store.errors import NotLeader

if TYPE_CHECKING:
    from bot.catalog import Catalog
    from bot.metrics import Frames


@dataclass(frozen=True)
class FetchRecord:
    source: str
    started_at: str
    finished_at: str
    rows: int
    data_date: str | None
    error: str | None


@dataclass(frozen=True)
class PersonalAdded:
    """A personal alert as /alert stored it (or found it already set)."""

    id: int                 # internal: the rule is `personal_<id>`
    number: int             # what the chat sees: "#3", counted per chat
    duplicate: bool = False


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
    language: str | None = None   # the chat's language (None: the default)
    severity: str = "warning"
    quiet: str | None = None      # the chat's quiet hours "22:00-07:00 Europe/London" (None: none)


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


# An outbox row as delivery reads it: the row, its event, and its chat's language and quiet hours.
_OUTBOX_SELECT = ("SELECT o.id, o.event_id, o.platform, o.chat_id, o.attempts, e.text, e.rule_id, e.topic, e.state,"
                  " e.payload, c.lang AS language, e.severity, c.quiet AS quiet"
                  " FROM outbox o JOIN alert_events e ON e.id = o.event_id"
                  " LEFT JOIN chats c ON c.platform = o.platform AND c.chat_id = o.chat_id")


class SQLStore:
    """Every query of the bot's state; subclasses give the connection (see module docstring)."""

    kind = "sql"
    dialect = "sqlite"
    _skip_locked = ""
    #: True when several processes may share the store (replicas): delivery then claims rows.
    shared = False
    #: Replicas: the backend pid of this replica's leader-lock connection, or None when it is
    #: not the leader. Leader-only writes (alert states and events, digests) commit only while
    #: that connection still holds the lock, so a deposed leader that has not noticed yet
    #: (up to one election tick) cannot record an alert the new leader records too.
    fence: Callable[[], int | None] | None = None

    def _check_fence(self) -> None:
        """Inside a leader-only write's transaction: raise NotLeader unless we hold the lock."""
        if self.fence is None:
            return
        pid = self.fence()
        if pid is None or self._one("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = ? AND granted",
                                    [pid]) is None:
            raise NotLeader("this replica is no longer the leader: nothing recorded")

    def problem(self) -> str | None:
        """Something wrong with the database that health should report (None: fine)."""
        return None

    def probe_write(self) -> None:
        """While a failed write is remembered, try a small one (SQLite): a connection with
        nothing else to write would otherwise report the problem after the disk recovered."""

    # ---- connection layer (subclasses) ---------------------------------------------------
    @contextmanager
    def _cursor(self) -> Iterator[Any]:  # pragma: no cover - abstract
        raise NotImplementedError
        yield

    @contextmanager
    def transaction(self) -> Iterator[None]:  # pragma: no cover - abstract
        """Run the block's queries in one transaction (nested blocks join the outer one)."""
        raise NotImplementedError
        yield

    def close(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:
        """Where the data lives, safe to print (no password)."""
        raise NotImplementedError

    def _sql(self, sql: str) -> str:
        return sql

    # ---- helpers ---------------------------------------------------------------------------
    def _rows(self, sql: str, params: Sequence = ()) -> list[tuple]:
        with self._cursor() as cur:
            cur.execute(self._sql(sql), list(params))
            return [tuple(r) for r in cur.fetchall()]

    def _dicts(self, sql: str, params: Sequence = ()) -> list[dict]:
        with self._cursor() as cur:
            cur.execute(self._sql(sql), list(params))
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=False)) for r in cur.fetchall()]

    def _run(self, sql: str, params: Sequence = ()) -> int:
        """Execute a statement; return the number of rows it changed."""
        with self._cursor() as cur:
            cur.execute(self._sql(sql), list(params))
            return cur.rowcount

    def _many(self, sql: str, rows: Iterable[Sequence]) -> None:
        with self._cursor() as cur:
            cur.executemany(self._sql(sql), [list(r) for r in rows])

    def _insert_id(self, sql: str, params: Sequence = ()) -> int:
        """Run an `INSERT ... RETURNING id` and return the id."""
        with self._cursor() as cur:
            cur.execute(self._sql(sql), list(params))
            return cur.fetchone()[0]

    def _one(self, sql: str, params: Sequence = ()) -> tuple | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    # ---- observations -------------------------------------------------------------------
    def latest_map(self, series: str) -> dict[str, float]:
        """{date: newest value} for one series."""
        return dict(self._rows("SELECT date, value FROM latest WHERE series = ?", [series]))

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
        with self.transaction():
            self._many(
                "INSERT INTO observations (series, date, vintage, value, source) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (series, date, vintage) DO UPDATE SET value = excluded.value, source = excluded.source",
                [(series, d, vintage, v, source) for d, v in fresh])
            self._many(
                "INSERT INTO latest (series, date, value, vintage) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (series, date) DO UPDATE SET value = excluded.value, vintage = excluded.vintage",
                [(series, d, v, vintage) for d, v in fresh])
        return [d for d, _ in fresh]

    def last_date(self, series: str) -> str | None:
        """Newest observation date stored for a series."""
        return self._one("SELECT max(date) FROM latest WHERE series = ?", [series])[0]

    def series_since(self, series: str, since: str | None) -> list[tuple[str, float]]:
        """Newest values of one series dated on or after `since` (all when None), by date."""
        if since is None:
            return self._rows("SELECT date, value FROM latest WHERE series = ? ORDER BY date", [series])
        return self._rows("SELECT date, value FROM latest WHERE series = ? AND date >= ? ORDER BY date",
                          [series, since])

    def load_series(self, series: Sequence[str]) -> dict[str, pd.Series]:
        """Newest vintage of each series as a float Series indexed by date (sorted)."""
        out: dict[str, pd.Series] = {}
        for sid in series:
            rows = self._rows("SELECT date, value FROM latest WHERE series = ? ORDER BY date", [sid])
            if rows:
                dates, values = zip(*rows, strict=False)
                out[sid] = pd.Series(values, index=pd.DatetimeIndex(dates), dtype=float, name=sid)
        return out

    def frames(self, catalog: "Catalog") -> "Frames":
        """Every catalog metric computed from the newest stored values (see bot.metrics)."""
        from bot.metrics import compute_metrics, needed_series

        return compute_metrics(catalog, self.load_series(needed_series(catalog)))

    def revisions(self, series: str, date: str) -> list[tuple[str, float]]:
        """All vintages of one observation, oldest first."""
        return self._rows(
            "SELECT vintage, value FROM observations WHERE series = ? AND date = ? ORDER BY vintage", [series, date])

    def observation_count(self) -> int:
        return self._one("SELECT count(*) FROM observations")[0]

    # ---- held prints and quarantine (data trust) --------------------------------------------
    def hold_print(self, series: str, date: str, value: float, reason: str, now: str) -> None:
        """Record that a new print of `series` was refused as a probable unit change."""
        self._run("INSERT INTO held_prints (series, date, value, reason, held_at) VALUES (?, ?, ?, ?, ?)"
                  " ON CONFLICT (series) DO UPDATE SET date = excluded.date, value = excluded.value,"
                  " reason = excluded.reason, held_at = excluded.held_at", [series, date, value, reason, now])

    def release_held(self, series: str, through: str) -> bool:
        """Forget the held print of `series` once a good print dated `through` or later is stored."""
        return self._run("DELETE FROM held_prints WHERE series = ? AND date <= ?", [series, through]) > 0

    def held_prints(self) -> dict[str, dict]:
        """{series: {date, value, reason, held_at}} for every series with a held print."""
        return {r.pop("series"): r for r in
                self._dicts("SELECT series, date, value, reason, held_at FROM held_prints ORDER BY series")}

    def quarantine_after(self, last_ok: str, now: str) -> list[tuple[str, str, float]]:
        """Move every stored observation dated after `last_ok` (or not a plain date that sorts
        after it) into `quarantine`; return the (series, date, value) moved, newest vintages."""
        with self.transaction():
            moved = self._rows("SELECT series, date, value FROM latest WHERE date > ? ORDER BY series, date", [last_ok])
            self._run("INSERT INTO quarantine (series, date, vintage, value, source, reason, quarantined_at)"
                      " SELECT series, date, vintage, value, source, ?, ? FROM observations WHERE date > ?"
                      " ON CONFLICT (series, date, vintage) DO NOTHING",
                      [f"dated after {last_ok} when found at start", now, last_ok])
            self._run("DELETE FROM observations WHERE date > ?", [last_ok])
            self._run("DELETE FROM latest WHERE date > ?", [last_ok])
        return moved

    # ---- fetch log ----------------------------------------------------------------------
    def log_fetch(self, rec: FetchRecord) -> None:
        self._run(
            "INSERT INTO fetch_log (source, started_at, finished_at, rows, data_date, error) VALUES (?, ?, ?, ?, ?, ?)",
            [rec.source, rec.started_at, rec.finished_at, rec.rows, rec.data_date, rec.error])

    def last_fetches(self) -> dict[str, dict]:
        """Per source: the last attempt and the last success."""
        out: dict[str, dict] = {}
        for source, in self._rows("SELECT DISTINCT source FROM fetch_log"):
            last = self._one(
                "SELECT finished_at, rows, error FROM fetch_log WHERE source = ? ORDER BY id DESC LIMIT 1", [source])
            ok = self._one(
                "SELECT finished_at FROM fetch_log WHERE source = ? AND error IS NULL ORDER BY id DESC LIMIT 1",
                [source])
            out[source] = {"last_attempt": last[0], "last_rows": last[1], "last_error": last[2],
                           "last_success": ok[0] if ok else None}
        return out

    # ---- alerts -------------------------------------------------------------------------
    def rule_hashes(self) -> dict[str, str | None]:
        """Each rule's definition hash as of its stored state."""
        return dict(self._rows("SELECT rule_id, rule_hash FROM alert_state"))

    def get_meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", [key])
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._run("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                  [key, value])

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
    def _alert_row(rule_id: str, a: Alert, now: str, rule_hash: str | None) -> list:
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

    def record(self, rule_id: str, alert: Alert, events: list[tuple[dict, list[tuple[str, str, str]]]],
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

    def record_many(self, records: list[tuple[str, Alert, list[tuple[dict, list[tuple[str, str, str]]]], str | None]],
                    now: str) -> list[int]:
        """`record` for many rules in one transaction (thousands of personal alerts firing on
        one print cost one commit)."""
        ids: list[int] = []
        with self.transaction():
            self._check_fence()
            for rule_id, alert, events, rule_hash in records:
                ids += self.record(rule_id, alert, events, now, rule_hash)
        return ids

    def recent_events(self, topic: str | None = None, limit: int = 10) -> list[dict]:
        """Newest alert events first, optionally for one topic (every chat's: not for chat replies,
        see `chat_history`)."""
        if topic:
            return self._dicts("SELECT * FROM alert_events WHERE topic = ? ORDER BY id DESC LIMIT ?", [topic, limit])
        return self._dicts("SELECT * FROM alert_events WHERE rule_id <> 'digest' ORDER BY id DESC LIMIT ?", [limit])

    def chat_history(self, platform: str, chat_id: str, topic: str | None = None, limit: int = 10) -> list[dict]:
        """What one chat's /history may show, newest first: the shared rules' events and this chat's
        own personal alerts' (never another chat's), with the personal alert's per-chat number."""
        where = "e.rule_id <> 'digest' AND (e.topic <> 'personal' OR p.id IS NOT NULL)"
        params: list = [platform, chat_id]
        if topic:
            where += " AND e.topic = ?"
            params.append(topic)
        return self._dicts(
            "SELECT e.*, p.number AS personal_number FROM alert_events e LEFT JOIN personal_rules p"
            " ON e.topic = 'personal' AND e.rule_id = 'personal_' || p.id AND p.platform = ? AND p.chat_id = ?"
            f" WHERE {where} ORDER BY e.id DESC LIMIT ?", [*params, limit])

    def personal_owner(self, rule_id: str) -> tuple[str, str] | None:
        """The chat a `personal_<id>` rule belongs to (None: not a live personal alert)."""
        pid = rule_id.removeprefix("personal_")
        if not pid.isascii() or not pid.isdigit() or len(pid) > 18:
            return None
        row = self._one("SELECT platform, chat_id FROM personal_rules WHERE id = ?", [int(pid)])
        return (row[0], row[1]) if row else None

    def event(self, event_id: int) -> dict | None:
        """One alert event's rule and topic (the buttons under an alert name its event)."""
        rows = self._dicts("SELECT id, rule_id, topic, state, data_date FROM alert_events WHERE id = ?", [event_id])
        return rows[0] if rows else None

    def firing_rules(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT rule_id FROM alert_state WHERE state = 'firing' ORDER BY rule_id")]

    def regimes(self) -> dict[str, str]:
        return dict(self._rows("SELECT rule_id, regime FROM alert_state WHERE regime IS NOT NULL"))

    # ---- chats and subscriptions ----------------------------------------------------------
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

    def chat_events(self, platform: str, chat_id: str, since: str, limit: int = 30) -> list[dict]:
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

    def language(self, platform: str, chat_id: str) -> str | None:
        row = self._one("SELECT lang FROM chats WHERE platform = ? AND chat_id = ?", [platform, chat_id])
        return row[0] if row else None

    # ---- personal alerts and mutes ---------------------------------------------------------
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

    def personal_rules(self, platform: str | None = None, chat_id: str | None = None) -> list[tuple]:
        """(id, platform, chat_id, metric, op, value, for_n, number) rows: one chat's, or everyone's."""
        cols = "SELECT id, platform, chat_id, metric, op, value, for_n, number FROM personal_rules"
        if platform is None:
            return self._rows(cols + " ORDER BY id")
        return self._rows(cols + " WHERE platform = ? AND chat_id = ? ORDER BY number, id", [platform, chat_id])

    def inactive_chats(self) -> set[tuple[str, str]]:
        """Chats that blocked or removed the bot (their personal alerts are not queued)."""
        return {(p, c) for p, c in self._rows("SELECT platform, chat_id FROM chats WHERE active = 0")}

    def _bump_personal(self) -> None:
        row = self._one("SELECT value FROM meta WHERE key = 'personal_version'")
        self.set_meta("personal_version", str(int(row[0]) + 1 if row else 1))

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

    def mutes(self, now: str, platform: str | None = None, chat_id: str | None = None) -> list[tuple]:
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

    # ---- outbox ---------------------------------------------------------------------------
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
            f"{_OUTBOX_SELECT}"
            " WHERE o.status IN ('pending', 'held') AND o.platform = ? AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= ?)"
            " AND (o.claimed_until IS NULL OR o.claimed_until <= ?)"
            " AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.platform = o.platform AND p.chat_id = o.chat_id"
            "   AND p.status = 'pending' AND p.id < o.id AND (p.next_attempt_at > ? OR p.claimed_until > ?))"
            " ORDER BY o.id LIMIT ?", [platform, now, now, now, now, limit])
        return [OutboxRow(*r) for r in rows]

    def release_claims(self, ids: Sequence[int]) -> None:
        """Give claimed rows back unsent (a chat's later rows behind one waiting for a retry)."""
        self._many("UPDATE outbox SET claimed_by = NULL, claimed_until = NULL WHERE id = ?", [(i,) for i in ids])

    def claimed_count(self, now: str) -> int:
        """Pending rows under a live lease (being sent by some replica)."""
        return self._one("SELECT count(*) FROM outbox WHERE status = 'pending' AND claimed_until > ?", [now])[0]

    def failed_outbox(self, limit: int = 20) -> list[dict]:
        """The newest failed deliveries with their errors."""
        return self._dicts(
            "SELECT o.id, o.platform, o.chat_id, o.attempts, o.last_error, e.rule_id, e.state, o.created_at"
            " FROM outbox o JOIN alert_events e ON e.id = o.event_id WHERE o.status = 'failed'"
            " ORDER BY o.id DESC LIMIT ?", [limit])

    def mark_sent(self, row_id: int, now: str) -> None:
        self._run("UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, claimed_until = NULL"
                  " WHERE id = ?", [now, row_id])

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

    # ---- release observations (bot/release.py learns from these) ----------------------------
    def record_release_seen(self, release: str, day: str, seen_at: str, delay_seconds: float | None) -> bool:
        """Record when `release`'s new data first appeared on ET `day`; False if already recorded."""
        return self._run(
            "INSERT INTO release_seen (release, day, seen_at, delay_seconds) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (release, day) DO NOTHING", [release, day, seen_at, delay_seconds]) > 0

    def release_seen(self, release: str, limit: int = 40) -> list[dict]:
        """The most recent observations of `release`, oldest first: {day, seen_at, delay_seconds}."""
        rows = self._rows("SELECT day, seen_at, delay_seconds FROM release_seen WHERE release = ?"
                          " ORDER BY day DESC LIMIT ?", [release, limit])
        return [{"day": d, "seen_at": s, "delay_seconds": x} for d, s, x in reversed(rows)]

    def retry_failed(self) -> int:
        """Put failed rows of active chats back in the queue; return how many."""
        return self._run(
            "UPDATE outbox SET status = 'pending', next_attempt_at = NULL, attempts = 0, claimed_until = NULL"
            " WHERE status = 'failed'"
            " AND NOT EXISTS (SELECT 1 FROM chats c WHERE c.platform = outbox.platform AND c.chat_id = outbox.chat_id"
            " AND c.active = 0)")

    # ---- shared send pace (replicas) -------------------------------------------------------
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
        return row[0] - interval

    # ---- migrations -------------------------------------------------------------------------
    def _apply_migrations(self) -> list[str]:
        """Apply every migration not yet recorded, each in its own transaction; return their names."""
        from bot.store.migrations import MIGRATIONS

        with self.transaction():  # under the lock: two replicas' CREATE IF NOT EXISTS can still collide
            self._migration_lock()
            self._run("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        applied = []
        for m in MIGRATIONS:
            with self.transaction():
                self._migration_lock()
                if self._one("SELECT name FROM schema_migrations WHERE name = ?", [m.name]):
                    continue
                if m.fn is not None:
                    m.fn(self._migration_db())
                for stmt in m.statements(self.dialect):
                    self._run(stmt)
                self._run("INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                          [m.name, datetime.utcnow().isoformat(timespec="seconds")])
                applied.append(m.name)
        return applied

    def _migration_db(self) -> Any:
        """What an old-style (decorated function) migration is given: execute / executescript."""
        return _MigrationDB(self)

    def _migration_lock(self) -> None:
        """Serialise concurrent migrators (inside the migration's transaction)."""


class _MigrationDB:
    """execute()/executescript() for decorated migrations, with the store's dialect rewriting."""

    def __init__(self, store: SQLStore):
        self.store = store

    def execute(self, sql: str, params: Sequence = ()) -> None:
        from bot.store.migrations import adapt

        self.store._run(adapt(sql, self.store.dialect), params)

    def executescript(self, sql: str) -> None:
        from bot.store.migrations import adapt, split

        for stmt in split(adapt(sql, self.store.dialect)):
            self.store._run(stmt)
