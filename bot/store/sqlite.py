"""SQLite store: one file, one bot process (a lock file refuses a second `run`).

The queries live in bot/store/base.py. One connection, used from one thread at a time (the
event loop); WAL lets a second process (e.g. `liquidity-bot status`) read while the bot writes.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.store.base import FetchRecord, OutboxRow, SQLStore
from bot.store.errors import StoreError, describe

__all__ = ["AlreadyRunning", "FetchRecord", "OutboxRow", "SQLiteStore", "Store"]


class AlreadyRunning(RuntimeError):
    """Another bot process holds this store's instance lock."""


class SQLiteStore(SQLStore):
    """The bot's state in one SQLite file."""

    kind = "sqlite"
    dialect = "sqlite"

    def __init__(self, path: str | Path):
        self.path = str(path)
        self._depth = 0
        self._lock_fd: int | None = None
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            # Autocommit; `transaction()` opens BEGIN IMMEDIATE itself so writers never deadlock on upgrade.
            self.conn = sqlite3.connect(self.path, check_same_thread=False, timeout=10, isolation_level=None)
            if self.path != ":memory:":
                self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self._adopt_sqlite_utils_records()
            self._apply_migrations()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(describe(exc, self.path)) from None
        self._inode = self._stat()

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def problem(self) -> str | None:
        """A database file deleted or replaced under a running bot keeps taking writes that
        vanish at exit: say so loudly (health is degraded) instead of carrying on silently."""
        if self.path == ":memory:":
            return None
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
        cur = self.conn.cursor()
        try:
            yield cur
        finally:
            cur.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")
        finally:
            self._depth = 0

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
