"""Decide who is told of a rule's transitions, and when.

The engine computes transitions; this module maps each to its destinations (the owner of a
personal alert only, else the topic's subscribers plus the feeds), minus muted and inactive
chats, and decides quiet hours for delivery. It reads the store through one `Snapshot` per
evaluation and imports nothing about chat platforms.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.localtime import SpecError, quiet_until

Chat = tuple[str, str]                # (platform, chat_id)
Destination = tuple[str, str, str]    # (platform, chat_id, reason): one outbox row
# Where one transition goes: its destinations, and how many chats muted it (a plain tuple:
# thousands of personal alerts can fire on one print).
Route = tuple[list[Destination], int]


class RoutingStore(Protocol):
    """The store reads and the one write routing needs."""

    def subscribers(self, topic: str) -> list[tuple[str, str]]:
        """Active chats subscribed to `topic` or to `all`."""

    def mutes(self, now: str) -> list[tuple[Any, ...]]:
        """Active mutes: (platform, chat_id, target, until, until_resolved)."""

    def inactive_chats(self) -> set[tuple[str, str]]:
        """Chats that blocked or removed the bot."""

    def end_resolved_mutes(self, targets: Sequence[str], owner: tuple[str, str] | None = None) -> int:
        """Delete mutes "until resolved" of `targets` (in `owner`'s chat only, when given)."""


class Snapshot:
    """Who may be told, as of one evaluation: each part read from the store on first need and
    then kept, so an evaluation with nothing to send reads nothing and thousands of firing
    alerts share one read."""

    def __init__(self, store: RoutingStore, now: str):
        self.store = store
        self.now = now  # ISO seconds, naive UTC: mutes with an `until` after it are active
        self._subscribers: dict[str, list[Chat]] = {}
        self._filters: tuple[dict[Chat, set[str]], set[Chat]] | None = None

    def subscribers(self, topic: str) -> list[Chat]:
        """Active chats subscribed to `topic` or to `all`, in the store's order."""
        subs = self._subscribers.get(topic)
        if subs is None:
            subs = self._subscribers[topic] = [(p, c) for p, c in self.store.subscribers(topic)]
        return subs

    def filters(self) -> tuple[dict[Chat, set[str]], set[Chat]]:
        """(chat -> its muted targets: "all", a topic, a rule id, "personal"; the chats that
        blocked or removed the bot), read together as one view of the chats."""
        if self._filters is None:
            muted: dict[Chat, set[str]] = {}
            for p, c, target, _until, _resolved in self.store.mutes(self.now):
                muted.setdefault((p, c), set()).add(target)
            self._filters = (muted, self.store.inactive_chats())
        return self._filters


@dataclass
class Router:
    """Maps a rule's transitions to chats for one evaluation.

    A personal alert goes to its owner only (never another chat), if the owner's platform runs
    and the chat is active; a shared rule to its topic's subscribers on running platforms, then
    the feeds not already among them. A chat that muted "all", the topic or the rule is left out.
    """

    snapshot: Snapshot
    feeds: Sequence[Chat] = ()
    platforms: Collection[str] = field(default_factory=set)
    owners: Mapping[str, Chat] = field(default_factory=dict)  # personal rule id -> its chat

    def route(self, rule_id: str, topic: str) -> Route:
        """The destinations of a transition of rule `rule_id` (in `topic`), and how many chats
        were left out because they muted it."""
        muted, inactive = self.snapshot.filters()
        owner = self.owners.get(rule_id)
        out: list[Destination]
        if owner:
            live = owner[0] in self.platforms and owner not in inactive
            out = [(owner[0], owner[1], "personal alert")] if live else []
        else:
            out = [(p, c, f"subscribed to {topic}") for p, c in self.snapshot.subscribers(topic)
                   if p in self.platforms]
            seen = {(p, c) for p, c, _ in out}
            out += [(p, c, "feed") for p, c in self.feeds if (p, c) not in seen]
        kept = [d for d in out if not muted.get((d[0], d[1]), set()) & {"all", topic, rule_id}]
        return kept, len(out) - len(kept)

    def resolved(self, rule_id: str, topic: str) -> None:
        """The rule resolved: its mutes "until resolved" (of it or its topic) end, a personal
        alert's only in its owner's chat. This evaluation's snapshot keeps what it read."""
        self.snapshot.store.end_resolved_mutes([rule_id, topic], self.owners.get(rule_id))


def quiet_hold(quiet: str | None, severity: str, now: Callable[[], datetime]) -> datetime | None:
    """When a row due now to a chat with quiet hours `quiet` may go instead: the end of the
    quiet hours it falls in, or None to send now. Decided at delivery time, so a row queued just
    before the window opens is held once it is due inside it. A critical row always goes, and so
    does one whose setting can no longer be read (a removed timezone). `now` (naive UTC) is
    read only for a row that could be held, as the deliverer's clock always was."""
    if not quiet or severity == "critical":
        return None
    try:
        return quiet_until(quiet, now())
    except SpecError:
        return None
