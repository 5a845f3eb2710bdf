"""Politeness toward the sources: per-host pace (FRED's real limits), Retry-After, shared paces,
and a CLI that starts without importing what it does not use."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from email.utils import formatdate

import pytest

from bot.pace import FRED_API_HOST, FRED_CSV_HOST, INTERVALS, RETRY_AFTER_CAP, Pacer, StoreSlots, retry_after, shared_pacer
from bot.sources import SourceError
from bot.sources.fred import FredApiSource, FredCsvSource
from bot.sources.http import get, get_json, make_client
from bot.store.errors import StoreError
from bot.store.sqlite import SQLiteStore
from tests.fakes.http import FakeServer, Reply, Request
from tests.fakes.sources import FakeFred


def test_the_cli_starts_without_importing_fredapi_or_pandas():
    # fredapi (and the pandas it imports) cost ~0.3 s of every `liquidity-bot --help`.
    code = ("import sys, bot.cli, bot.wiring, bot.sources.fred; heavy = [m for m in ('fredapi', 'pandas') if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


class BurstGuard:
    """Answers any request that starts less than `gap` s after the previous one on this server
    with FRED's rate-limit error (the API's documented XML error shape, as the 400s in
    tests/fakes/sources.py; code 429 "Too Many Requests.  Exceeded Rate Limit")."""

    SLACK = 0.05  # loopback scheduling jitter between our request start and the server's read

    def __init__(self, server: FakeServer, gap: float) -> None:
        self.gap, self.last, self.refused = gap, None, 0
        self._lock = threading.Lock()
        for path, handler in list(server.routes.items()):
            server.routes[path] = self._guard(handler)

    def _guard(self, handler):
        def guarded(req: Request) -> Reply:
            with self._lock:
                now, last = time.monotonic(), self.last
                self.last = now
                if last is not None and now - last < self.gap - self.SLACK:
                    self.refused += 1
                    return Reply(429, '<?xml version="1.0"?><error code="429" message="Too Many Requests.  '
                                      'Exceeded Rate Limit"/>', "text/xml")
            return handler(req)
        return guarded


def _fred_data(ids: list[str]) -> dict[str, list[tuple[str, str]]]:
    return {sid: [("2026-11-25", "5.33"), ("2026-11-26", "5.34")] for sid in ids}


def _paced(host: str, interval: float) -> Pacer:
    return Pacer(intervals={host: interval})


def test_the_fred_api_fake_refusing_bursts_sees_none_when_the_bot_fetches_many_series(catalog):
    ids = ["SOFR", "EFFR", "IORB", "DFEDTARU"]  # two requests each: units once, then observations
    with FakeServer() as server:
        FakeFred(server, _fred_data(ids), units={sid: "Percent" for sid in ids})
        guard = BurstGuard(server, gap=INTERVALS[FRED_API_HOST])  # FRED's API: 2 a second
        client = make_client(10, pacer=_paced("127.0.0.1", INTERVALS[FRED_API_HOST]))
        src = FredApiSource(catalog, "k" * 32, server.url + "/fred", client=client)
        results = [src.fetch(catalog.series[sid], None) for sid in ids]
    assert guard.refused == 0 and all(results)
    assert len(server.requests) == 2 * len(ids)


def test_the_fred_csv_fake_refusing_bursts_sees_none(catalog):
    ids = ["SOFR", "EFFR", "IORB"]
    with FakeServer() as server:
        FakeFred(server, _fred_data(ids))
        guard = BurstGuard(server, gap=INTERVALS[FRED_CSV_HOST])  # robots.txt Crawl-delay: 1
        src = FredCsvSource(catalog, make_client(10, pacer=_paced("127.0.0.1", INTERVALS[FRED_CSV_HOST])),
                            server.url)
        assert all(src.fetch(catalog.series[sid], None) for sid in ids)
    assert guard.refused == 0 and len(server.requests) == len(ids)


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_retry_after_on_429_is_honoured_the_next_request_comes_no_earlier(form, caplog):
    with FakeServer() as server:
        arrivals: list[float] = []
        until: list[float] = []

        def handler(req: Request) -> Reply:
            arrivals.append(time.time())
            if len(arrivals) > 1:
                return Reply(200, {"ok": True})
            # HTTP dates have whole seconds: ask for the second after next.
            until.append(float(int(time.time()) + 2) if form == "http-date" else time.time() + 1)
            value = formatdate(until[0], usegmt=True) if form == "http-date" else "1"
            return Reply(429, {"error": "slow down"}, headers={"Retry-After": value})

        server.routes["/r"] = handler
        client = make_client(10, pacer=Pacer(intervals={}))
        with caplog.at_level(logging.WARNING, logger="bot.pace"):
            with pytest.raises(SourceError, match="HTTP 429"):
                get(client, server.url + "/r", None, "r")
            assert get_json(client, server.url + "/r", None, "r") == {"ok": True}
        assert arrivals[1] >= until[0] - 0.01  # not before the time the server asked for
        assert sum("Retry-After" in r.getMessage() for r in caplog.records) == 1


def test_a_long_retry_after_refuses_without_sending_and_is_logged_once_per_episode(caplog):
    with FakeServer() as server:
        server.faults["/h"] = [Reply(503, "busy", "text/plain", headers={"Retry-After": "120"})]
        server.routes["/h"] = lambda req: Reply(200, {"ok": True})
        clock = FakeClock(1_795_000_000.0)
        pacer = Pacer(intervals={}, clock=clock, sleep=clock.sleep)
        client = make_client(10, pacer=pacer)
        with caplog.at_level(logging.WARNING, logger="bot.pace"):
            with pytest.raises(SourceError, match="HTTP 503"):
                get(client, server.url + "/h", None, "h")
            for _ in range(3):
                with pytest.raises(SourceError, match=r"h: not sent: 127\.0\.0\.1 asked us to wait until .* "
                                                      r"\(Retry-After\), 120 s from now"):
                    get(client, server.url + "/h", None, "h")
            assert len(server.hits("/h")) == 1  # the refused requests never left the machine
            clock.t += 115  # within MAX_WAIT of the end: the request waits for it, then goes
            assert get_json(client, server.url + "/h", None, "h") == {"ok": True}
            assert clock.slept == [pytest.approx(120.0)]  # it went at the end of the hold, not before
        assert sum("Retry-After" in r.getMessage() for r in caplog.records) == 1


def test_retry_after_values_both_forms_capped():
    now = 1_795_000_000.0
    assert retry_after("7", now) == 7.0
    assert retry_after(formatdate(now + 30, usegmt=True), now) == pytest.approx(30.0)
    assert retry_after(formatdate(now - 30, usegmt=True), now) == 0.0
    assert retry_after("999999", now) == RETRY_AFTER_CAP
    assert retry_after("soon", now) is None and retry_after(None, now) is None


def test_clients_of_one_process_share_one_pace_and_budget():
    a, b = make_client(5), make_client(5)  # e.g. the release pollers' and a `fetch` in the same process
    assert a.pacer is b.pacer is shared_pacer() and a.budget is b.budget
    assert shared_pacer().intervals[FRED_CSV_HOST] == 1.0 and shared_pacer().intervals[FRED_API_HOST] == 0.5


def test_two_processes_on_one_database_share_the_pace_through_the_store(tmp_path):
    clock = FakeClock(1_795_000_000.0)
    db = tmp_path / "shared.db"
    SQLiteStore(db).close()
    # Two pacers with their own connections to one file: what `run` and `fetch` would have.
    pacers = [Pacer(clock=clock, sleep=clock.sleep, shared=StoreSlots(lambda: SQLiteStore(db))) for _ in range(2)]
    for i in range(6):
        pacers[i % 2].wait(FRED_API_HOST, None, "x")
    # Six requests alternating between the processes start 0.5 s apart, as one process's would.
    assert clock.slept == [pytest.approx(0.5 * n) for n in range(1, 6)]


def test_without_the_store_a_process_keeps_its_own_pace_at_half(caplog):
    clock = FakeClock(1_795_000_000.0)

    def broken(key: str, now: float, interval: float) -> float:
        raise StoreError("database is locked")

    pacer = Pacer(clock=clock, sleep=clock.sleep, shared=broken)
    with caplog.at_level(logging.WARNING, logger="bot.pace"):
        for _ in range(3):
            pacer.wait(FRED_CSV_HOST, None, "x")
    assert clock.slept == [pytest.approx(2.0), pytest.approx(4.0)]
    assert sum("half speed" in r.getMessage() for r in caplog.records) == 1


class FakeClock:
    """Epoch seconds that move only when told to, or when `sleep` is called (recorded)."""

    def __init__(self, t: float) -> None:
        self.t, self.start, self.slept = t, t, []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(self.t + seconds - self.start)
        self.t += seconds
