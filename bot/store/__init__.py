"""Persistence: the SQLite store behind a small interface (a PostgreSQL one can replace it)."""

from bot.store.sqlite import Store

__all__ = ["Store"]
