"""Source adapters: each turns one upstream (FRED, NY Fed, FiscalData, CSV files) into rows of
(ISO date, value in dollars or percent) for catalog series, asking only for what is new."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from bot.catalog import SeriesDef

Rows = list[tuple[str, float]]


class SourceError(Exception):
    """A fetch failed in a way worth one clear log line (HTTP status, timeout, bad body)."""


class Unreachable(SourceError):
    """The host gave no answer at all: no connection, or no complete response head in time.
    The source's other series are not asked in the same fetch (they would wait just as long)."""


class Source(Protocol):
    """One upstream as the runtime sees it. Sources subclass it for the defaults below: a
    network source follows the release calendar and keeps nothing to forget."""

    name: str
    # Seconds between fixed polls for a source with no release calendar (files); None: the calendar.
    poll_every: float | None = None

    def series(self) -> list[SeriesDef]:
        """The catalog series this source serves."""
        ...

    def fetch(self, sdef: SeriesDef, start: date | None) -> Rows:
        """Observations of one series dated on or after `start` (all when None), base units."""
        ...

    def forget(self) -> None:
        """Read everything again at the next fetch (what was read could not be stored)."""
        return None

    def location(self) -> str | None:
        """Where the data comes from, when start-up should name it (the --data folders)."""
        return None


def scale(rows: list[tuple[str, float]], sdef: SeriesDef) -> Rows:
    """Convert source-unit values to the catalog's base unit (dollars or percent)."""
    f = sdef.factor
    return [(d, v * f) for d, v in rows]
