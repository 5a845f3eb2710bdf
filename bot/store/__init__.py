"""Persistence: one set of queries (base.py) over SQLite (sqlite.py) or PostgreSQL (postgres.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.store.base import FetchRecord, OutboxRow, SQLStore
from bot.store.errors import StoreError
from bot.store.sqlite import AlreadyRunning, SQLiteStore, Store

if TYPE_CHECKING:
    from bot.config import Settings

__all__ = ["AlreadyRunning", "FetchRecord", "OutboxRow", "SQLStore", "SQLiteStore", "Store", "StoreError",
           "open_store"]


def open_store(settings: "Settings") -> SQLStore:
    """PostgreSQL when `database_url` is set (it wins over `database_path`), else the SQLite file."""
    url = settings.secret("database_url")
    if url:
        from bot.store.postgres import PostgresStore

        return PostgresStore(url)
    return SQLiteStore(settings.database_path)
