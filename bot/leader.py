"""Who runs the scheduler, the fetches and the evaluation: exactly one replica, the leader.

PostgreSQL: the leader holds a session advisory lock on a dedicated connection (not from the
pool). When its process dies or its connection drops, the server releases the lock and another
replica's next attempt (every `interval` seconds) takes it: failover well within 15 s. A leader
checks its connection on every tick and steps down as soon as it fails.

SQLite: a single instance (bot/store/sqlite.py's lock file), always the leader.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("bot.leader")

OnChange = Callable[[bool], Awaitable[None]]


class Solo:
    """Single instance: always the leader."""

    is_leader = True
    kind = "single"

    async def run(self, stop: asyncio.Event, on_change: OnChange) -> None:
        await on_change(True)
        await stop.wait()


class PgLeader:
    """Leader election on a PostgreSQL advisory lock held by a dedicated connection."""

    kind = "postgresql"

    def __init__(self, url: str, key: int | None = None, interval: float = 2.0) -> None:
        from bot.store.postgres import LEADER_LOCK

        self.url, self.key, self.interval = url, LEADER_LOCK if key is None else key, interval
        self.is_leader = False
        # A psycopg.Connection while campaigning; Any because its rows are read positionally.
        self._conn: Any = None
        self._pid: int | None = None

    def holder_pid(self) -> int | None:
        """The backend pid of our lock connection while we are the leader (the stores' fence)."""
        return self._pid if self.is_leader else None

    def _tick(self) -> bool:
        """One attempt (blocking; run in a thread): True if we hold the lock now."""
        import psycopg

        try:
            fresh = self._conn is None or self._conn.closed
            if fresh:
                # Keepalives: a leader whose network vanished is noticed by the server in ~10 s.
                self._conn = psycopg.connect(self.url, autocommit=True, connect_timeout=5, keepalives=1,
                                             keepalives_idle=5, keepalives_interval=2, keepalives_count=2,
                                             application_name="liquidity-bot leader")
                self._conn.execute("SET statement_timeout = 5000")
                # The server's side too: a leader whose machine vanished (no FIN) loses the lock
                # in ~10 s instead of the OS default of two hours, so a follower can take over.
                self._conn.execute("SET tcp_keepalives_idle = 5")
                self._conn.execute("SET tcp_keepalives_interval = 2")
                self._conn.execute("SET tcp_keepalives_count = 2")
                self._pid = self._conn.info.backend_pid
            if self.is_leader and not fresh:  # a new connection holds no lock: it must take it
                self._conn.execute("SELECT 1").fetchone()
                return True
            return bool(self._conn.execute("SELECT pg_try_advisory_lock(%s)", [self.key]).fetchone()[0])
        except Exception as exc:
            if self.is_leader:
                log.warning("leader: lost the database connection (%s); stepping down", type(exc).__name__)
            self._drop()
            return False

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
        self._conn = None
        self._pid = None

    async def run(self, stop: asyncio.Event, on_change: OnChange) -> None:
        """Campaign until `stop`; call `on_change(True/False)` when leadership changes."""
        try:
            while not stop.is_set():
                now_leader = await asyncio.to_thread(self._tick)
                if now_leader != self.is_leader:
                    self.is_leader = now_leader
                    log.info("leader: this replica is now the %s", "leader" if now_leader else "follower")
                    await on_change(now_leader)
                try:
                    await asyncio.wait_for(stop.wait(), self.interval)
                except asyncio.TimeoutError:
                    pass
        finally:
            self.is_leader = False
            await asyncio.to_thread(self._drop)  # closing the connection releases the lock
