"""PostgreSQL store (psycopg 3 + psycopg_pool): the same queries as SQLite (bot/store/base.py's repositories).

Several bot replicas may share one database: migrations serialise on an advisory lock,
delivery claims outbox rows with `FOR UPDATE SKIP LOCKED` and a lease, and the leader is
chosen by another advisory lock (bot/leader.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from psycopg_pool import ConnectionPool

from bot.store.base import SQLStore
from bot.store.errors import StoreError, describe
from bot.store.outbox import _OUTBOX_SELECT, due_first_of_chat
from bot.store.records import OutboxRow

#: Advisory lock keys (arbitrary constants, one per purpose).
MIGRATION_LOCK = 7_324_001
CHAT_LOCK = 7_324_003  # two-key, with a hash of the chat: one chat's personal alerts
LEADER_LOCK = 7_324_002


def redact(url: str) -> str:
    """The URL with its password replaced by `***`, safe to log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


class PostgresStore(SQLStore):
    """The bot's state in a PostgreSQL database shared by every replica."""

    kind = "postgresql"
    dialect = "postgres"
    _skip_locked = " FOR UPDATE OF o SKIP LOCKED"
    shared = True

    def __init__(self, url: str, *, max_size: int = 4):
        self.url = url
        self._local = threading.local()
        self.pool = ConnectionPool(url, min_size=1, max_size=max_size, kwargs={"autocommit": True},
                                   open=True, timeout=15, name="liquidity-bot")
        try:
            self.pool.wait(timeout=15)
            self._apply_migrations()
        except Exception as exc:  # PoolTimeout, OperationalError: one clear line
            self.pool.close()
            raise StoreError(describe(exc, redact(url))) from None

    def describe(self) -> str:
        return redact(self.url)

    def close(self) -> None:
        self.pool.close()

    def _sql(self, sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s")

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        conn = getattr(self._local, "conn", None)
        if conn is not None:  # inside transaction(): same connection
            with conn.cursor() as cur:
                yield cur
            return
        with self.pool.connection() as conn, conn.cursor() as cur:
            yield cur

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if getattr(self._local, "conn", None) is not None:
            yield
            return
        with self.pool.connection() as conn, conn.transaction():
            self._local.conn = conn
            try:
                yield
            finally:
                self._local.conn = None

    def _migration_lock(self) -> None:
        # Replicas starting together: one applies, the others wait and then see it recorded.
        self._rows("SELECT pg_advisory_xact_lock(?)", [MIGRATION_LOCK])

    def _chat_lock(self, platform: str, chat_id: str) -> None:
        # Two replicas adding one chat's personal alerts at once take turns (the cap and the
        # per-chat number are then read after the other's commit). Two-key form: its own key space.
        self._rows("SELECT pg_advisory_xact_lock(?, hashtext(?))", [CHAT_LOCK, f"{platform}:{chat_id}"])

    def _claimable(self, platform: str, now: str, limit: int) -> list[OutboxRow]:
        # Several replicas claim at once. Only a chat's oldest pending row is claimable, and
        # SKIP LOCKED lets concurrent claimers pass over rows another is claiming, so no row is
        # sent twice and a chat's messages go out in order, one replica at a time.
        rows = self._rows(
            f"{_OUTBOX_SELECT}{due_first_of_chat()}"
            f" ORDER BY o.id LIMIT ?{self._skip_locked}", [platform, now, now, limit])
        return [OutboxRow(*r) for r in rows]
