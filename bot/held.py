"""Alerts held back by a firing stale-data alert, kept in the store (bot/inhibit.py decides).

The held list is written in the same transaction as the events it names, so a restart neither
forgets a held alert nor sends one twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping

from bot.inhibit import Held, dumps, loads, release
from bot.redact import detail_level
from bot.rules.lifecycle import Alert
from bot.store import Storage

log = logging.getLogger(__name__)

HELD_KEY = "inhibited_events"  # meta: the held alerts, as bot/inhibit.py dumps them


class HeldAlerts:
    """The held alerts as stored, read once and then kept in memory."""

    def __init__(self, store: Storage) -> None:
        self.store = store
        self._held: list[Held] | None = None  # None: read the store

    def forget(self) -> None:
        """Read the store again next time (another replica may have changed it)."""
        self._held = None

    def any(self) -> bool:
        """Is any alert held back?"""
        if self._held is None:
            self._held = loads(self.store.get_meta(HELD_KEY))
        return bool(self._held)

    def settle(self, new: list[Held], inhibited: Collection[str], alerts: Mapping[str, Alert],
               queue: Callable[[Held], bool]) -> tuple[bool, list[Held]]:
        """In the caller's transaction: hold `new`, and queue each held alert its data no longer
        holds back (`queue` says whether it was still true and due, and queued it). Returns
        (anything queued, what stays held) for `keep` once the transaction has committed."""
        send, drop, keep = release(self._held or [], inhibited, alerts)
        queued = [h for h in send if queue(h)]
        drop += [h for h in send if h not in queued]
        for h in (*new, *drop):
            log.log(detail_level(h.rule_id), "alert %s %s (data %s): %s", h.rule_id, h.state, h.data_date,
                    "held back: its data is stale" if h in new else "dropped: no longer true after stale data")
        if new or send or drop:  # changed: written with the events it names
            self.store.set_meta(HELD_KEY, dumps([*keep, *new]))
        return bool(queued), [*keep, *new]

    def keep(self, held: list[Held]) -> None:
        """What `settle` left held, now recorded."""
        self._held = held
