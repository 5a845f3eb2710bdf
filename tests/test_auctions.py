"""FiscalData upcoming auctions: fetched from a fake on 127.0.0.1 at most every 6 hours, stored, and
shown by /calendar and `liquidity-bot calendar` as settlement days with their amounts in dollars."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime

import pytest

from bot.catalog import default_catalog
from bot.cli import main
from bot.commands import CommandService, Ctx
from bot.sources.auctions import parse_auctions, refresh_auctions
from bot.sources.http import make_client
from tests.fakes.auctions import FakeUpcomingAuctions, fixture_rows
from tests.fakes.http import FakeServer

PATH = "/v1/accounting/od/upcoming_auctions"


@pytest.fixture
def server():
    with FakeServer() as s:
        yield s


def test_refresh_stores_the_auctions_and_waits_6_hours(server, store):
    FakeUpcomingAuctions(server, fixture_rows())
    client = make_client(5)
    assert refresh_auctions(store, client, server.url, datetime(2024, 3, 11, 12)) == 2
    assert refresh_auctions(store, client, server.url, datetime(2024, 3, 11, 17, 59)) is None   # too soon
    assert len(server.hits(PATH)) == 1 and server.hits(PATH)[0].query["filter"] == "issue_date:gte:2024-03-10"
    assert refresh_auctions(store, client, server.url, datetime(2024, 3, 11, 18)) == 2
    got = store.auctions_settling(date(2024, 3, 1), date(2026, 12, 31))
    assert [(a.issue_date, a.security_term, a.offering_amount) for a in got] == [
        (date(2024, 3, 19), "8-Week", 90e9), (date(2026, 6, 15), "29-Year 11-Month", None)]


def test_the_newest_snapshot_wins_and_a_bad_row_is_skipped_alone():
    older, newer = dict(fixture_rows()[0]), fixture_rows()[0]
    older.update(record_date="2024-03-07", offering_amt="85000000000")   # a variation: an earlier snapshot
    bad = dict(newer, cusip="X", auction_date="soon")
    got = parse_auctions([newer, older, bad])
    assert [(c, a.offering_amount) for c, a in got] == [("912797JW8", 90e9)]


def test_calendar_shows_stored_settlements_in_dollars_in_both_languages(server, store, cli_env, capsys):
    FakeUpcomingAuctions(server, fixture_rows())
    refresh_auctions(store, make_client(5), server.url, datetime(2024, 3, 11, 12))
    service = CommandService(store, default_catalog(), lambda: [], lambda: datetime(2024, 3, 11, 15))
    en = asyncio.run(service.dispatch(Ctx("telegram", "1"), "calendar", ["14d"]))[0].text
    assert "• 2024-03-19 Tue · Treasury auction settlement ($90.0B: 8-Week Bill)" in en
    assert "buyers of new Treasury securities pay the Treasury" in en
    zh = asyncio.run(service.dispatch(Ctx("telegram", "1", lang="zh"), "calendar", ["14d"]))[0].text
    assert "• 2024-03-19 周二 · 国债拍卖结算日 ($90.0B: 8-Week Bill)" in zh
    store.close()
    assert main(["--db", str(store.path), "calendar", "--from", "2026-06-15", "--days", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"date": "2026-06-15", "event": "Treasury auction settlement (29-Year 11-Month Bond)"} == {
        k: out[-1][k] for k in ("date", "event")}   # amount not announced yet: no dollar figure


def test_cli_refresh_fetches_once_then_reads_the_store(server, cli_env, monkeypatch, capsys):
    FakeUpcomingAuctions(server, fixture_rows())
    monkeypatch.setenv("FISCALDATA_API_URL", server.url)
    monkeypatch.setattr("bot.cli_calendar.utcnow", lambda: datetime(2026, 6, 1, 12))   # settled ones are not asked
    assert main(["calendar", "--refresh", "--from", "2026-06-15", "--days", "1"]) == 0
    out, err = capsys.readouterr()
    assert "upcoming auctions: 1 stored" in err
    assert "• 2026-06-15 Mon · Treasury auction settlement (29-Year 11-Month Bond)" in out
    assert main(["calendar", "--refresh", "--from", "2026-06-15", "--days", "1"]) == 0
    assert "not again" in capsys.readouterr().err and len(server.hits(PATH)) == 1


async def test_the_running_bot_refreshes_the_auctions_hourly_at_most_every_6_hours(server, tmp_path):
    import io

    from bot.config import Settings
    from bot.runtime import build

    FakeUpcomingAuctions(server, fixture_rows())
    app = build(Settings(database_path=str(tmp_path / "db.db"), health_port=0, fred_csv_url="http://127.0.0.1:9",
                         nyfed_api_url="http://127.0.0.1:9", fiscaldata_api_url=server.url, http_timeout=2),
                out=io.StringIO())
    app.clock = lambda: datetime(2026, 6, 1, 12)
    try:
        await app.auctions()
        await app.auctions()                                   # the same hour: not again
        assert len(server.hits(PATH)) == 1
        got = await app.in_engine(app.engine.store.auctions_settling, date(2026, 6, 1), date(2026, 6, 30))
        assert [(a.security_term, a.issue_date) for a in got] == [("29-Year 11-Month", date(2026, 6, 15))]
    finally:
        await app.shutdown()


def test_postgres_keeps_auctions_too(pg_url):
    from bot.store.postgres import PostgresStore

    store = PostgresStore(pg_url)
    try:
        rows = parse_auctions(fixture_rows())
        assert store.save_auctions(rows, "2024-03-11T12:00:00") == 2
        assert store.save_auctions(rows, "2024-03-11T18:00:00") == 2                 # upserted, not doubled
        got = store.auctions_settling(date(2024, 3, 1), date(2026, 12, 31))
        assert [a.offering_amount for a in got] == [90e9, None]
        assert store.auctions_fetched_at() == "2024-03-11T18:00:00"
    finally:
        store.close()


async def test_a_shutdown_during_an_auctions_fetch_ends_the_job_quietly(tmp_path, caplog):
    """Stopping the bot while FiscalData has not answered yet: the job ends without an error (the
    scheduler logged a CancelledError traceback at every such shutdown) and stores nothing."""
    import asyncio
    import io
    import logging
    import socket

    from bot.config import Settings
    from bot.runtime import build

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()   # accepts, never answers
    url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    app = build(Settings(database_path=str(tmp_path / "db.db"), health_port=0, fred_csv_url="http://127.0.0.1:9",
                         nyfed_api_url="http://127.0.0.1:9", fiscaldata_api_url=url, http_timeout=30),
                out=io.StringIO())
    try:
        with caplog.at_level(logging.DEBUG):
            job = asyncio.create_task(app.auctions())
            await asyncio.sleep(0.5)
            job.cancel()
            assert await job is None
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING and "auction" in r.getMessage()]
        got = await app.in_engine(app.engine.store.auctions_settling, date(2026, 1, 1), date(2027, 12, 31))
        assert got == []
    finally:
        await app.shutdown()
        silent.close()
