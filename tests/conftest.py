"""Shared fixtures. No test may open a network connection except to this machine."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from bot.catalog import default_catalog
from bot.store import Store

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
LOCAL = ("127.0.0.1", "localhost", "::1", "0.0.0.0")

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check(address) -> None:
    if isinstance(address, tuple) and address and str(address[0]) not in LOCAL and not str(address[0]).startswith("127."):
        raise RuntimeError(f"test tried to reach the network: {address!r}")


def _guarded_connect(self, address):
    _check(address)
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    _check(address)
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True, scope="session")
def no_network():
    """Block outbound sockets for the whole session (loopback only)."""
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex
    yield
    socket.socket.connect = _real_connect
    socket.socket.connect_ex = _real_connect_ex


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or skip (fail in CI, where REQUIRE_SHARED_DATA=1) when it is absent."""
    if not (SHARED_DATA / "fred" / "WRESBAL.csv").is_file():
        if os.environ.get("REQUIRE_SHARED_DATA") == "1":
            pytest.fail(f"REQUIRE_SHARED_DATA=1 but {SHARED_DATA} is missing")
        pytest.skip(f"real history not found at {SHARED_DATA} (it sits beside the repo in the team's checkout)")
    return SHARED_DATA


@pytest.fixture
def catalog():
    return default_catalog()


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "test.db")
    yield s
    s.close()


@pytest.fixture(scope="session")
def history_store(tmp_path_factory, shared_data):
    """A store with all of ../shared/data imported once for the session."""
    from datetime import datetime

    from bot.ingest import ingest_source
    from bot.sources.files import FileSource

    s = Store(tmp_path_factory.mktemp("hist") / "history.db")
    report = ingest_source(s, FileSource(default_catalog(), [shared_data / "fred", shared_data / "treasury"]),
                           lambda: datetime(2026, 11, 1, 12))
    assert not report.errors, report.summary()
    yield s
    s.close()


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL server for the session (tests/pgserver.py); skip when the binaries are absent,
    fail when REQUIRE_SHARED_DATA=1 (CI, where .ci/install-postgres installs them)."""
    from tests.pgserver import PgServer, pg_bin

    if pg_bin() is None:
        if os.environ.get("REQUIRE_SHARED_DATA") == "1":
            pytest.fail("REQUIRE_SHARED_DATA=1 but PostgreSQL (initdb, pg_ctl) is not installed")
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found")
    server = PgServer()
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server) -> str:
    """The URL of a fresh, empty database on the session's server."""
    return pg_server.new_database()


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    """Run the CLI as a user would, in an empty folder with its own database and no stray settings."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "cli.db"))
    for var in ("FRED_API_KEY", "POLL_SECONDS", "LOG_FORMAT", "DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


@pytest.fixture
def fake():
    """A fake Telegram Bot API on 127.0.0.1 for tests.fakes.telegram.TOKEN (test_slack has its own)."""
    from tests.fakes.http import FakeServer
    from tests.fakes.telegram import TOKEN, FakeTelegram

    with FakeServer() as server:
        yield FakeTelegram(server, TOKEN)
