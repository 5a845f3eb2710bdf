"""Personal alerts, mutes and quiet hours stay private to their chat on the operator's surfaces
too: INFO logs, /healthz and /metrics never name a chat's threshold, its alert ids or its hours."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import urllib.request
from datetime import datetime
from pathlib import Path

from bot.config import Settings
from bot.runtime import build
from tests.fakes.http import FakeServer
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.proc import free_port
from tests.test_telegram import ask

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 6, 12, 12)       # the Friday after the 2026-06-10 H.4.1 week
ALICE, BOB = 8675309001, 8675309002  # chat ids nobody else's log line contains by chance
# What must not leak: each chat's ids, thresholds (as typed and as stored) and quiet hours.
PRIVATE = [str(ALICE), str(BOB), "personal_1", "personal_2", "2.9537", "2953700000000", "2.953", "2.9713", "2971300000000",
           "2.971", "11:07", "12:53", "Asia/Tokyo"]


def _get(port: int, path: str) -> str:
    return urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10).read().decode()


async def test_infos_healthz_and_metrics_name_no_chats_personal_data(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    data = tmp_path / "data"
    data.mkdir()
    port = free_port()
    with FakeServer() as server:
        fake = FakeTelegram(server, TOKEN)
        settings = Settings(database_path=str(tmp_path / "p.db"), rules_dir=str(ROOT / "rules"), health_port=port,
                            telegram_bot_token=TOKEN, telegram_api_url=server.url, poll_seconds=3600)
        app = build(settings, data_dirs=[str(data)], out=io.StringIO(), clock=lambda: NOW)
        app.store.add_observations("WRESBAL", [("2026-05-27", 3.03e12), ("2026-06-03", 3.01e12)],
                                   source="t", vintage="v1")
        await app.start()
        try:
            assert (await ask(fake, ALICE, "/alert reserves < 2.9537T"))[0].startswith("Alert #1 set")
            assert (await ask(fake, ALICE, "/quiet 11:07-12:53"))[0]
            assert (await ask(fake, BOB, "/alert reserves < 2.9713T"))[0].startswith("Alert #1 set")  # numbers are per chat
            assert (await ask(fake, BOB, "/subscribe reserves"))[0]
            assert (await ask(fake, BOB, "/mute reserves 7d"))[0]
            assert (await ask(fake, BOB, "/quiet 22:00-06:00 Asia/Tokyo"))[0]
            await app.evaluate()  # the personal alerts learn their state: above both thresholds
            app.store.add_observations("WRESBAL", [("2026-06-10", 2.94e12)], source="t", vintage="v2")
            await app.evaluate({"WRESBAL": "2026-06-10"})  # both fire; Bob's subscription is muted
            await asyncio.to_thread(fake.wait_for, lambda s: any("2.940T" in x.text for x in s
                                                                 if x.chat_id == str(BOB)), 20)
            assert not [x for x in fake.to(ALICE) if "2.940T" in x.text]  # held for Alice's quiet hours
            health = await asyncio.to_thread(_get, port, "/healthz")
            metrics = await asyncio.to_thread(_get, port, "/metrics")
        finally:
            await app.shutdown()
    assert json.loads(health)["personal_firing"] == 2
    infos = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    debug = "\n".join(r.getMessage() for r in caplog.records if r.levelno < logging.INFO)
    for text, where in ((infos, "INFO log"), (health, "/healthz"), (metrics, "/metrics")):
        leaks = [p for p in PRIVATE if p in text]
        assert not leaks, f"{where} shows {leaks}:\n{text}"
    assert "personal_1" in debug and "held for quiet hours" in debug  # the detail is there, at DEBUG
