"""Observations: stored values and their vintages, held prints and quarantine, the fetch
log, and when each release's new data first appeared (bot/release.py learns from these)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from bot.store.connection import SQLBase
from bot.store.records import FetchRecord

if TYPE_CHECKING:
    from bot.catalog import Catalog
    from bot.metrics import Frames


class ObservationsRepo(SQLBase):
    """Queries of `observations`, `latest`, `held_prints`, `quarantine`, `fetch_log`, `release_seen`."""

    def latest_map(self, series: str) -> dict[str, float]:
        """{date: newest value} for one series."""
        return dict(self._rows("SELECT date, value FROM latest WHERE series = ?", [series]))

    def add_observations(self, series: str, rows: Iterable[tuple[str, float]], *, source: str,
                         vintage: str, known: dict[str, float] | None = None) -> list[str]:
        """Store new and revised values (a revision is a new vintage row); return their dates.

        Values equal to the newest stored one for the date are skipped, so re-reading the
        same file or an overlapping window adds nothing. `known` is `latest_map(series)` when
        the caller already has it.
        """
        if known is None:
            known = self.latest_map(series)
        fresh = [(d, float(v)) for d, v in rows if known.get(d) is None or abs(known[d] - v) > 1e-9 * max(1.0, abs(v))]
        if not fresh:
            return []
        with self.transaction():
            self._many(
                "INSERT INTO observations (series, date, vintage, value, source) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (series, date, vintage) DO UPDATE SET value = excluded.value, source = excluded.source",
                [(series, d, vintage, v, source) for d, v in fresh])
            self._many(
                "INSERT INTO latest (series, date, value, vintage) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (series, date) DO UPDATE SET value = excluded.value, vintage = excluded.vintage",
                [(series, d, v, vintage) for d, v in fresh])
        return [d for d, _ in fresh]

    def last_date(self, series: str) -> str | None:
        """Newest observation date stored for a series."""
        last: str | None = self._value("SELECT max(date) FROM latest WHERE series = ?", [series])
        return last

    def series_since(self, series: str, since: str | None) -> list[tuple[str, float]]:
        """Newest values of one series dated on or after `since` (all when None), by date."""
        if since is None:
            return self._rows("SELECT date, value FROM latest WHERE series = ? ORDER BY date", [series])
        return self._rows("SELECT date, value FROM latest WHERE series = ? AND date >= ? ORDER BY date",
                          [series, since])

    def load_series(self, series: Sequence[str]) -> dict[str, pd.Series]:
        """Newest vintage of each series as a float Series indexed by date (sorted)."""
        out: dict[str, pd.Series] = {}
        for sid in series:
            rows = self._rows("SELECT date, value FROM latest WHERE series = ? ORDER BY date", [sid])
            if rows:
                dates, values = zip(*rows, strict=False)
                out[sid] = pd.Series(values, index=pd.DatetimeIndex(dates), dtype=float, name=sid)
        return out

    def frames(self, catalog: "Catalog") -> "Frames":
        """Every catalog metric computed from the newest stored values (see bot.metrics)."""
        from bot.metrics import compute_metrics, needed_series

        return compute_metrics(catalog, self.load_series(needed_series(catalog)))

    def revisions(self, series: str, date: str) -> list[tuple[str, float]]:
        """All vintages of one observation, oldest first."""
        return self._rows(
            "SELECT vintage, value FROM observations WHERE series = ? AND date = ? ORDER BY vintage", [series, date])

    def observation_count(self) -> int:
        count: int = self._value("SELECT count(*) FROM observations")
        return count

    def hold_print(self, series: str, date: str, value: float, reason: str, now: str) -> None:
        """Record that a new print of `series` was refused as a probable unit change."""
        self._run("INSERT INTO held_prints (series, date, value, reason, held_at) VALUES (?, ?, ?, ?, ?)"
                  " ON CONFLICT (series) DO UPDATE SET date = excluded.date, value = excluded.value,"
                  " reason = excluded.reason, held_at = excluded.held_at", [series, date, value, reason, now])

    def release_held(self, series: str, through: str) -> bool:
        """Forget the held print of `series` once a good print dated `through` or later is stored."""
        return self._run("DELETE FROM held_prints WHERE series = ? AND date <= ?", [series, through]) > 0

    def held_prints(self) -> dict[str, dict[str, Any]]:
        """{series: {date, value, reason, held_at}} for every series with a held print."""
        return {r.pop("series"): r for r in
                self._dicts("SELECT series, date, value, reason, held_at FROM held_prints ORDER BY series")}

    def quarantine_after(self, last_ok: str, now: str) -> list[tuple[str, str, float]]:
        """Move every stored observation dated after `last_ok` (or not a plain date that sorts
        after it) into `quarantine`; return the (series, date, value) moved, newest vintages."""
        with self.transaction():
            moved = self._rows("SELECT series, date, value FROM latest WHERE date > ? ORDER BY series, date", [last_ok])
            self._run("INSERT INTO quarantine (series, date, vintage, value, source, reason, quarantined_at)"
                      " SELECT series, date, vintage, value, source, ?, ? FROM observations WHERE date > ?"
                      " ON CONFLICT (series, date, vintage) DO NOTHING",
                      [f"dated after {last_ok} when found at start", now, last_ok])
            self._run("DELETE FROM observations WHERE date > ?", [last_ok])
            self._run("DELETE FROM latest WHERE date > ?", [last_ok])
        return moved

    def log_fetch(self, rec: FetchRecord) -> None:
        self._run(
            "INSERT INTO fetch_log (source, started_at, finished_at, rows, data_date, error) VALUES (?, ?, ?, ?, ?, ?)",
            [rec.source, rec.started_at, rec.finished_at, rec.rows, rec.data_date, rec.error])

    def last_fetches(self) -> dict[str, dict[str, Any]]:
        """Per source: the last attempt and the last success."""
        out: dict[str, dict[str, Any]] = {}
        for source, in self._rows("SELECT DISTINCT source FROM fetch_log"):
            # A source listed above has at least one row.
            last = self._rows(
                "SELECT finished_at, rows, error FROM fetch_log WHERE source = ? ORDER BY id DESC LIMIT 1", [source])[0]
            ok = self._one(
                "SELECT finished_at FROM fetch_log WHERE source = ? AND error IS NULL ORDER BY id DESC LIMIT 1",
                [source])
            out[source] = {"last_attempt": last[0], "last_rows": last[1], "last_error": last[2],
                           "last_success": ok[0] if ok else None}
        return out

    def record_release_seen(self, release: str, day: str, seen_at: str, delay_seconds: float | None) -> bool:
        """Record when `release`'s new data first appeared on ET `day`; False if already recorded."""
        return self._run(
            "INSERT INTO release_seen (release, day, seen_at, delay_seconds) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (release, day) DO NOTHING", [release, day, seen_at, delay_seconds]) > 0

    def release_seen(self, release: str, limit: int = 40) -> list[dict[str, Any]]:
        """The most recent observations of `release`, oldest first: {day, seen_at, delay_seconds}."""
        rows = self._rows("SELECT day, seen_at, delay_seconds FROM release_seen WHERE release = ?"
                          " ORDER BY day DESC LIMIT ?", [release, limit])
        return [{"day": d, "seen_at": s, "delay_seconds": x} for d, s, x in reversed(rows)]
