"""File source: directories of CSVs named after catalog series (WRESBAL.csv, TGA_DTS_CLOSE.csv),
in the units the catalog expects. For firewalled users with mirrored data, tests and backtests."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bot.catalog import Catalog, SeriesDef
from bot.sources import Rows, Source, SourceError, scale
from bot.sources.fred import parse_fred_csv


class FileSource(Source):
    """CSV files in --data folders, polled every minute (a file has no release calendar)."""

    name = "files"
    poll_every = 60.0

    def __init__(self, catalog: Catalog, dirs: list[str | Path]):
        self._catalog = catalog
        self.dirs = [Path(d) for d in dirs]
        for d in self.dirs:
            if not d.is_dir():
                raise SourceError(f"--data {d}: not a directory")
        # Files unchanged since the last read are skipped: polling every second stays cheap.
        self._seen: dict[Path, tuple[float, int]] = {}

    def _path(self, sid: str) -> Path | None:
        for d in self.dirs:
            p = d / f"{sid}.csv"
            if p.is_file():
                return p
        return None

    def forget(self) -> None:
        """Read every file again at the next fetch (what was read could not be stored)."""
        self._seen.clear()

    def location(self) -> str:
        """The --data folders, for the start-up summary."""
        return ", ".join(map(str, self.dirs))

    def series(self) -> list[SeriesDef]:
        return [s for s in self._catalog.series.values() if self._path(s.id)]

    def fetch(self, sdef: SeriesDef, start: date | None) -> Rows:
        path = self._path(sdef.id)
        if path is None:
            raise SourceError(f"{sdef.id}.csv not found in {', '.join(map(str, self.dirs))}")
        st = path.stat()
        sig = (st.st_mtime, st.st_size)
        if self._seen.get(path) == sig:
            return []  # read before and unchanged: nothing new (and its bad rows were logged once)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError(f"{path}: cannot read ({exc})") from None
        rows = parse_fred_csv(text, sdef.id)
        self._seen[path] = sig
        if start is not None:
            iso = start.isoformat()
            rows = [r for r in rows if r[0] >= iso]
        return scale(rows, sdef)
