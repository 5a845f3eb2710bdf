"""The store suite, run against SQLite AND a real PostgreSQL server (tests/pgserver.py):
same tables, same migrations, same answers; plus outbox claims, the SQLite single-instance
lock and leader failover."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
import urllib.request
from datetime import datetime

import pytest

from bot.config import load_settings
from bot.rules.lifecycle import Alert, AlertState
from bot.store import SQLiteStore, open_store
from bot.store.base import FetchRecord
from bot.store.migrations import MIGRATIONS
from tests.proc import BotProcess, free_port

T0 = "2026-06-11T00:00:00"


@pytest.fixture(params=["sqlite", "postgres"])
def any_store(request, tmp_path):
    if request.param == "sqlite":
        s = SQLiteStore(tmp_path / "s.db")
    else:
        from bot.store.postgres import PostgresStore

        s = PostgresStore(request.getfixturevalue("pg_url"))
    yield s
    s.close()


@pytest.fixture
def pg_store(pg_url):
    from bot.store.postgres import PostgresStore

    s = PostgresStore(pg_url)
    yield s
    s.close()


def alert(store, chats: list[str], state: str = "firing", platform: str = "telegram",
          payload: str | None = json.dumps({"k": 1})) -> list[int]:
    for c in chats:
        store.ensure_chat(platform, c, "private", None, T0)
    return store.record("reserves_below_3t", Alert(state=AlertState.FIRING, count=1, value=2.9e12), [(
        {"topic": "reserves", "severity": "warning", "state": state, "data_date": "2026-06-10", "value": 2.9e12,
         "text": f"{state}: reserves $2.90T", "payload": payload},
        [(platform, c, "sub") for c in chats])], T0)


# ---- same answers on both databases ----------------------------------------------------------
def test_observations_keep_every_vintage_and_full_precision(any_store):
    big = 2_931_456_789_012.25  # dollars: a 4-byte float would round this by ~$100k
    assert any_store.add_observations("WRESBAL", [("2026-06-03", big), ("2026-06-10", 3.0e12)],
                                      source="fred", vintage="v1") == ["2026-06-03", "2026-06-10"]
    assert any_store.add_observations("WRESBAL", [("2026-06-03", big)], source="fred", vintage="v2") == []
    assert any_store.add_observations("WRESBAL", [("2026-06-03", big + 1e9)], source="fred", vintage="v3") == [
        "2026-06-03"]
    assert any_store.latest_map("WRESBAL") == {"2026-06-03": big + 1e9, "2026-06-10": 3.0e12}
    assert any_store.revisions("WRESBAL", "2026-06-03") == [("v1", big), ("v3", big + 1e9)]
    assert any_store.last_date("WRESBAL") == "2026-06-10" and any_store.observation_count() == 3
    series = any_store.load_series(["WRESBAL", "NOPE"])["WRESBAL"]
    assert list(series.values) == [big + 1e9, 3.0e12] and str(series.index[0].date()) == "2026-06-03"


def test_fetch_log_reports_last_attempt_and_last_success(any_store):
    any_store.log_fetch(FetchRecord("fred", T0, T0, 12, "2026-06-10", None))
    any_store.log_fetch(FetchRecord("fred", T0, "2026-06-11T01:00:00", 0, None, "HTTP 503"))
    assert any_store.last_fetches()["fred"] == {"last_attempt": "2026-06-11T01:00:00", "last_rows": 0,
                                                "last_error": "HTTP 503", "last_success": T0}


def test_alert_state_events_and_outbox_in_one_record(any_store):
    ids = alert(any_store, ["1", "2"])
    assert len(ids) == 1 and any_store.outbox_counts() == {"pending": 2, "sent": 0, "failed": 0}
    a = any_store.load_alerts()["reserves_below_3t"]
    assert a.state is AlertState.FIRING and a.value == 2.9e12 and a.count == 1
    assert any_store.firing_rules() == ["reserves_below_3t"]
    ev = any_store.recent_events("reserves")[0]
    assert ev["id"] == ids[0] and ev["text"] == "firing: reserves $2.90T" and json.loads(ev["payload"]) == {"k": 1}
    due = any_store.due_outbox("telegram", T0)
    assert [r.chat_id for r in due] == ["1", "2"] and due[0].event_id == ids[0]
    any_store.mark_sent(due[0].id, T0)
    any_store.mark_failed(due[1].id, "400 chat not found")
    assert any_store.outbox_counts() == {"pending": 0, "sent": 1, "failed": 1}
    assert any_store.failed_outbox()[0]["last_error"] == "400 chat not found"
    assert any_store.retry_failed() == 1 and any_store.outbox_counts()["pending"] == 1


def test_subscriptions_and_chat_migration_keep_existing_rows(any_store):
    any_store.ensure_chat("telegram", "-1", "group", "G", T0)
    assert any_store.subscribe("telegram", "-1", "reserves", T0) is True
    assert any_store.subscribe("telegram", "-1", "reserves", T0) is False
    any_store.subscribe("telegram", "-1", "rates", T0)
    assert any_store.subscribers("reserves") == [("telegram", "-1")]
    # the supergroup already exists and already has `rates`: that one stays behind, the rest moves
    any_store.ensure_chat("telegram", "-100", "supergroup", "G", T0)
    any_store.subscribe("telegram", "-100", "rates", T0)
    any_store.migrate_chat("telegram", "-1", "-100")
    assert any_store.subscriptions("telegram", "-100") == ["rates", "reserves"]
    assert any_store.unsubscribe("telegram", "-100", None) == 2


def test_deactivated_chat_stops_receiving(any_store):
    alert(any_store, ["7"])
    any_store.subscribe("telegram", "7", "all", T0)
    any_store.deactivate_chat("telegram", "7", "blocked")
    assert any_store.subscribers("reserves") == [] and any_store.outbox_counts()["failed"] == 1
    assert any_store.retry_failed() == 0


def test_personal_alerts_mutes_quiet_holds_and_digests_on_both(any_store):
    s = any_store
    s.ensure_chat("telegram", "8", "private", None, T0)
    added = [s.add_personal("telegram", "8", "reserves", "<", 2.9e12 + i * 1e9, 1, T0, 2) for i in range(3)]
    assert added[2] is None and s.personal_rules("telegram", "8")[0][3:8] == ("reserves", "<", 2.9e12, 1, 1)
    assert s.get_meta("personal_version") == "2"
    assert s.delete_personal("telegram", "8", added[0].number) and not s.delete_personal("telegram", "9", 2)
    assert s.add_personal("telegram", "8", "rrp", ">", 1e9, 2, T0, 2).id > added[1].id
    s.mute("telegram", "8", "reserves", "2026-06-18T00:00", False, T0)
    s.mute("telegram", "8", "repo", None, True, T0)
    assert sorted(m[2] for m in s.mutes("2026-06-12T00:00:00")) == ["repo", "reserves"]
    assert [m[2] for m in s.mutes("2026-06-19T00:00:00")] == ["repo"]          # the 7-day one ended
    assert s.end_resolved_mutes(["repo"]) == 1 and s.unmute("telegram", "8", None) == 1
    # a held row (quiet hours) waits for its time without blocking the chat's later rows
    first, second = alert(s, ["8"])[0], alert(s, ["8"])[0]
    rows = s.due_outbox("telegram", T0)
    s.hold(rows[0].id, "2026-06-11T07:00:00", "quiet hours")
    assert [r.event_id for r in s.due_outbox("telegram", T0)] == [second]
    assert [r.event_id for r in s.claim_outbox("telegram", T0, "a", "2026-06-11T00:00:30")] == [second]
    assert s.outbox_counts()["held"] == 1
    assert [r.event_id for r in s.due_outbox("telegram", "2026-06-11T07:00:00")] == [first, second]  # due again
    s.set_chat_setting("telegram", "8", "quiet", "22:00-07:00 UTC")
    assert s.due_outbox("telegram", "2026-06-11T07:00:00")[0].quiet == "22:00-07:00 UTC"
    s.set_chat_setting("telegram", "8", "digest", "daily 08:00 UTC")
    eid = s.enqueue_digest("telegram", "8", "digest text", json.dumps({"en": {}}), T0, T0)
    assert s.digests() == [("telegram", "8", "daily 08:00 UTC", T0, None)]
    assert eid not in [e["id"] for e in s.recent_events()] and len(s.chat_events("telegram", "8", "2026")) == 2


def test_migrations_are_recorded_once_and_reopening_applies_nothing(any_store):
    names = [r[0] for r in any_store._rows("SELECT name FROM schema_migrations ORDER BY name")]
    assert names == sorted(m.name for m in MIGRATIONS)
    assert any_store._apply_migrations() == []


def test_send_slots_are_evenly_spaced_whoever_asks(any_store):
    slots = [any_store.reserve_send_slot("telegram", 1000.0, 0.1) for _ in range(3)]
    assert slots == pytest.approx([1000.0, 1000.1, 1000.2])
    assert any_store.reserve_send_slot("slack", 1000.0, 1.0) == 1000.0  # per platform
    assert any_store.reserve_send_slot("telegram", 2000.0, 0.1) == 2000.0  # idle: no debt carried


def test_claimed_rows_are_skipped_until_their_lease_passes(any_store):
    alert(any_store, ["1"])
    rows = any_store.claim_outbox("telegram", T0, "a", "2026-06-11T00:00:30")
    assert [r.chat_id for r in rows] == ["1"] and any_store.claimed_count(T0) == 1
    assert any_store.claim_outbox("telegram", "2026-06-11T00:00:10", "b", "2026-06-11T00:00:40") == []
    # replica `a` died: after the lease, `b` takes the row over
    again = any_store.claim_outbox("telegram", "2026-06-11T00:00:31", "b", "2026-06-11T00:01:01")
    assert [r.id for r in again] == [rows[0].id]
    any_store.mark_sent(rows[0].id, "2026-06-11T00:00:32")
    assert any_store.claimed_count("2026-06-11T00:00:32") == 0


# ---- SQLite specifics --------------------------------------------------------------------------
def test_a_file_migrated_by_sqlite_utils_keeps_its_data(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE _sqlite_migrations (migration_set TEXT, name TEXT, applied_at TEXT)")
    for m in MIGRATIONS[:5]:
        for stmt in m.statements("sqlite"):
            conn.execute(stmt)
        conn.execute("INSERT INTO _sqlite_migrations VALUES ('liquidity_bot', ?, 't')", [m.name])
    conn.execute("INSERT INTO latest VALUES ('WRESBAL', '2026-06-03', 3.0e12, 'v1')")
    conn.commit()
    conn.close()
    s = SQLiteStore(path)
    assert s.latest_map("WRESBAL") == {"2026-06-03": 3.0e12}
    assert s.claim_outbox("telegram", T0, "a", T0) == []  # the new columns exist
    s.close()


def test_second_run_on_the_same_sqlite_file_refuses_and_cli_still_works(tmp_path):
    env = {"DATABASE_PATH": str(tmp_path / "one.db"), "HEALTH_PORT": "0", "FRED_CSV_URL": "http://127.0.0.1:9",
           "NYFED_API_URL": "http://127.0.0.1:9", "FISCALDATA_API_URL": "http://127.0.0.1:9", "HTTP_TIMEOUT": "1"}
    first = BotProcess(["run"], tmp_path, env)
    try:
        first.wait_for("liquidity-bot: ready", timeout=60)
        second = BotProcess(["run"], tmp_path, env)
        assert second.proc.wait(60) == 1
        assert "already running" in second.output()
        outbox = BotProcess(["outbox"], tmp_path, env)
        assert outbox.proc.wait(60) == 0 and "pending" in outbox.output()
        assert first.proc.poll() is None
    finally:
        assert first.terminate(30) == 0


# ---- PostgreSQL: replicas ------------------------------------------------------------------------
def test_only_a_chats_oldest_pending_row_is_claimable(pg_store):
    alert(pg_store, ["1"], "firing")
    alert(pg_store, ["1"], "resolved")
    first = pg_store.claim_outbox("telegram", T0, "a", "2026-06-11T00:00:30")
    assert [r.state for r in first] == ["firing"]
    assert pg_store.claim_outbox("telegram", T0, "b", "2026-06-11T00:00:30") == []
    pg_store.mark_sent(first[0].id, T0)
    assert [r.state for r in pg_store.claim_outbox("telegram", T0, "b", "2026-06-11T00:00:30")] == ["resolved"]


def test_two_deliverers_never_claim_the_same_row(pg_url):
    from bot.store.postgres import PostgresStore

    setup = PostgresStore(pg_url)
    alert(setup, [str(i) for i in range(400)])
    claimed: dict[str, list[int]] = {"a": [], "b": []}

    def deliverer(name: str) -> None:
        s = PostgresStore(pg_url)
        try:
            while rows := s.claim_outbox("telegram", T0, name, "2026-06-11T00:05:00", limit=15):
                for r in rows:
                    claimed[name].append(r.id)
                    s.mark_sent(r.id, T0)
        finally:
            s.close()

    threads = [threading.Thread(target=deliverer, args=(n,)) for n in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    a, b = claimed["a"], claimed["b"]
    assert not set(a) & set(b) and len(a) + len(b) == 400 and a and b
    assert setup.outbox_counts() == {"pending": 0, "sent": 400, "failed": 0}
    setup.close()


def test_migrations_from_replicas_starting_together_apply_once(pg_url):
    from bot.store.postgres import PostgresStore

    stores, errors = [], []

    def open_one() -> None:
        try:
            stores.append(PostgresStore(pg_url))
        except Exception as exc:  # pragma: no cover - the assertion reports it
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(stores) == 3
    assert stores[0]._one("SELECT count(*) FROM schema_migrations")[0] == len(MIGRATIONS)
    for s in stores:
        s.close()


def test_database_url_selects_postgres_and_never_shows_the_password(pg_url, tmp_path):
    settings = load_settings({"DATABASE_URL": pg_url, "DATABASE_PATH": str(tmp_path / "x.db")}, dotenv=False)
    s = open_store(settings)
    try:
        assert s.kind == "postgresql" and "s3cret-pw" not in s.describe() and "***" in s.describe()
        assert "s3cret-pw" in settings.secrets() and "s3cret-pw" not in repr(settings)
    finally:
        s.close()
    assert not (tmp_path / "x.db").exists()


def test_cli_fetch_and_status_work_on_postgres(pg_url, shared_data, tmp_path, monkeypatch, capsys):
    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", pg_url)
    for var in ("FRED_API_KEY", "POLL_SECONDS", "LOG_FORMAT"):
        monkeypatch.delenv(var, raising=False)
    assert main(["fetch", "--data", str(shared_data / "fred"), "--data", str(shared_data / "treasury")]) == 0
    out = capsys.readouterr().out
    assert "s3cret-pw" not in out and "***@127.0.0.1" in out
    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["reserves"]["value"] == 3013902e6 and status["reserves"]["date"] == "2026-06-03"
    assert main(["outbox"]) == 0
    assert not (tmp_path / "liquidity.db").exists()


async def test_leader_failover_when_the_leaders_connection_is_killed(pg_server, pg_url):
    import psycopg

    from bot.leader import PgLeader

    stop = asyncio.Event()
    a, b = PgLeader(pg_url, interval=0.5), PgLeader(pg_url, interval=0.5)
    changes: list[tuple[str, bool]] = []
    became = {"a": asyncio.Event(), "b": asyncio.Event()}

    def on(name):
        async def cb(leader: bool) -> None:
            changes.append((name, leader))
            if leader:
                became[name].set()
        return cb

    ta = asyncio.create_task(a.run(stop, on("a")))
    await asyncio.wait_for(became["a"].wait(), 15)
    tb = asyncio.create_task(b.run(stop, on("b")))
    await asyncio.sleep(0)  # b campaigns; it must not win while a holds the lock
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        assert not b.is_leader
        await asyncio.sleep(0.1)
    with psycopg.connect(pg_server.url(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                      " WHERE application_name = 'liquidity-bot leader' AND pid IN"
                      " (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)")
    t0 = time.monotonic()
    await asyncio.wait_for(became["b"].wait(), 15)
    assert time.monotonic() - t0 < 15
    # the old leader notices on its next check (one interval) and steps down
    deadline = time.monotonic() + 5
    while ("a", False) not in changes and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert ("a", False) in changes and b.is_leader and not a.is_leader
    stop.set()
    await asyncio.gather(ta, tb)


def _health(port: int) -> dict | None:
    try:
        return json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3).read())
    except OSError:
        return None


def _wait_role(ports: dict, role: str, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, port in ports.items():
            h = _health(port)
            if h and h["role"] == role:
                return name
        time.sleep(0.2)
    raise AssertionError(f"no replica became {role} within {timeout}s")


def test_replica_processes_fail_over_within_15_s_after_sigkill(pg_url, tmp_path):
    env = {"DATABASE_URL": pg_url, "FRED_CSV_URL": "http://127.0.0.1:9", "NYFED_API_URL": "http://127.0.0.1:9",
           "FISCALDATA_API_URL": "http://127.0.0.1:9", "HTTP_TIMEOUT": "1", "LOG_LEVEL": "INFO"}
    ports = {0: free_port(), 1: free_port()}
    bots = {i: BotProcess(["run"], tmp_path, env | {"HEALTH_PORT": str(p)}) for i, p in ports.items()}
    try:
        for b in bots.values():
            b.wait_for("liquidity-bot: ready", timeout=60)
        leader = _wait_role(ports, "leader", 20)
        follower = 1 - leader
        h = _health(ports[follower])
        assert h["role"] == "follower" and h["store"] == "postgresql" and "outbox_claimed" in h
        bots[leader].kill()
        t0 = time.monotonic()
        assert _wait_role({follower: ports[follower]}, "leader", 15) == follower
        assert time.monotonic() - t0 < 15
        assert "s3cret-pw" not in bots[follower].output()
    finally:
        for b in bots.values():
            b.kill()


async def test_two_replicas_deliver_every_message_once_within_the_shared_rate(pg_url, catalog):
    """Two Deliverers (as two replicas) drain one PostgreSQL outbox through the fake Bot API,
    which answers any rate violation with 429: each chat gets its alert exactly once, in 0 429s."""
    from bot.chat.telegram import TelegramAdapter
    from bot.commands import CommandService
    from bot.config import Settings
    from bot.delivery import Deliverer
    from bot.store.postgres import PostgresStore
    from tests.fakes.http import FakeServer
    from tests.fakes.telegram import FakeTelegram

    token = "666666666:AAReplicaDeliveryTestToken_abcdefghijk"
    chats = [str(1000 + i) for i in range(150)]  # > one claim batch (60), so both replicas get some
    stores = [PostgresStore(pg_url) for _ in range(2)]
    alert(stores[0], chats, payload=None)
    with FakeServer() as server:
        fake = FakeTelegram(server, token, per_second=30)
        adapters = [TelegramAdapter(CommandService(s, catalog, lambda: [], datetime.now),
                                    Settings(telegram_bot_token=token, telegram_api_url=server.url)) for s in stores]
        for a in adapters:
            await a.app.initialize()
        stop = asyncio.Event()
        ds = [Deliverer(s, [a], datetime.now) for s, a in zip(stores, adapters, strict=False)]
        ds[1].owner = "replica-2"  # same process here: tell the claims apart
        tasks = [asyncio.create_task(d.run(stop, idle=0.2)) for d in ds]
        await asyncio.to_thread(fake.wait_for, lambda s: len({x.chat_id for x in s}) == len(chats), 30)
        stop.set()
        await asyncio.gather(*tasks)
        for a in adapters:
            await a.app.shutdown()
    assert sorted(s.chat_id for s in fake.sent) == chats  # every chat once: none lost, none twice
    assert fake.violations == [] and all(d.sent for d in ds)  # both replicas delivered
    assert stores[0].outbox_counts() == {"pending": 0, "sent": 150, "failed": 0}
    for s in stores:
        s.close()


async def test_a_replica_that_reaches_its_slot_late_takes_a_fresh_one(pg_store):
    """A replica whose loop stalls past its reserved slot must not send on it: the slots after
    it are other replicas' and sending now would put two messages in one slot's time."""
    from types import SimpleNamespace

    from bot.delivery import Deliverer, Limits, RateLimiter

    limits = Limits(per_second=30)
    adapter = SimpleNamespace(platform="telegram", limits=limits, limiter=RateLimiter(limits), next_slot=None)
    d = Deliverer(pg_store, [adapter], datetime.now)
    interval = 1.0 / (30 * Deliverer.SHARED_PACE)
    pg_store.reserve_send_slot("telegram", time.time() + 0.2, interval)  # others hold the next 0.2 s
    task = asyncio.create_task(d._shared_slot(adapter))
    await asyncio.sleep(0.05)  # the task has its slot about 0.2 s ahead and waits for it
    time.sleep(0.6)  # this replica's event loop stalls well past that slot
    await task
    # The message went on a fresh slot reserved after the stall, so the pace's next slot is a
    # whole interval later; sending on the stale slot would leave the next slot free at once.
    assert pg_store.reserve_send_slot("telegram", time.time(), interval) - time.time() > interval / 2


async def test_every_api_call_of_a_long_alert_takes_a_shared_slot(pg_store, catalog):
    """An alert Telegram needs two messages for (over 4,096 characters; likewise a chart photo)
    takes two slots of the replicas' shared pace, so the total across replicas stays counted,
    and the chat's 1 s spacing counts from when each message really went."""
    from bot.chat.telegram import TelegramAdapter
    from bot.commands import CommandService
    from bot.config import Settings
    from bot.delivery import Deliverer
    from tests.fakes.http import FakeServer
    from tests.fakes.telegram import FakeTelegram

    token = "777777777:AASharedPaceLongAlertToken_abcdefghijk"
    pg_store.ensure_chat("telegram", "4242", "private", None, T0)
    pg_store.record("reserves_below_3t", Alert(state=AlertState.FIRING, count=1, value=2.9e12), [(
        {"topic": "reserves", "severity": "warning", "state": "firing", "data_date": "2026-06-10", "value": 2.9e12,
         "text": "firing: reserves $2.90T\n" + "detail " * 800, "payload": None},
        [("telegram", "4242", "sub")])], T0)
    with FakeServer() as server:
        fake = FakeTelegram(server, token)
        tg = TelegramAdapter(CommandService(pg_store, catalog, lambda: [], datetime.now),
                             Settings(telegram_bot_token=token, telegram_api_url=server.url))
        await tg.app.initialize()
        d = Deliverer(pg_store, [tg], datetime.now)
        start = time.time()
        # Other replicas have booked the pace for the next 1.9 s: the first message waits for
        # its slot, and the chat's next one must be spaced from when the first really went.
        pg_store.reserve_send_slot("telegram", start + 1.9, 0.001)
        await d.drain_once()
        await tg.app.shutdown()
    n = len(fake.to(4242))
    assert n >= 2 and fake.violations == []
    # Each later message reserved its own slot when it went (each after the chat's 1 s spacing);
    # without that the pace's next slot would be about 1 s after the start (the first message).
    next_free = pg_store.reserve_send_slot("telegram", 0, 0.001)  # now=0: the pace's own next slot
    assert next_free - start > (n - 1) + 0.9, (n, next_free - start)


def test_a_deposed_leader_records_nothing_and_the_alert_goes_out_once_it_leads_again(pg_url, catalog):
    """Between losing the lock (its connection cut) and noticing it (the next election tick), a
    replica's evaluation must not record an alert the new leader records too; and the alert it
    could not record is not lost: its engine forgets, and sends it once it leads again."""
    import psycopg

    from bot.engine import Engine
    from bot.leader import PgLeader
    from bot.rules.loader import load_rules
    from bot.store.errors import NotLeader
    from bot.store.postgres import PostgresStore
    from tests.test_rules_loader import RULES

    store = PostgresStore(pg_url)
    leader = PgLeader(pg_url, key=8642)
    assert leader._tick()
    leader.is_leader = True
    store.fence = leader.holder_pid
    store.add_observations("WRESBAL", [("2026-05-27", 3.03e12), ("2026-06-03", 3.01e12)], source="t", vintage="v")
    store.ensure_chat("telegram", "4343", "private", None, T0)
    store.subscribe("telegram", "4343", "reserves", T0)
    engine = Engine(store, catalog, load_rules(RULES, catalog).rules, platforms={"telegram"})
    engine.evaluate(datetime(2026, 6, 4, 22))  # learns its states: reserves above $3T
    with psycopg.connect(pg_url, autocommit=True) as admin:  # the lock's connection is cut
        admin.execute("SELECT pg_terminate_backend(%s)", [leader.holder_pid()])
    store.add_observations("WRESBAL", [("2026-06-10", 2.94e12)], source="t", vintage="v2")
    later = datetime(2026, 6, 11, 22)
    with pytest.raises(NotLeader):
        engine.evaluate(later, {"WRESBAL": "2026-06-10"})
    assert store.outbox_counts()["pending"] == 0 and not store.recent_events("reserves")
    leader._drop()
    assert leader._tick()  # leads again
    engine.evaluate(later, {"WRESBAL": "2026-06-10"})
    assert store.outbox_counts()["pending"] == 1
    assert [e["rule_id"] for e in store.recent_events("reserves")] == ["reserves_below_3t"]
    leader._drop()
    store.close()


def test_an_old_style_decorated_migration_runs_on_both(any_store):
    from bot.store import migrations as mig

    @mig.migrations()
    def m999_test_language(db) -> None:
        db.execute("ALTER TABLE chats ADD COLUMN language TEXT")

    try:
        assert any_store._apply_migrations() == ["m999_test_language"]
        any_store.ensure_chat("telegram", "1", "private", None, T0)
        assert any_store._rows("SELECT language FROM chats") == [(None,)]
    finally:
        mig.MIGRATIONS.pop()


def test_methods_ported_from_main_answer_alike(any_store):
    """series_since, rule hashes, meta, save_states and prune (main's additions, in the shared base)."""
    any_store.add_observations("RRP", [("2026-06-01", 1.0e9), ("2026-06-02", 2.0e9)], source="f", vintage="v1")
    assert any_store.series_since("RRP", "2026-06-02") == [("2026-06-02", 2.0e9)]
    any_store.save_states([("r1", Alert(), "h1"), ("r2", Alert(), None)], T0)
    any_store.save_states([("r1", Alert(), "h2")], T0)
    assert any_store.rule_hashes() == {"r1": "h2", "r2": None}
    any_store.set_meta("evaluated_at", T0)
    any_store.set_meta("evaluated_at", "later")
    assert any_store.get_meta("evaluated_at") == "later" and any_store.get_meta("nope") is None
    alert(any_store, ["1"])
    any_store.mark_sent(any_store.due_outbox("telegram", T0)[0].id, T0)
    any_store.log_fetch(FetchRecord("fred", T0, T0, 1, None, None))
    assert any_store.prune("2027-01-01") == {"outbox": 1, "alert_events": 1, "fetch_log": 1}


async def test_only_the_leader_long_polls_telegram(store, catalog):
    """A follower's Telegram adapter starts without getUpdates; leadership switches polling on and off."""
    from bot.chat.telegram import TelegramAdapter
    from bot.commands import CommandService
    from bot.config import Settings
    from tests.fakes.http import FakeServer
    from tests.fakes.telegram import FakeTelegram

    token = "777777777:AALeaderPollingTestToken_abcdefghijk"
    with FakeServer() as server:
        fake = FakeTelegram(server, token)
        polls: list[float] = []
        real = fake.m_getUpdates
        fake.m_getUpdates = lambda p, f: polls.append(time.monotonic()) or real(p, f)
        tg = TelegramAdapter(CommandService(store, catalog, lambda: [], datetime.now),
                             Settings(telegram_bot_token=token, telegram_api_url=server.url))
        tg.poll_updates = False  # what App.start sets on a replica before it knows it leads
        await tg.start()
        try:
            assert not tg.app.updater.running and polls == []
            await tg.set_polling(True)  # became leader
            fake.user_sends(5, "/help")
            await asyncio.to_thread(fake.wait_for, lambda s: bool(fake.to(5)), 10)
            assert tg.app.updater.running and polls
            await tg.set_polling(False)  # lost leadership
            assert not tg.app.updater.running
            n = len(polls)
            fake.user_sends(5, "/list")
            deadline = time.monotonic() + 1.5  # a follower must not consume updates meant for the leader
            while time.monotonic() < deadline:
                assert len(polls) == n
                await asyncio.sleep(0.1)
        finally:
            await tg.stop()


def test_held_prints_and_quarantine_work_on_both(any_store):
    """A held print is kept per series until a good print dated on or after it; future rows move
    to `quarantine` with every vintage, leaving the real ones (mA01_held_prints_and_quarantine)."""
    from bot.store import quarantine_future

    s = any_store
    s.hold_print("WRESBAL", "2026-10-28", 2.889e9, "probable unit change", T0)
    s.hold_print("WRESBAL", "2026-11-04", 2.875e9, "probable unit change", T0)  # a newer one replaces it
    assert s.held_prints() == {"WRESBAL": {"date": "2026-11-04", "value": 2.875e9, "reason": "probable unit change",
                                           "held_at": T0}}
    assert not s.release_held("WRESBAL", "2026-10-28") and s.release_held("WRESBAL", "2026-11-04")
    assert s.held_prints() == {}
    s.add_observations("WRESBAL", [("2026-10-21", 2.889e12), ("2099-01-07", 2.95e12)], source="old", vintage="v0")
    s.add_observations("WRESBAL", [("2099-01-07", 2.96e12), ("2300-01-01", 1.0)], source="old", vintage="v1")
    assert quarantine_future(s, datetime(2026, 11, 2, 15)) == 2
    assert s.latest_map("WRESBAL") == {"2026-10-21": 2.889e12} and s.revisions("WRESBAL", "2099-01-07") == []
    assert s._rows("SELECT date, vintage FROM quarantine ORDER BY date, vintage") == [
        ("2099-01-07", "v0"), ("2099-01-07", "v1"), ("2300-01-01", "v1")]
    assert quarantine_future(s, datetime(2026, 11, 2, 15)) == 0
