"""bot/sources/http.py against local servers: whole-request timeout, size limit, redirects,
User-Agent, conditional requests (ETag / If-Modified-Since) and the politeness budget."""

from __future__ import annotations

import gzip
import socket
import threading
import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.budget import Budget, BudgetExceeded
from bot.sources import SourceError
from bot.sources.http import MAX_BYTES, USER_AGENT, get, get_json, make_client, not_modified
from bot.sources.nyfed import NyFedSource
from tests.fakes.http import FakeServer, Reply
from tests.fakes.sources import nyfed_operation


@pytest.fixture
def server():
    with FakeServer() as s:
        yield s


class TrickleServer:
    """Answers 200 with a long Content-Length, then sends one byte every `gap` seconds.
    Stops by itself when the client hangs up or after `life` seconds."""

    def __init__(self, gap: float = 0.3, life: float = 15.0) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        self.gap, self.life = gap, life
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(self.life)
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
            end = time.monotonic() + self.life
            try:
                while time.monotonic() < end:
                    conn.sendall(b" ")
                    time.sleep(self.gap)  # the trickle itself, not a wait on the code under test
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()


def test_timeout_bounds_the_whole_request_against_a_trickling_server():
    srv = TrickleServer(gap=0.3)
    client = make_client(timeout=1.5)
    started = time.monotonic()
    with pytest.raises(SourceError, match="timed out"):
        get(client, srv.url, None, "trickle")
    # Each byte arrives well inside the per-read timeout; only the whole-request bound stops it
    # (without it: the server's 15 s life).
    assert time.monotonic() - started < 10
    srv.close()


def test_a_read_stalled_at_the_deadline_is_cut_at_the_deadline():
    srv = TrickleServer(gap=3.0)  # each read alone would wait up to the 3.5 s read timeout
    started = time.monotonic()
    with pytest.raises(SourceError, match="timed out"):
        get(make_client(timeout=3.5), srv.url, None, "trickle")
    # Cut at 3.5 s; a read let run past the deadline ends at 6 s (the second byte).
    assert time.monotonic() - started < 5.5
    srv.close()


def test_a_body_over_20_mb_after_decompression_is_refused(server):
    bomb = gzip.compress(b"0" * (MAX_BYTES + 1024))
    assert len(bomb) < 1_000_000  # small on the wire: only the decompressed size gives it away
    server.routes["/big"] = lambda req: Reply(200, bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(SourceError, match="over 20 MB refused"):
        get(make_client(5), server.url + "/big", None, "big")
    server.routes["/declared"] = lambda req: Reply(200, b"x" * 10)
    assert get(make_client(5), server.url + "/declared", None, "small").content == b"x" * 10


def test_redirects_to_another_host_are_not_followed_same_host_ones_are(server):
    other = f"http://localhost:{server.port}/target"  # same port, another host name
    server.routes["/away"] = lambda req: Reply(302, b"", headers={"Location": other})
    server.routes["/here"] = lambda req: Reply(301, b"", headers={"Location": "/target"})
    server.routes["/target"] = lambda req: Reply(200, {"ok": True})
    client = make_client(5)
    with pytest.raises(SourceError, match="redirect to another host \\(localhost\\) not followed"):
        get(client, server.url + "/away", None, "away")
    assert not server.hits("/target")
    assert get_json(client, server.url + "/here", None, "here") == {"ok": True}
    assert len(server.hits("/target")) == 1


def test_requests_carry_a_user_agent_naming_the_project_and_version(server):
    from bot import __version__

    server.routes["/ua"] = lambda req: Reply(200, {})
    get(make_client(5), server.url + "/ua", None, "ua")
    ua = server.hits("/ua")[0].headers["user-agent"]
    assert ua == USER_AGENT and ua.startswith(f"liquidity-bot/{__version__}")


def _conditional_nyfed(server: FakeServer, ops: list[dict], etag: str = '"v1"',
                       lm: str = "Mon, 30 Nov 2026 18:15:00 GMT"):
    """Real NY Fed body shape (see tests/fakes/sources.py), served with validators the way a
    server honouring RFC 9110 conditional GETs does: 304 and no body when the validator matches."""
    def handler(req):
        if req.headers.get("if-none-match") == etag or req.headers.get("if-modified-since") == lm:
            return Reply(304, b"", headers={"ETag": etag, "Last-Modified": lm})
        return Reply(200, {"repo": {"operations": ops}}, headers={"ETag": etag, "Last-Modified": lm})

    server.routes["/api/rp/results/search.json"] = handler


def test_conditional_requests_make_an_empty_poll_a_few_hundred_bytes(server, catalog):
    ops = [nyfed_operation(f"2026-11-{d:02d}", "Reverse Repo", 1e9 + d, op_id=str(d)) for d in range(2, 28)]
    _conditional_nyfed(server, ops)
    client = make_client(5)
    src = NyFedSource(catalog, client, server.url + "/api", today=date(2026, 11, 30))
    first = src.fetch(catalog.series["NYFED_RRP"], date(2026, 11, 1))
    host = "127.0.0.1"
    full = client.stats[host].last_bytes
    again = src.fetch(catalog.series["NYFED_RRP"], date(2026, 11, 1))
    hits = server.hits("/api/rp/results/search.json")
    assert hits[1].headers["if-none-match"] == '"v1"'
    assert hits[1].headers["if-modified-since"] == "Mon, 30 Nov 2026 18:15:00 GMT"
    assert again == first  # the parser got the remembered body: nothing new for ingest
    assert client.stats[host].not_modified == 1
    assert client.stats[host].last_bytes < 400 < full
    # A new publication changes the validator: the full body comes back with the new row.
    _conditional_nyfed(server, [*ops, nyfed_operation("2026-11-30", "Reverse Repo", 5000000000.0, op_id="30")], '"v2"',
                      "Mon, 30 Nov 2026 18:16:05 GMT")
    newest = src.fetch(catalog.series["NYFED_RRP"], date(2026, 11, 1))
    assert newest[-1] == ("2026-11-30", 5e9)


def test_not_modified_flags_a_replayed_body(server):
    server.routes["/c"] = lambda req: (Reply(304, b"", headers={"ETag": '"a"'}) if req.headers.get("if-none-match")
                                       else Reply(200, {"n": 1}, headers={"ETag": '"a"'}))
    client = make_client(5)
    assert not not_modified(get(client, server.url + "/c", {"x": "1"}, "c"))
    r = get(client, server.url + "/c", {"x": "1"}, "c")
    assert not_modified(r) and r.json() == {"n": 1}
    # Another query is another resource: no validator sent.
    get(client, server.url + "/c", {"x": "2"}, "c")
    assert "if-none-match" not in server.hits("/c")[-1].headers


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_budget_allows_60_a_minute_per_host_then_refuses_until_the_window_slides():
    clock = FakeClock(1_795_000_000.0)
    b = Budget(clock=clock)
    for _ in range(60):
        b.acquire("markets.newyorkfed.org")
        clock.t += 0.5
    with pytest.raises(BudgetExceeded, match="60 requests a minute"):
        b.acquire("markets.newyorkfed.org")
    b.acquire("api.stlouisfed.org")  # another host has its own minute
    clock.t += 31  # the first request is now over a minute old
    b.acquire("markets.newyorkfed.org")


def test_budget_caps_a_source_at_1500_a_day_and_resets_at_eastern_midnight():
    start = datetime(2026, 11, 30, 23, 0, tzinfo=ZoneInfo("America/New_York")).timestamp() - 1800
    clock = FakeClock(start)  # 22:30 US/Eastern
    b = Budget(clock=clock)
    for _ in range(1500):
        b.acquire("h", "nyfed")
        clock.t += 1.1  # 1500 requests in 27.5 minutes: under 60 a minute
    assert b.used_today("nyfed") == 1500
    with pytest.raises(BudgetExceeded, match="1500 requests today"):
        b.acquire("h", "nyfed")
    clock.t += 3 * 3600  # past midnight US/Eastern
    b.acquire("h", "nyfed")
    assert b.used_today("nyfed") == 1


def test_the_client_enforces_the_budget_before_sending(server):
    server.routes["/b"] = lambda req: Reply(200, {})
    clock = FakeClock(1_795_000_000.0)
    client = make_client(5, Budget(per_minute=3, clock=clock))
    for _ in range(3):
        get(client, server.url + "/b", None, "b")
    with pytest.raises(SourceError, match="politeness budget"):
        get(client, server.url + "/b", None, "b")
    assert len(server.hits("/b")) == 3  # the refused request never left the machine
