"""What every command service reads: the store, the catalog, the current rules, the clock and the
frames (cached per evaluation). Shared by reference, so replacing the store reaches every service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.catalog import Catalog
from bot.metrics import Frames
from bot.rules.model import Rule
from bot.store import Storage


class Core:
    """The state the command services share."""

    def __init__(self, store: Storage, catalog: Catalog, rules: Callable[[], list[Rule]], now: Callable[[], datetime]):
        self.store, self.catalog, self._rules, self.now = store, catalog, rules, now
        self.frames_cache: Frames | None = None

    @property
    def rules(self) -> list[Rule]:
        """The rules loaded now (they change on reload)."""
        return self._rules()

    def frames(self) -> Frames:
        """The metric frames: the engine's newest, else read from the store once per evaluation."""
        frames = self.frames_cache
        if frames is None:  # read once per evaluation, not per request
            frames = self.frames_cache = self.store.frames(self.catalog)
        return frames

    def topics(self) -> list[str]:
        """The topics a chat may subscribe to or mute: the rules' and "all"."""
        return [*sorted({r.topic for r in self.rules}), "all"]

    def stamp(self) -> str:
        """Now, to the second, as the store records it."""
        return self.now().isoformat(timespec="seconds")
