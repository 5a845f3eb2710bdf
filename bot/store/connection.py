"""The connection and dialect layer every repository is written on, for SQLite and PostgreSQL.

`SQLBase` holds no table's queries; a subclass supplies the connection and a tiny dialect layer:

* placeholders: queries use `?`; the PostgreSQL store rewrites them to `%s` (`_sql`);
* upserts: portable `INSERT ... ON CONFLICT (...) DO UPDATE SET x = excluded.x` / `DO NOTHING`
  (both databases speak it; never `INSERT OR REPLACE`);
* new ids: `INSERT ... RETURNING id` (SQLite >= 3.35, PostgreSQL);
* row locks: `_skip_locked` is `FOR UPDATE SKIP LOCKED` on PostgreSQL, empty on SQLite
  (a single SQLite instance is guaranteed by its lock file, see bot/store/sqlite.py).

A query added to a repository serves both databases: use `_rows`, `_dicts`, `_run`, `_many`,
`_insert_id` and `with self.transaction():`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from bot.store.errors import NotLeader


class SQLBase:
    """Connection, transactions, query helpers, the leader fence, `meta` and migrations."""

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

    def claim_instance(self) -> None:
        """Refuse a second bot on this store: the SQLite file takes a lock (sqlite.py); a shared
        store needs none (replicas elect a leader instead)."""

    def _sql(self, sql: str) -> str:
        return sql

    # ---- helpers ---------------------------------------------------------------------------
    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._cursor() as cur:
            cur.execute(self._sql(sql), list(params))
            return [tuple(r) for r in cur.fetchall()]

    def _dicts(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._cursor() as cur:
            cur.execute(self._sql(sql), list(params))
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=False)) for r in cur.fetchall()]

    def _run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Execute a statement; return the number of rows it changed."""
        with self._cursor() as cur:
            cur.execute(self._sql(sql), list(params))
            changed: int = cur.rowcount
            return changed

    def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self._cursor() as cur:
            cur.executemany(self._sql(sql), [list(r) for r in rows])

    def _insert_id(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run an `INSERT ... RETURNING id` and return the id."""
        with self._cursor() as cur:
            cur.execute(self._sql(sql), list(params))
            new_id: int = cur.fetchone()[0]
            return new_id

    def _one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def _value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row, for queries that always return one (count, max)."""
        return self._rows(sql, params)[0][0]

    # ---- meta: a key-value table every concern uses (personal_version, rules_evaluated_at) ----
    def get_meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", [key])
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._run("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                  [key, value])

    def _bump_personal(self) -> None:
        row = self._one("SELECT value FROM meta WHERE key = 'personal_version'")
        self.set_meta("personal_version", str(int(row[0]) + 1 if row else 1))

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

    def __init__(self, store: SQLBase):
        self.store = store

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        from bot.store.migrations import adapt

        self.store._run(adapt(sql, self.store.dialect), params)

    def executescript(self, sql: str) -> None:
        from bot.store.migrations import adapt, split

        for stmt in split(adapt(sql, self.store.dialect)):
            self.store._run(stmt)
