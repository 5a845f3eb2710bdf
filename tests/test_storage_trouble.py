"""A broken, read-only, deleted or full database: one clear line, and no alert repeated."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import shutil
import sqlite3
import stat
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.cli import main
from bot.delivery import Deliverer, Limits, RateLimiter, SendResult
from bot.format import AlertMessage
from bot.rules.lifecycle import Alert
from bot.store import Store

ROOT = Path(__file__).resolve().parent.parent


def test_a_corrupt_database_is_one_line(cli_env, monkeypatch, capsys):
    db = cli_env / "broken.db"
    db.write_bytes(b"this is not sqlite at all" * 100)
    monkeypatch.setenv("DATABASE_PATH", str(db))
    assert main(["status"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {db} is not a usable SQLite database") and "Traceback" not in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_a_read_only_database_is_one_line(cli_env, monkeypatch, capsys):  # pragma: no cover - CI runs as root
    db = cli_env / "ro.db"
    Store(db).close()
    os.chmod(db, stat.S_IRUSR)
    monkeypatch.setenv("DATABASE_PATH", str(db))
    assert main(["fetch", "--data", str(cli_env)]) == 1
    assert "read-only" in capsys.readouterr().err


def test_a_deleted_database_file_is_reported(tmp_path):
    store = Store(tmp_path / "gone.db")
    assert store.problem() is None
    os.remove(tmp_path / "gone.db")
    assert "was deleted while the bot runs" in store.problem()
    store.close()


class _Adapter:
    """The delivery side of a ChatAdapter, recording what it was asked to send."""

    platform = "console"
    limits = Limits(per_second=1000, per_chat_interval=0, group_interval=0, concurrency=1)

    def __init__(self):
        self.sent: list[str] = []
        self.limiter = RateLimiter(self.limits)
        self.next_slot = None

    async def send(self, chat_id: str, message: AlertMessage) -> SendResult:
        self.sent.append(chat_id)
        return SendResult("ok")


async def test_a_full_disk_after_a_send_never_repeats_the_alert(tmp_path):
    from datetime import datetime

    store = Store(tmp_path / "full.db")
    store.record("r1", Alert(), [({"topic": "reserves", "severity": "warning", "state": "firing",
                                   "data_date": "2026-11-18", "value": 1.0, "text": "T\nx", "payload": None},
                                  [("console", "c1", "feed")])], "2026-11-19T00:00:00")
    adapter = _Adapter()
    d = Deliverer(store, [adapter], lambda: datetime(2026, 11, 19))
    # The disk fills right after the platform accepted the message: recording it fails as SQLite
    # does on a full disk (an in-place UPDATE may still fit in a page, so the error is injected).
    real_mark = store.mark_sent

    def full(row_id, at):
        raise sqlite3.OperationalError("database or disk is full")

    store.mark_sent = full
    for _ in range(40):
        await d.drain_once()
    assert adapter.sent == ["c1"]                       # sent once, not 40 times
    assert d.degraded and "cannot be recorded" in d.degraded
    store.mark_sent = real_mark                         # space is freed
    await d.drain_once()
    assert adapter.sent == ["c1"] and d.degraded is None
    assert store.outbox_counts()["sent"] == 1
    store.close()


@contextmanager
def write_protected(path):
    """The file as a read-only mount or a mistaken chmod leaves it: chmod for a normal user;
    root ignores modes, so the immutable attribute there (skipped where chattr is refused)."""
    if os.geteuid() != 0:
        os.chmod(path, stat.S_IRUSR)
        undo = ["chmod", "u+w", str(path)]
    else:
        if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)],
                                                            capture_output=True).returncode:
            pytest.skip("cannot write-protect a file here (root without chattr +i)")
        undo = ["chattr", "-i", str(path)]
    try:
        yield lambda: subprocess.run(undo, check=True)
    finally:
        subprocess.run(undo, capture_output=True)


async def test_a_read_only_database_degrades_health_once_and_recovers(tmp_path, shared_data, caplog):
    from bot.config import Settings
    from bot.runtime import build

    caplog.set_level(logging.INFO)
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(shared_data / "fred" / "WRESBAL.csv", data / "WRESBAL.csv")
    db = tmp_path / "ro.db"
    Store(db).close()
    settings = Settings(database_path=str(db), rules_dir=str(ROOT / "rules"), health_port=0, poll_seconds=3600)
    with write_protected(db) as make_writable:
        app = build(settings, data_dirs=[str(data)], out=io.StringIO())
        src = app.sources[0]
        for _ in range(5):  # five polls, one episode
            app.health[src.name].next_try = 0
            assert await app.poll(src) is None
        health = app.healthz()
        assert health["status"] == "degraded" and "read-only" in health["problems"][0], health
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and f"{db} is read-only" in errors[0], errors
        assert "unreachable" not in caplog.text  # the source is fine: our disk is not
        make_writable()
        deadline = time.monotonic() + 60
        while app.healthz()["status"] != "ok" and time.monotonic() < deadline:
            app.health[src.name].next_try = 0
            await app.poll(src)
            await app.check_store()  # the bot's 30-second job
            await asyncio.sleep(0.2)
    try:
        assert app.healthz()["status"] == "ok" and app.store.observation_count() > 0, app.healthz()["problems"]
        assert "health: resolved" in caplog.text and "Traceback" not in caplog.text
    finally:
        app.store.close()
        app.engine.store.close()


def test_a_full_database_is_a_health_problem_until_a_write_works(tmp_path):
    store = Store(tmp_path / "full.db")
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own "database or disk is full"
    rows = [(f"2020-01-{d:02d}", float(d)) for d in range(1, 29)]
    with pytest.raises(sqlite3.OperationalError, match="full"):
        for i in range(200):
            store.add_observations(f"S{i}", rows, source="t", vintage=f"v{i}")
    assert "the disk is full" in store.problem()
    store.conn.execute(f"PRAGMA max_page_count = {pages * 1000}")  # space is freed
    store.add_observations("S_after", rows, source="t", vintage="v")
    assert store.problem() is None
    store.close()
