"""A broken, read-only, deleted or full database: one clear line, and no alert repeated."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest

from bot.cli import main
from bot.delivery import Deliverer, Limits, SendResult
from bot.format import AlertMessage
from bot.rules.lifecycle import Alert
from bot.store import Store


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
    platform = "console"
    limits = Limits(per_second=1000, per_chat_interval=0, group_interval=0, concurrency=1)

    def __init__(self):
        self.sent: list[str] = []

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
