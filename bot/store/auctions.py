"""Announced Treasury auctions (FiscalData upcoming_auctions), kept so /calendar never fetches."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from bot.liquidity_calendar import Auction
from bot.store.connection import SQLBase


class AuctionsRepo(SQLBase):
    """Queries of `upcoming_auctions`: one row per (cusip, auction date), the newest answer wins."""

    def save_auctions(self, auctions: Iterable[tuple[str, Auction]], now: str) -> int:
        """Store (cusip, auction) pairs; a re-announced auction's amount replaces the old one."""
        rows = [(cusip, a.auction_date.isoformat(), a.issue_date.isoformat(), a.security_type, a.security_term,
                 a.offering_amount, now) for cusip, a in auctions]
        with self.transaction():
            self._many(
                "INSERT INTO upcoming_auctions (cusip, auction_date, issue_date, security_type, security_term,"
                " offering_amount, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (cusip, auction_date) DO UPDATE SET issue_date = excluded.issue_date,"
                " security_type = excluded.security_type, security_term = excluded.security_term,"
                " offering_amount = excluded.offering_amount, fetched_at = excluded.fetched_at", rows)
        return len(rows)

    def auctions_settling(self, first: date, last: date) -> list[Auction]:
        """Stored auctions whose issue (settlement) day is between `first` and `last`."""
        rows = self._rows(
            "SELECT auction_date, issue_date, security_type, security_term, offering_amount FROM upcoming_auctions"
            " WHERE issue_date >= ? AND issue_date <= ? ORDER BY issue_date, security_type, security_term",
            [first.isoformat(), last.isoformat()])
        return [Auction(date.fromisoformat(a), date.fromisoformat(i), t, term, amt) for a, i, t, term, amt in rows]

    def auctions_fetched_at(self) -> str | None:
        """When the newest stored answer was fetched (UTC), or None."""
        value: str | None = self._value("SELECT max(fetched_at) FROM upcoming_auctions")
        return value


def stored_auctions(store: object, first: date | None = None, last: date | None = None) -> list[Auction]:
    """The stored auctions of a store that keeps them (any other store: none)."""
    if not isinstance(store, AuctionsRepo):
        return []
    return store.auctions_settling(first or date.min, last or date.max)
