"""A real first start: FRED answers seconds after the NY Fed and FiscalData. The chat gets the
alert about this week's data and nothing about history, nor "no data yet" outage alerts."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from datetime import date, timedelta

from bot.store import Store
from tests.fakes.http import FakeServer, Reply
from tests.fakes.sources import FakeFred, FakeNyFed, fiscal_row, nyfed_operation, nyfed_rate
from tests.fakes.telegram import FakeTelegram
from tests.proc import BotProcess, recent_wednesday

TOKEN = "987654321:AAFirstStartFakeToken_abcdefghijklmnopq"


def _csv(path) -> list[tuple[str, str]]:
    return [tuple(line.split(",")) for line in path.read_text().splitlines()[1:]]  # type: ignore[misc]


def _business_days(n: int) -> list[str]:
    out, d = [], date.today() - timedelta(days=1)
    while len(out) < n:
        if d.weekday() < 5:
            out.append(d.isoformat())
        d -= timedelta(days=1)
    return sorted(out)


def test_slow_fred_on_a_fresh_database_sends_only_news(tmp_path, shared_data):
    db = tmp_path / "first.db"
    store = Store(db)
    store.ensure_chat("telegram", "42", "private", None, "t")
    store.subscribe("telegram", "42", "all", "t")
    store.close()
    week = recent_wednesday()
    fred = {"WRESBAL": [*_csv(shared_data / "fred" / "WRESBAL.csv"), (week, "2950000")],
            "SOFR": _csv(shared_data / "fred" / "SOFR.csv"), "IORB": _csv(shared_data / "fred" / "IORB.csv"),
            "IOER": _csv(shared_data / "fred" / "IOER.csv"), "EFFR": _csv(shared_data / "fred" / "EFFR.csv")}
    days = _business_days(12)
    with FakeServer() as server:
        FakeFred(server, fred)
        csv_route = server.routes["/graph/fredgraph.csv"]
        server.routes["/graph/fredgraph.csv"] = lambda req: replace(csv_route(req), delay=0.4)  # ~6 s for all
        FakeNyFed(server, [nyfed_operation(d, "Reverse Repo", 600e9) for d in days],
                  {"sofr": [nyfed_rate(d, "SOFR", 3.60) for d in days]})
        dts = [fiscal_row(d, "Treasury General Account (TGA) Closing Balance", "850000", None) for d in days]
        server.routes["/v1/accounting/dts/operating_cash_balance"] = lambda req: Reply(
            200, {"data": dts, "meta": {"count": len(dts), "total-count": len(dts), "total-pages": 1}, "links": {}})
        tg = FakeTelegram(server, TOKEN)
        env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": server.url, "HEALTH_PORT": "0",
               "DATABASE_PATH": str(db), "FRED_CSV_URL": server.url, "NYFED_API_URL": server.url + "/api",
               "FISCALDATA_API_URL": server.url, "POLL_SECONDS": "30"}
        bot = BotProcess(["run"], tmp_path, env)
        try:
            bot.wait_for("liquidity-bot: ready", 30)
            tg.wait_for(lambda s: any("Reserves below $3T" in x.text for x in s), 60)
            bot.wait_for(r"fred: \d+/\d+ series ok", 30)
            time.sleep(2.0)  # anything about history would come right after the first evaluations
        finally:
            assert bot.terminate(15) == 0
    texts = [x.text for x in tg.to(42) if x.method == "sendMessage"]  # not the charts under alerts
    reserves = [t for t in texts if "Reserves below $3T" in t]
    assert len(reserves) == 1 and f"week ending {week}" in reserves[0]
    oldest = (date.today() - timedelta(days=14)).isoformat()
    for t in texts:
        about = "\n".join(line for line in t.splitlines() if not line.startswith("Last fired"))  # the rule's record
        dates = re.findall(r"\d{4}-\d{2}-\d{2}", about)
        assert dates and min(dates) >= oldest, t          # nothing about old data
        assert "stored yet" not in t, t                    # no start-up outage alerts
