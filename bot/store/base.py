"""`SQLStore`: every repository over one connection, the base of the SQLite and PostgreSQL stores.

Each concern's queries live in their own module (observations, alerts, outbox, chats, personal),
all written on the connection and dialect layer in bot/store/connection.py.
"""

from __future__ import annotations

from bot.store.alerts import AlertsRepo
from bot.store.auctions import AuctionsRepo
from bot.store.chats import ChatsRepo
from bot.store.connection import SQLBase
from bot.store.observations import ObservationsRepo
from bot.store.outbox import OutboxRepo
from bot.store.personal import PersonalRepo
from bot.store.records import FetchRecord, OutboxRow, PersonalAdded

__all__ = ["FetchRecord", "OutboxRow", "PersonalAdded", "SQLBase", "SQLStore"]


class SQLStore(ObservationsRepo, AlertsRepo, OutboxRepo, ChatsRepo, PersonalRepo, AuctionsRepo):
    """The bot's whole state; subclasses give the connection (see bot/store/connection.py)."""
