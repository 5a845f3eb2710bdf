"""Persistence: repositories per concern (observations, alerts, outbox, chats, personal) over
SQLite (sqlite.py) or PostgreSQL (postgres.py), typed by the Protocols in protocols.py.

`Storage` is the combined Protocol to annotate with; `Store` stays the default concrete (SQLite)
class under its old name, because callers construct it."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from bot.clock import eastern_tomorrow, utcnow
from bot.store.base import SQLStore
from bot.store.errors import StoreError
from bot.store.protocols import (AlertStore, ChatStore, ObservationStore, OutboxStore, PersonalStore, Storage,
                                 StoreHandle)
from bot.store.records import FetchRecord, OutboxRow, PersonalAdded
from bot.store.sqlite import AlreadyRunning, SQLiteStore, Store

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

__all__ = ["AlertStore", "AlreadyRunning", "ChatStore", "FetchRecord", "ObservationStore", "OutboxRow", "OutboxStore",
           "PersonalAdded", "PersonalStore", "SQLStore", "SQLiteStore", "Storage", "Store", "StoreError", "StoreHandle",
           "open_store", "quarantine_future"]


def open_store(settings: "Settings") -> Storage:
    """PostgreSQL when `database_url` is set (it wins over `database_path`), else the SQLite file."""
    url = settings.secret("database_url")
    if url:
        from bot.store.postgres import PostgresStore

        store: Storage = PostgresStore(url)
    else:
        store = SQLiteStore(settings.database_path)
    quarantine_future(store, utcnow())
    return store


def quarantine_future(store: ObservationStore, now_utc: datetime) -> int:
    """Move observations dated after tomorrow (US/Eastern) out of the way, with one log line:
    written by an older version or another writer of a shared database, they would freeze a
    series' latest value (and a year like 2300 is past pandas' calendar). Returns how many."""
    try:
        moved = store.quarantine_after(eastern_tomorrow(now_utc).isoformat(), now_utc.isoformat(timespec="seconds"))
    except Exception as exc:  # a read-only or unreachable store is reported elsewhere; start anyway
        log.warning("store: could not check for future-dated observations: %s", exc)
        return 0
    if moved:
        shown = ", ".join(f"{s} {d}" for s, d, _ in moved[:5]) + (" ..." if len(moved) > 5 else "")
        log.warning("store: quarantined %d observation(s) dated after tomorrow (%s): moved to the quarantine table",
                    len(moved), shown)
    return len(moved)
