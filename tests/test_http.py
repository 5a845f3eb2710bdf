"""bot/sources/http.py against local servers: whole-request timeout, size limit, redirects,
User-Agent, conditional requests (ETag / If-Modified-Since) and the politeness budget."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
import tracemalloc
import urllib.request
import zlib
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.budget import Budget, BudgetExceeded
from bot.sources import SourceError
from bot.sources.http import MAX_BYTES, USER_AGENT, get, get_json, make_client, not_modified
from bot.ingest import ingest_source
from bot.sources.fred import FredCsvSource
from bot.sources.nyfed import NyFedSource
from bot.store.sqlite import SQLiteStore
from tests.fakes.http import FakeServer, Reply
from tests.fakes.sources import nyfed_operation
from tests.proc import BotProcess, free_port


@pytest.fixture
def server():
    with FakeServer() as s:
        yield s


class TrickleServer:
    """Answers 200 with a long Content-Length, then sends one byte every `gap` seconds.
    With `headers=True` it trickles from the status line on: one header byte every `gap`.
    Stops by itself when the client hangs up or after `life` seconds."""

    def __init__(self, gap: float = 0.3, life: float = 15.0, headers: bool = False) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        self.gap, self.life, self.headers = gap, life, headers
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(self.life)
        while True:  # every connection trickles (a bot asks again on a new one after a timeout)
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            if self.headers:
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            else:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
            end = time.monotonic() + self.life
            try:
                while time.monotonic() < end:
                    conn.sendall(b"a" if self.headers else b" ")
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


def test_a_server_trickling_its_headers_is_cut_off_at_the_deadline():
    # The status line, then one header byte every 0.3 s: every read succeeds, none completes.
    srv = TrickleServer(gap=0.3, life=15.0, headers=True)
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"trickle: timed out \(no complete answer within 1.5 s\)"):
        get(make_client(timeout=1.5), srv.url, None, "trickle")
    assert time.monotonic() - started < 8.0  # without the whole-request deadline: 15 s, the server's life
    srv.close()


def test_a_source_whose_host_gives_no_answer_is_not_asked_for_its_other_series(tmp_path, catalog):
    srv = TrickleServer(gap=0.3, life=15.0, headers=True)
    store = SQLiteStore(tmp_path / "t.db")
    src = FredCsvSource(catalog, make_client(timeout=1.0), srv.url.rstrip("/"))
    started = time.monotonic()
    report = ingest_source(store, src, lambda: datetime(2026, 12, 1, 12, tzinfo=ZoneInfo("UTC")))
    assert report.down and srv.connections == 1  # one timeout, not one per series (12 x 1 s)
    assert "timed out" in report.errors[0].error
    assert all(r.error.startswith("not asked: FRED CSV WRESBAL: timed out") for r in report.errors[1:])
    assert time.monotonic() - started < 8.0
    store.close()
    srv.close()


def test_run_with_a_header_trickling_source_shows_it_failing_and_stops_on_sigterm(tmp_path):
    # Issue 19: `run` stayed stuck on such a source, /healthz said ok, SIGTERM took over 20 s.
    srv = TrickleServer(gap=1.0, life=60.0, headers=True)
    with FakeServer() as dead:
        port = free_port()
        env = {"FRED_CSV_URL": srv.url.rstrip("/"), "NYFED_API_URL": dead.url + "/api",
               "FISCALDATA_API_URL": dead.url, "HEALTH_PORT": str(port), "HTTP_TIMEOUT": "2"}
        bot = BotProcess(["run"], tmp_path, env)
        try:
            bot.wait_for(r"source fred unreachable: FRED CSV \w+: timed out \(no complete answer within 2 s\)",
                         timeout=40)
            health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read())
            assert health["status"] == "degraded" and health["sources"]["fred"]["failures"] >= 1
            assert "timed out" in health["sources"]["fred"]["last_error"]
        finally:
            stopped = time.monotonic()
            code = bot.terminate(timeout=20)
        assert code == 0 and time.monotonic() - stopped < 20
    srv.close()


def test_fetch_returns_with_a_clear_error_when_a_source_trickles_its_headers(tmp_path):
    srv = TrickleServer(gap=1.0, life=60.0, headers=True)
    with FakeServer() as dead:
        env = {"FRED_CSV_URL": srv.url.rstrip("/"), "NYFED_API_URL": dead.url + "/api",
               "FISCALDATA_API_URL": dead.url, "HTTP_TIMEOUT": "2"}
        bot = BotProcess(["fetch"], tmp_path, env)
        try:
            assert bot.proc.wait(40) == 1  # before: never returned
        finally:
            bot.kill()
    bot.wait_for(r"WRESBAL: FRED CSV WRESBAL: timed out \(no complete answer within 2 s\)", timeout=5)
    bot.wait_for("WALCL: not asked: FRED CSV WRESBAL: timed out", timeout=5)
    srv.close()


def _double_gzipped_zeros(n_mb: int) -> bytes:
    """`Content-Encoding: gzip, gzip` zeros: a few KB on the wire, `n_mb` MB decoded."""
    inner = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: the gzip container
    zeros = bytes(1 << 20)
    body = b"".join(inner.compress(zeros) for _ in range(n_mb)) + inner.flush()
    return gzip.compress(body, 9)


def test_a_gzip_bomb_is_refused_while_decompressing_without_growing_memory(server):
    bomb = _double_gzipped_zeros(320)
    assert len(bomb) < 10_000
    server.routes["/bomb"] = lambda req: Reply(200, bomb, headers={"Content-Encoding": "gzip, gzip"})
    tracemalloc.start()
    try:
        with pytest.raises(SourceError, match="over 20 MB refused"):
            get(make_client(30), server.url + "/bomb", None, "bomb")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # The cap held while decompressing: about 20 MB of chunks plus one join, not 320 MB.
    assert peak < 120 * 2**20, f"peak {peak / 2**20:.0f} MB"


def test_double_gzip_and_deflate_bodies_still_decode(server):
    body = b'{"ok": true}'
    server.routes["/gg"] = lambda req: Reply(200, gzip.compress(gzip.compress(body)),
                                             headers={"Content-Encoding": "gzip, gzip"})
    server.routes["/d"] = lambda req: Reply(200, zlib.compress(body), headers={"Content-Encoding": "deflate"})
    server.routes["/br"] = lambda req: Reply(200, b"\x0b\x02\x80", headers={"Content-Encoding": "br"})
    client = make_client(5)
    assert get_json(client, server.url + "/gg", None, "gg") == {"ok": True}
    assert get_json(client, server.url + "/d", None, "d") == {"ok": True}
    with pytest.raises(SourceError, match="br: unsupported Content-Encoding 'br'"):
        get(client, server.url + "/br", None, "br")
    assert server.hits("/d")[0].headers["accept-encoding"] == "gzip, deflate"


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


def test_no_conditional_requests_where_the_source_gives_no_validators_or_says_no_store(server):
    # The NY Fed's API answers `Cache-Control: no-store` and no ETag / Last-Modified.
    server.routes["/ny"] = lambda req: Reply(200, {"n": 1}, headers={"Cache-Control": "no-store"})
    server.routes["/ns"] = lambda req: Reply(200, {"n": 1}, headers={"Cache-Control": "private, no-store",
                                                                      "ETag": '"x"'})
    client = make_client(5)
    for path in ("/ny", "/ny", "/ns", "/ns"):
        assert get_json(client, server.url + path, None, path) == {"n": 1}
    sent = [r.headers for r in server.hits("/ny") + server.hits("/ns")]
    assert not any("if-none-match" in h or "if-modified-since" in h for h in sent)
