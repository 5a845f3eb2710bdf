"""The release model (bot/release.py), precise polling (bot/schedule.py ReleasePoller) on a fake
clock, learning from the observations stored in a real SQLite file, and `liquidity-bot schedule`."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import date, datetime, time, timedelta

import pytest

from bot.cli import main
from bot.release import ET, RELEASES, expected_at, h41_day, learned_time, plan, poll_times
from bot.schedule import ReleasePoller, _et_time
from bot.store import Store
import itertools

RRP = next(r for r in RELEASES if r.key == "nyfed.rrp")
H41 = next(r for r in RELEASES if r.key == "fred.h41")


def test_no_release_windows_on_christmas_or_weekends():
    assert plan(date(2026, 12, 25), 1) == []
    assert plan(date(2026, 12, 26), 2) == []  # Saturday, Sunday
    assert {p.at.date() for p in plan(date(2026, 12, 24), 5)} == {date(2026, 12, 24), date(2026, 12, 28)}


def test_a_monday_holiday_shifts_nothing_into_the_weekend():
    # 2027-01-18 is Martin Luther King Jr. Day (Monday).
    days = {p.at.date() for p in plan(date(2027, 1, 15), 5)}
    assert days == {date(2027, 1, 15), date(2027, 1, 19)}
    assert all(p.at.weekday() < 5 for p in plan(date(2027, 1, 1), 60))


def test_h41_moves_to_wednesday_in_thanksgiving_week_and_is_thursday_otherwise():
    assert h41_day(date(2026, 11, 23)) == date(2026, 11, 25)
    assert h41_day(date(2026, 12, 1)) == date(2026, 12, 3)
    h41_days = {p.at.date() for p in plan(date(2026, 11, 23), 14) if p.release == "fred.h41"}
    assert h41_days == {date(2026, 11, 25), date(2026, 12, 3)}


def test_on_rrp_is_polled_every_5_s_from_before_1_15_pm_then_backs_off():
    polls = [p for p in plan(date(2026, 12, 1), 1) if p.release == "nyfed.rrp"]
    ats = [p.at for p in polls]
    assert ats[0] == datetime(2026, 12, 1, 13, 13, tzinfo=ET)
    assert datetime(2026, 12, 1, 13, 15, 5, tzinfo=ET) in ats
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(ats)]
    assert set(gaps[:140]) == {5.0} and 30.0 in gaps and gaps[-1] == 300.0
    assert ats[-1] == datetime(2026, 12, 1, 15, 15, tzinfo=ET)  # nothing after two hours


def test_schedule_json_prints_one_object_per_poll(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "none.db"))
    assert main(["schedule", "--from", "2026-12-01", "--days", "1", "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert {"source": "nyfed", "series": ["NYFED_RRP"], "at": "2026-12-01T13:15:05-05:00",
            "why": "ON RRP results"} in lines
    assert all(set(o) == {"source", "series", "at", "why"} for o in lines)
    assert len(lines) == len(plan(date(2026, 12, 1), 1))
    assert main(["schedule", "--from", "2026-12-25", "--json"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["schedule", "--from", "2026-12-25"]) == 0
    assert "no release windows (Christmas Day)" in capsys.readouterr().out


def test_the_expected_time_moves_toward_the_observed_median_after_a_few_weeks(tmp_path):
    store = Store(tmp_path / "bot.db")
    day = date(2026, 9, 1)
    seen = []
    while len(seen) < 20:  # four weeks of business days, ON RRP out at 1:17:30 pm
        if expected_at(RRP, day):
            at = datetime.combine(day, time(13, 17, 30), ET)
            store.record_release_seen("nyfed.rrp", day.isoformat(), at.isoformat(), 4.0)
            seen.append(at)
        day += timedelta(days=1)
    store.close()
    store = Store(tmp_path / "bot.db")  # what the bot learns survives a restart
    observed = [_et_time(o["seen_at"]) for o in store.release_seen("nyfed.rrp")]
    assert len(observed) == 20
    assert learned_time(RRP.at, observed[:3]) == time(13, 15)  # too few: the documented time
    halfway = learned_time(RRP.at, observed[:9])
    assert time(13, 15) < halfway < time(13, 17, 30)
    assert learned_time(RRP.at, observed) == time(13, 17, 30)
    assert expected_at(RRP, date(2026, 12, 1), observed) == datetime(2026, 12, 1, 13, 17, 30, tzinfo=ET)
    # An outlier month cannot drag a window hours away from the release.
    assert learned_time(RRP.at, [time(20, 0)] * 20) == time(14, 45)


class Sim:
    """A fake clock and a fake NY Fed: RRP results appear at `published`; the poller's sleeps
    advance the clock instantly."""

    def __init__(self, start: datetime, published: datetime | None, end: datetime) -> None:
        self.t, self.published, self.end = start, published, end
        self.fetches: list[tuple[datetime, tuple[str, ...]]] = []
        self.delivered = False

    def now(self) -> datetime:
        return self.t

    async def sleep(self, seconds: float) -> bool:
        self.t += timedelta(seconds=seconds)
        return self.t >= self.end

    async def fetch(self, series: tuple[str, ...]) -> set[str]:
        self.fetches.append((self.t, series))
        self.t += timedelta(milliseconds=300)  # the request itself
        if self.published and self.t >= self.published and not self.delivered and "NYFED_RRP" in series:
            self.delivered = True
            return {"NYFED_RRP"}
        return set()


def _run(sim: Sim, **kw) -> ReleasePoller:
    recorded = []
    p = ReleasePoller("nyfed", sim.fetch, sim.now, sim.sleep, record=lambda *a: recorded.append(a),
                      releases=(RRP,), **kw)
    p.recorded = recorded
    asyncio.run(p.run())
    return p


def test_the_poller_fetches_within_seconds_of_publication_then_stops_for_the_day():
    pub = datetime(2026, 12, 1, 13, 15, 42, tzinfo=ET)
    sim = Sim(datetime(2026, 12, 1, 12, 0, tzinfo=ET), pub, datetime(2026, 12, 1, 23, 0, tzinfo=ET))
    p = _run(sim)
    hit = next(t for t, _ in sim.fetches if t >= pub)
    assert (hit - pub).total_seconds() <= 5
    assert all(s == ("NYFED_RRP",) for _, s in sim.fetches)  # the narrowest query: only what it waits for
    assert not [t for t, _ in sim.fetches if t > hit + timedelta(seconds=1)]  # stopped for the day
    (release, day, seen_at, delay), = p.recorded
    assert release.key == "nyfed.rrp" and day == date(2026, 12, 1) and seen_at >= pub
    assert 0 < delay <= 5.5 and p.last_delay == delay


def test_a_late_release_backs_off_and_logs_once(caplog):
    sim = Sim(datetime(2026, 12, 1, 12, 0, tzinfo=ET), None, datetime(2026, 12, 1, 23, 0, tzinfo=ET))
    with caplog.at_level(logging.INFO, logger="bot.schedule"):
        p = _run(sim, every=5.0)
    assert len(sim.fetches) == len(poll_times(expected_at(RRP, date(2026, 12, 1))))
    assert len(caplog.records) == 1 and "ON RRP results not out by 13:25" in caplog.records[0].message
    assert p.recorded == [] and p.next_publication(sim.t).date() == date(2026, 12, 2)


def test_the_poll_interval_is_configurable_per_source():
    from bot.schedule import parse_every

    assert parse_every("nyfed=2,fred=10") == {"nyfed": 2.0, "fred": 10.0}
    assert parse_every("7") == {"fred": 7.0, "nyfed": 7.0, "fiscaldata": 7.0}
    with pytest.raises(ValueError):
        parse_every("nyfed=0.1")
    pub = datetime(2026, 12, 1, 13, 15, 42, tzinfo=ET)
    sim = Sim(datetime(2026, 12, 1, 12, 0, tzinfo=ET), pub, datetime(2026, 12, 1, 23, 0, tzinfo=ET))
    _run(sim, every=2.0)
    hit = next(t for t, _ in sim.fetches if t >= pub)
    assert (hit - pub).total_seconds() <= 2


async def test_run_polls_releases_per_source_and_healthz_shows_the_next_publication(tmp_path):
    import io

    from bot.config import Settings
    from bot.runtime import build

    dead = "http://127.0.0.1:9"  # nothing listens: the first fetches fail fast
    app = build(Settings(database_path=str(tmp_path / "db.db"), health_port=0, fred_csv_url=dead, nyfed_api_url=dead,
                       fiscaldata_api_url=dead, http_timeout=1, release_poll_seconds="nyfed=3"), out=io.StringIO())
    await app.start()
    try:
        assert set(app.pollers) == {"fred", "nyfed", "fiscaldata"}
        assert app.pollers["nyfed"].every == 3.0 and app.pollers["fred"].every == 5.0
        # No cron window jobs any more: only the slow background poll per source, and FRED's H.4.1
        # factors (fetched by the H.4.1 window after its own series) twice a day, not every 2 hours.
        jobs = {j.id: j for j in app.scheduler.get_jobs() if j.id.startswith("fetch-")}
        assert sorted(jobs) == ["fetch-fiscaldata", "fetch-fred", "fetch-fred-follow", "fetch-nyfed"]
        factors = set(next(r for r in RELEASES if r.key == "fred.h41").follow)
        assert set(jobs["fetch-fred-follow"].args[1]) == factors and not factors & set(jobs["fetch-fred"].args[1])
        assert "hour='8,20'" in str(jobs["fetch-fred-follow"].trigger)  # twice a day
        src = app.healthz()["sources"]["nyfed"]
        nxt = datetime.fromisoformat(src["next_publication"])
        assert nxt.tzinfo is not None and nxt.astimezone(ET).time() in {r.at for r in RELEASES if r.source == "nyfed"}
        assert src["last_publication_delay_seconds"] is None
    finally:
        await app.shutdown()
    assert all(t.done() for t in app._tasks)  # the pollers woke up on shutdown


def test_asking_for_the_next_publication_does_not_restart_a_finished_window():
    pub = datetime(2026, 12, 1, 13, 15, 42, tzinfo=ET)
    sim = Sim(datetime(2026, 12, 1, 12, 0, tzinfo=ET), pub, datetime(2026, 12, 1, 13, 20, tzinfo=ET))
    p = _run(sim)
    n = len(sim.fetches)
    assert p.next_publication(sim.t) == datetime(2026, 12, 2, 13, 15, tzinfo=ET)  # /healthz asks this
    nxt, _ = p.next_poll(sim.t)
    assert nxt.date() == date(2026, 12, 2) and len(sim.fetches) == n


def test_schedule_text_shows_the_daily_cost_and_flags_a_plan_over_budget(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "none.db"))
    assert main(["schedule", "--from", "2026-12-03"]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last == "# 2026-12-03 (Thu): requests if nothing arrives: fiscaldata 203, fred 1218, nyfed 1218"
    monkeypatch.setenv("RELEASE_POLL_SECONDS", "nyfed=2")
    assert main(["schedule", "--from", "2026-12-03"]) == 0
    assert "(over the 1500 a day budget)" in capsys.readouterr().out.splitlines()[-1]


def test_data_found_without_an_empty_poll_before_it_teaches_nothing():
    # A start-up fetch at 2 pm finds today's ON RRP already out: the window is over for the day,
    # but 2 pm is not when it was published, so it is not recorded.
    recorded = []
    sim = Sim(datetime(2026, 12, 1, 14, 0, tzinfo=ET), None, datetime(2026, 12, 1, 23, 0, tzinfo=ET))
    p = ReleasePoller("nyfed", sim.fetch, sim.now, sim.sleep, record=lambda *a: recorded.append(a), releases=(RRP,))
    p.note({"NYFED_RRP"}, sim.t)
    assert recorded == [] and p.last_delay is None
    assert p.next_poll(sim.t)[0].date() == date(2026, 12, 2)


def test_ecb_statement_on_tuesdays_and_boj_accounts_monthly_polled_once_a_minute():
    ecb = [p for p in plan(date(2026, 12, 7), 7) if p.release == "fred.ecb"]
    assert {p.at.date() for p in ecb} == {date(2026, 12, 8)}                      # Tuesday only
    assert ecb[1].at - ecb[0].at == timedelta(seconds=60)                        # not every 5 s
    boj = [p for p in plan(date(2026, 9, 1), 30) if p.release == "fred.boj"]
    # 2026-09-05 is a Saturday and 09-07 Labor Day: the first business day on or after the 5th.
    assert {p.at.date() for p in boj} == {date(2026, 9, 8)} and boj[0].series == ("JPNASSETS",)
    tuesday = [p for p in plan(date(2026, 12, 8), 1) if p.source == "fred"]
    assert len(tuesday) <= 1500   # the same politeness budget


def test_only_new_rows_that_reach_the_releases_data_date_are_the_release():
    """A history load inside a release window (a first start, a restart after a day down) is not
    the release: the window keeps polling until the print dated for it comes."""
    from bot.catalog import default_catalog
    from bot.schedule import brings_release

    series = default_catalog().series
    thursday, tuesday_after_mlk_day = date(2026, 12, 3), date(2026, 1, 20)   # Jan 19 2026: MLK day
    assert not brings_release(series["NYFED_RRP"], "2026-12-02", thursday)     # history up to yesterday
    assert brings_release(series["NYFED_RRP"], "2026-12-03", thursday)         # today's ON RRP result
    assert brings_release(series["NYFED_SOFR"], "2026-12-02", thursday)        # SOFR is for the day before
    assert not brings_release(series["NYFED_SOFR"], "2026-12-01", thursday)
    assert brings_release(series["NYFED_SOFR"], "2026-01-16", tuesday_after_mlk_day)  # ... the business day before
    assert brings_release(series["WRESBAL"], "2026-12-02", thursday)           # H.4.1: Wednesday's week
    assert not brings_release(series["WRESBAL"], "2026-11-25", thursday)       # last week's, loaded at start-up
    assert brings_release(series["JPNASSETS"], "2026-10-01", thursday)         # monthly: not judged
