"""Release-model benchmark: a simulated week on a fake clock.

Fake sources publish each release at its documented minute plus a random 0-120 s; one
ReleasePoller per source (the real class the bot runs) polls them. Prints, per source:
publication-to-fetch latency p50 / p99 (goal p50 <= 10 s, p99 <= 20 s), requests per day
(release windows only; the two-hourly background poll adds 12 x series), and the bytes an
empty poll costs on the wire against a local server that honours conditional requests.

    python benchmarks/bench_release.py [--seed N] [--request-seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
from collections import Counter
from datetime import date, datetime, time, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.release import ET, RELEASES, publishes_on
from bot.schedule import ReleasePoller

WEEK = date(2026, 11, 30)  # Monday; H.4.1 on Thursday 2026-12-03


class FakeWorld:
    """One source's publications and a fake clock shared with its poller."""

    def __init__(self, source: str, rng: random.Random, request_seconds: float) -> None:
        self.t = datetime.combine(WEEK, time(0, 0), ET)
        self.end = self.t + timedelta(days=7)
        self.request_seconds = request_seconds
        # (release key, day) -> publication instant; series -> release events
        self.events: list[tuple[str, tuple[str, ...], datetime]] = []
        for i in range(7):
            day = WEEK + timedelta(days=i)
            for r in RELEASES:
                if r.source == source and publishes_on(r, day):
                    doc = datetime.combine(day, r.at, ET)
                    self.events.append((r.key, r.series, doc + timedelta(seconds=rng.uniform(0, 120))))
        self.delivered: dict[tuple[str, str], datetime] = {}  # (release, series) -> fetched at
        self.requests: Counter[date] = Counter()
        self.latency: list[float] = []

    def now(self) -> datetime:
        return self.t

    async def sleep(self, seconds: float) -> bool:
        self.t += timedelta(seconds=seconds)
        return self.t >= self.end

    async def fetch(self, series: tuple[str, ...]) -> set[str]:
        self.requests[self.t.date()] += len(series)
        self.t += timedelta(seconds=self.request_seconds * len(series))
        new = set()
        for key, ser, pub in self.events:
            for s in ser:
                if s in series and pub <= self.t and (key, s, pub) not in self.delivered:
                    self.delivered[(key, s, pub)] = self.t
                    new.add(s)
        # a release counts as delivered once all its series are in
        for key, ser, pub in self.events:
            if all((key, s, pub) in self.delivered for s in ser) and (key, "*", pub) not in self.delivered:
                self.delivered[(key, "*", pub)] = self.t
                self.latency.append((self.t - pub).total_seconds())
        return new


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def simulate(seed: int, request_seconds: float) -> None:
    rng = random.Random(seed)
    print(f"simulated week {WEEK} .. {WEEK + timedelta(days=6)}, publication = documented minute + U(0, 120) s, "
          f"seed {seed}, {request_seconds:g} s per request")
    print("latency = publication to fetch; fetch to chat is bench_latency.py's figure (goal p50 < 2 s)")
    print(f"{'source':<11}{'releases':>9}{'p50 s':>8}{'p99 s':>8}{'max s':>8}   requests per day (release windows)")
    for source in ("nyfed", "fred", "fiscaldata"):
        world = FakeWorld(source, rng, request_seconds)
        poller = ReleasePoller(source, world.fetch, world.now, world.sleep)
        asyncio.run(poller.run())
        per_day = ", ".join(f"{d:%a} {n}" for d, n in sorted(world.requests.items()))
        lat = world.latency
        print(f"{source:<11}{len(lat):>9}{statistics.median(lat):>8.1f}{pct(lat, 99):>8.1f}{max(lat):>8.1f}   {per_day}")
        missed = len(world.events) - len(lat)
        if missed:
            print(f"  {missed} release(s) never fetched")


def bytes_per_empty_poll() -> None:
    """One NY Fed ON RRP query (the narrow one the bot sends) twice against a local server that
    honours If-None-Match: the second answer is a 304, headers only."""
    from bot.catalog import default_catalog
    from bot.sources.http import make_client
    from bot.sources.nyfed import NyFedSource
    from tests.fakes.http import FakeServer, Reply
    from tests.fakes.sources import nyfed_operation

    cat = default_catalog()
    ops = [nyfed_operation(f"2026-11-{d:02d}", "Reverse Repo", 1e11 + d, op_id=str(d)) for d in range(16, 28)
           if date(2026, 11, d).weekday() < 5]
    etag = '"rrp-2026-11-27"'
    with FakeServer() as srv:
        srv.routes["/api/rp/results/search.json"] = lambda req: (
            Reply(304, b"", headers={"ETag": etag}) if req.headers.get("if-none-match") == etag
            else Reply(200, {"repo": {"operations": ops}}, headers={"ETag": etag}))
        client = make_client(5)
        src = NyFedSource(cat, client, srv.url + "/api", today=date(2026, 11, 30))
        start = date(2026, 11, 17)  # the bot's incremental start: last stored date minus the overlap
        src.fetch(cat.series["NYFED_RRP"], start)
        full = client.stats["127.0.0.1"].last_bytes
        src.fetch(cat.series["NYFED_RRP"], start)
        empty = client.stats["127.0.0.1"].last_bytes
    print(f"bytes per poll, NY Fed ON RRP narrow query ({len(ops)} operations): "
          f"200 with body {full} B; empty poll (304 Not Modified) {empty} B (response status line + headers)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--request-seconds", type=float, default=0.3, help="simulated duration of one request")
    args = ap.parse_args()
    simulate(args.seed, args.request_seconds)
    bytes_per_empty_poll()


if __name__ == "__main__":
    main()
