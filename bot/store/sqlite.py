"""SQLite store: one file, one bot process (a lock file refuses a second `run`).

The queries live in the repositories bot/store/base.py combines. One connection, used from one
thread at a time (the event loop); WAL lets a second process (e.g. `liquidity-bot status`) read
while the bot writes.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.store.base import SQLStore
from bot.store.errors import StoreError, describe
from bot.store.records import FetchRecord, OutboxRow

__all__ = ["AlreadyRunning", "FetchRecord", "OutboxRow", "SQLiteStore", "Store"]


class AlreadyRunning(RuntimeError):
    """Another bot process holds this store's instance lock."""


class SQLiteStore(SQLStore):
    """The bot's state in one SQLite file."""

    kind = "sqlite"
    dialect = "sqlite"
    REOPEN_SECONDS = 5.0  # how often a read-only connection is reopened to see if the file is writable again

    def __init__(self, path: str | Path):
        self.path = str(path)
        self._depth = 0
        self._lock_fd: int | None = None
        self.write_problem: str | None = None  # why the last write failed (read-only, disk full), until one works
        self._read_only = False
        self._next_reopen = 0.0
        self._next_probe = 0.0
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self.conn = self._connect()
            self._adopt_sqlite_utils_records()
            self._apply_migrations()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(describe(exc, self.path)) from None
        self._inode = self._stat()

    def _connect(self) -> sqlite3.Connection:
        # Autocommit; `transaction()` opens BEGIN IMMEDIATE itself so writers never deadlock on upgrade.
        conn = sqlite3.connect(self.path, check_same_thread=False, timeout=10, isolation_level=None)
        if self.path != ":memory:":
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _write_failed(self, exc: sqlite3.Error) -> None:
        """Remember a failed write for /healthz (the runtime logs it once per episode)."""
        why = describe(exc, self.path)
        if "read-only" in why or "disk is full" in why:
            self.write_problem = why
            self._read_only = self._read_only or "read-only" in why

    def _wrote(self) -> None:
        self.write_problem, self._read_only = None, False

    def _reopen_if_read_only(self) -> None:
        """SQLite opens a write-protected file read-only and keeps it so: after a write failed
        that way, open a fresh connection now and then, so the bot recovers once it is writable."""
        if not self._read_only or self._depth or time.monotonic() < self._next_reopen:
            return
        self._next_reopen = time.monotonic() + self.REOPEN_SECONDS
        try:
            conn = self._connect()
        except sqlite3.Error:
            return
        self.conn.close()
        self.conn = conn

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def probe_write(self) -> None:
        if not self.write_problem or time.monotonic() < self._next_probe:
            return
        self._next_probe = time.monotonic() + self.REOPEN_SECONDS
        try:
            self.set_meta("write_probe", str(time.time()))
        except Exception:  # still failing: write_problem stays, health keeps saying so
            pass

    def problem(self) -> str | None:
        """A database file deleted or replaced under a running bot keeps taking writes that
        vanish at exit: say so loudly (health is degraded) instead of carrying on silently."""
        if self.path == ":memory:":
            return None
        if self.write_problem:
            return f"{self.write_problem}: new data and alerts are not being kept"
        now = self._stat()
        if now is None:
            return f"{self.path} was deleted while the bot runs: new data and alerts are not being kept"
        if self._inode is not None and now != self._inode:
            return f"{self.path} was replaced while the bot runs: restart the bot to use the new file"
        return None

    def describe(self) -> str:
        return self.path

    def close(self) -> None:
        self.release_instance()
        self.conn.close()

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        self._reopen_if_read_only()
        cur = self.conn.cursor()
        changes = self.conn.total_changes
        try:
            yield cur
        except sqlite3.OperationalError as exc:
            self._write_failed(exc)
            raise
        finally:
            cur.close()
        if not self._depth and self.conn.total_changes > changes:
            self._wrote()  # an autocommitted write went through

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._reopen_if_read_only()
        self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        changes = self.conn.total_changes
        try:
            yield
        except BaseException:
            if self.conn.in_transaction:  # SQLite rolls back by itself on some errors (a full disk)
                self.conn.execute("ROLLBACK")
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:  # a full disk may show only at commit
                self._write_failed(exc)
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
        finally:
            self._depth = 0
        if self.conn.total_changes > changes:
            self._wrote()

    def _migration_db(self) -> Any:
        # Old-style migrations were written against sqlite-utils: give them the real thing.
        from sqlite_utils import Database

        return Database(self.conn)

    def _adopt_sqlite_utils_records(self) -> None:
        # Files created before bot/store/migrations.py became a SQL list were migrated by
        # sqlite-utils, which recorded names in _sqlite_migrations: keep them applied.
        if not self._one("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlite_migrations'"):
            return
        self._run("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        self._run("INSERT INTO schema_migrations (name, applied_at) SELECT name, applied_at FROM _sqlite_migrations"
                  " WHERE migration_set = 'liquidity_bot' ON CONFLICT DO NOTHING")

    # ---- single instance ----------------------------------------------------------------
    def claim_instance(self) -> None:
        """Take the file's instance lock (`<db>.lock`); raise AlreadyRunning if another bot has it.

        flock is released by the kernel when the process dies, so a crashed bot never blocks
        the next start. CLI commands do not take it and keep working beside a running bot.
        """
        if self.path == ":memory:" or self._lock_fd is not None:
            return
        fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise AlreadyRunning(f"liquidity-bot is already running on {self.path} (lock {self.path}.lock)") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def release_instance(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


#: The default store (kept under its old name for existing imports).
Store = SQLiteStore
