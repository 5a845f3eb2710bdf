"""Rows the store hands out: plain frozen dataclasses, the same for SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FetchRecord:
    """One attempt to fetch a source, as the fetch log keeps it (`error` None: it worked)."""

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
    """One pending delivery as delivery reads it: the row, its event, and its chat's settings."""

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
    batch: str | None = None      # when it was queued: one evaluation's rows to a chat go as one message
