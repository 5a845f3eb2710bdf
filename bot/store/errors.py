"""Database trouble in one clear line: what is wrong with which database, and what to do."""

from __future__ import annotations

import sqlite3


class StoreError(RuntimeError):
    """The database cannot be used (corrupt, read-only, missing, full, unreachable)."""


class NotLeader(RuntimeError):
    """A replica that has lost the leader lock tried a leader-only write; nothing was written."""


def describe(exc: BaseException, where: str) -> str:
    """A one-line explanation of a database error (never a traceback)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    low = text.lower()
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return f"{where} is not a usable SQLite database ({text}): restore it from a backup or move it away"
    if "readonly" in low or "read-only" in low or "attempt to write" in low:
        return f"{where} is read-only ({text}): the bot needs to write to it and to its directory"
    if "disk is full" in low or "database or disk is full" in low or "no space" in low:
        return f"{where}: the disk is full ({text}): free space; nothing sent is lost, recording resumes"
    if "unable to open" in low:
        return f"{where} cannot be opened ({text}): check the path and its directory's permissions"
    return f"{where}: database error: {text}"


def is_database_error(exc: BaseException) -> bool:
    if isinstance(exc, (sqlite3.Error, StoreError)):
        return True
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    return isinstance(exc, psycopg.Error)
