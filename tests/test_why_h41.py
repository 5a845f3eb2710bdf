"""`/why reserves` and `/why net_liquidity`: the H.4.1 identity on real weeks, and where people ask.

Data: ../shared/data/fred (2002-2026 Wednesday levels), ../shared/data/h41_2021-2023 (100 real weeks of
repos, loans, bills, foreign official reverse repos) and tests/fixtures/h41_totals (the same 100 weeks of
the two H.4.1 totals and currency, from the Fed's Data Download Program: see its README.md).
"""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from bot.catalog import default_catalog
from bot.cli import main
from bot.commands import CommandService, Ctx
from bot.ingest import ingest_source
from bot.sources.files import FileSource
from bot.store import Store
from bot.why import attribute
from bot.why_h41 import drivers_line, value_at

TOTALS = Path(__file__).parent / "fixtures" / "h41_totals"
FRED = ("WRBWFRBL", "WSHOSHO", "TREAST", "WDTGAL", "WLRRAL", "WALCL", "WTREGEN", "RRPONTSYD")
WINDOW = ("WORAL", "WSHOBL", "WLRRAFOIAL", "WLCFLL")   # the 100-week files (their WLODLL is not used)
NOW = datetime(2026, 11, 22, 12)


@pytest.fixture(scope="module")
def h41_dir(shared_data, tmp_path_factory) -> Path:
    """Only the H.4.1 files (links, not copies), so the store stays small and fast to fill."""
    d = tmp_path_factory.mktemp("h41")
    for sid in FRED:
        (d / f"{sid}.csv").symlink_to(shared_data / "fred" / f"{sid}.csv")
    for sid in WINDOW:
        (d / f"{sid}.csv").symlink_to(shared_data / "h41_2021-2023" / f"{sid}.csv")
    for f in TOTALS.glob("*.csv"):
        (d / f.name).symlink_to(f)
    return d


@pytest.fixture(scope="module")
def h41_store(h41_dir, tmp_path_factory):
    s = Store(tmp_path_factory.mktemp("h41db") / "h41.db")
    report = ingest_source(s, FileSource(default_catalog(), [h41_dir]), lambda: NOW)
    assert not report.errors, report.summary()
    yield s
    s.close()


@pytest.fixture(scope="module")
def frames(h41_store):
    return h41_store.frames(default_catalog())


def _weeks(shared_data: Path) -> list[date]:
    lines = (shared_data / "h41_2021-2023" / "WORAL.csv").read_text().split()[1:]
    return [date.fromisoformat(line.split(",")[0]) for line in lines]


def test_the_identity_holds_within_1b_on_every_real_week(frames, shared_data):
    catalog = default_catalog()
    weeks = _weeks(shared_data)
    assert len(weeks) == 100
    for day in weeks:   # levels: supplying - absorbing = reserves, from three published series
        gap = value_at(frames, "h41_supplying", day) - value_at(frames, "h41_absorbing", day) \
            - value_at(frames, "h41_reserves", day)
        assert abs(gap) <= 1e9, day
    for day in weeks[1:]:   # every week's change, split into factors
        att = attribute("reserves", catalog, frames, 1, day)
        assert (att.start, att.end) == (weeks[weeks.index(day) - 1], day)
        assert abs(att.residual) <= 1e9, (day, att.residual)
        assert not any("Not available" in n for n in att.notes), day
        assert sum(f.effect for f in att.factors) + att.residual == pytest.approx(att.change)
        effects = [abs(f.effect) for f in att.factors]
        assert effects == sorted(effects, reverse=True)


def test_a_quarter_over_the_window_names_qt_and_the_bills_separately(frames):
    att = attribute("reserves", default_catalog(), frames, 13, date(2022, 12, 28))
    by = {f.name: f for f in att.factors}
    assert {"qt_treasuries", "qt_mbs", "tga", "on_rrp", "currency"} <= set(by)
    assert by["qt_treasuries"].effect < -50e9 and by["qt_treasuries"].label.endswith("(QT)")
    assert "Treasury notes and bonds -$" in by["qt_treasuries"].label
    assert abs(att.residual) <= 1e9


def test_the_march_2023_bank_run_shows_as_loans(frames):
    att = attribute("reserves", default_catalog(), frames, 2, date(2023, 3, 22))
    assert att.factors[0].name == "loans" and att.factors[0].effect > 300e9   # discount window + BTFP
    assert abs(att.residual) <= 1e9


def test_outside_the_window_the_missing_factors_are_named_and_stay_in_the_residual(frames):
    att = attribute("reserves", default_catalog(), frames, 1, date(2019, 9, 18))   # the repo-spike week
    note = next(n for n in att.notes if n.startswith("Not available here: "))
    for sid in ("WCICL", "WORAL", "WLCFLL", "WTFSRFL", "WTFORBAFL"):
        assert sid in note
    assert {f.name for f in att.factors} >= {"tga", "reverse_repos"}   # ON RRP not split from foreign official
    assert att.residual == pytest.approx(att.change - sum(f.effect for f in att.factors))
    assert att.change == pytest.approx(value_at(frames, "h41_reserves", date(2019, 9, 18))
                                       - value_at(frames, "h41_reserves", date(2019, 9, 11)))


def test_net_liquidity_is_assets_by_kind_minus_tga_minus_on_rrp(frames):
    att = attribute("net_liquidity", default_catalog(), frames, 4, date(2022, 12, 28))
    names = {f.name for f in att.factors}
    assert {"qt_treasuries", "tga", "on_rrp"} <= names and "other_assets" in names
    assert abs(att.residual) < 1e6
    assert any("TGA week average" in n for n in att.notes)


def _ask(store, *args: str, lang: str = "en") -> str:
    service = CommandService(store, default_catalog(), lambda: [], lambda: NOW)
    return asyncio.run(service.dispatch(Ctx("telegram", "1", lang=lang), "why", list(args)))[0].text


def test_chat_why_reserves_and_net_liquidity_in_both_languages(h41_store):
    text = _ask(h41_store, "reserves", "4w")
    lines = text.splitlines()
    assert lines[0].startswith("Reserve balances (Wednesday level): ") and " from " in lines[0]
    assert any(line.startswith("• Reverse repos ") and " → " in line for line in lines)
    assert any(line.startswith("• Residual ") for line in lines)
    assert "Not available here: " in text   # the newest weeks lack the 100-week files
    zh = _ask(h41_store, "reserves", "4w", lang="zh")
    assert zh.startswith("准备金余额（周三水平）：") and "残差" in zh and "暂缺" in zh
    net = _ask(h41_store, "net_liquidity")
    assert net.startswith("Net liquidity (assets - TGA - RRP): ") and "• Fed total assets " in net
    assert _ask(h41_store, "net_liquidity", lang="zh").startswith("净流动性")


def test_cli_why_reserves_json(h41_dir, tmp_path, capsys):
    code = main(["--db", str(tmp_path / "w.db"), "why", "reserves", "--weeks", "4", "--to", "2023-03-22", "--json",
                 "--data", str(h41_dir)])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"metric", "from", "to", "change", "factors", "residual"}
    assert (out["metric"], out["from"], out["to"]) == ("reserves", "2023-02-22", "2023-03-22")
    assert set(out["factors"][0]) == {"name", "label", "effect"}
    assert abs(out["residual"]) <= 1e9
    assert sum(f["effect"] for f in out["factors"]) + out["residual"] == pytest.approx(out["change"])
    assert main(["--db", str(tmp_path / "w.db"), "why", "reserves", "--to", "2026-06-03"]) == 0
    assert "Not available here: " in capsys.readouterr().out


def test_drivers_line_names_the_top_three_with_their_effect(frames):
    line = drivers_line(default_catalog(), frames, "reserves", "en", to=date(2022, 6, 1))
    assert line == ("Reserves drivers (1w to 2022-06-01): ON RRP -$30.7B → reserves +$30.7B; "
                    "TGA -$21.1B → reserves +$21.1B; Currency +$4.3B → reserves -$4.3B")
    assert drivers_line(default_catalog(), frames, "reserves", "zh", to=date(2022, 6, 1)).startswith(
        "准备金驱动因素（截至 2022-06-01 的 1 周）：ON RRP -$30.7B → 准备金 +$30.7B")
    assert drivers_line(default_catalog(), frames, "net_liquidity_change_1w", "en") is not None
    assert drivers_line(default_catalog(), frames, "sofr", "en") is None


def test_the_h41_window_fetches_the_factors_once_when_the_release_arrives():
    from datetime import timedelta

    from bot.release import ET, H41_FACTORS, RELEASES
    from bot.schedule import ReleasePoller

    h41 = next(r for r in RELEASES if r.key == "fred.h41")
    published = datetime(2026, 12, 3, 16, 33, 10, tzinfo=ET)
    clock = {"t": datetime(2026, 12, 3, 16, 0, tzinfo=ET)}
    fetches: list[tuple[str, ...]] = []

    async def sleep(seconds: float) -> bool:
        clock["t"] += timedelta(seconds=seconds)
        return clock["t"] >= datetime(2026, 12, 3, 20, 0, tzinfo=ET)

    async def fetch(series: tuple[str, ...]) -> set[str]:
        fetches.append(series)
        clock["t"] += timedelta(milliseconds=300)
        return set(series) if clock["t"] >= published else set()

    asyncio.run(ReleasePoller("fred", fetch, lambda: clock["t"], sleep, releases=(h41,)).run())
    waits, follow = fetches[:-1], fetches[-1]
    assert all(set(s) == {"WRESBAL", "WALCL", "WTREGEN"} for s in waits)   # waiting costs no factor requests
    assert follow == H41_FACTORS and fetches.count(H41_FACTORS) == 1


def _reserves_alert(tmp_path, shared_data, catalog, week: str, factors_until: str = "9999") -> dict:
    """The stored `reserves_below_3t` event after a print of $2.95T for `week` is added to the real history
    (the H.4.1 factors cut after `factors_until`)."""
    import shutil

    from bot.engine import Engine
    from bot.rules.loader import load_rules
    from tests.test_rules_loader import RULES

    d = tmp_path / "data"
    d.mkdir()
    for sid in ("WRESBAL", "WALCL", "WTREGEN", "RRPONTSYD"):
        shutil.copy(shared_data / "fred" / f"{sid}.csv", d)
    for sid in ("WRBWFRBL", "WSHOSHO", "TREAST", "WDTGAL", "WLRRAL"):
        lines = (shared_data / "fred" / f"{sid}.csv").read_text().splitlines()
        (d / f"{sid}.csv").write_text("\n".join(lines[:1] + [x for x in lines[1:] if x[:10] <= factors_until]) + "\n")
    store = Store(tmp_path / "bot.db")
    ingest_source(store, FileSource(catalog, [d]), lambda: datetime(2026, 9, 1, 12))
    rules = [r for r in load_rules(RULES, catalog).rules if r.condition.kind != "stale"]
    engine = Engine(store, catalog, rules, [("console", "stdout")], {"console"})
    assert engine.evaluate(datetime(2026, 9, 1, 12)) == []
    with open(d / "WRESBAL.csv", "a") as f:
        f.write(f"{week},2950000\n")
    ingest_source(store, FileSource(catalog, [d]), lambda: datetime(2026, 9, 1, 12))
    engine.evaluate(datetime.fromisoformat(week) + timedelta(days=2, hours=17))
    event = next(e for e in store.recent_events() if e["rule_id"] == "reserves_below_3t")
    store.close()
    return event


def test_an_alert_for_a_week_the_factors_do_not_reach_yet_names_no_drivers(tmp_path, shared_data, catalog):
    """The factors stop at 2026-06-03: the print for 06-10 is not explained by the week before; the alert
    goes out without a drivers line (the H.4.1 window fetches the factors right after its own series)."""
    event = _reserves_alert(tmp_path, shared_data, catalog, "2026-06-10", factors_until="2026-06-03")
    assert "drivers" not in event["text"] and "2026-06-10" in event["text"]


def test_a_reserves_alert_names_its_top_three_drivers(tmp_path, shared_data, catalog):
    from bot.format import AlertMessage

    event = _reserves_alert(tmp_path, shared_data, catalog, "2026-06-10")
    line = next(x for x in event["text"].splitlines() if x.startswith("Reserves drivers (1w to 2026-06-10): "))
    assert line.count("; ") == 2 and "TGA " in line   # three drivers, the TGA among them
    zh = AlertMessage.from_stored(event["payload"], event["text"], event["rule_id"], event["topic"], "firing", "zh")
    assert zh.drivers.startswith("准备金驱动因素（截至 2026-06-10 的 1 周）：")


def test_the_weekly_digest_carries_both_drivers_lines(h41_store):
    service = CommandService(h41_store, default_catalog(), lambda: [], lambda: NOW)
    text = service.digest_message("telegram", "1", "weekly", "2026-11-01T00:00:00", "en")
    assert "\nReserves drivers (1w to " in text and "\nNet liquidity drivers (1w to " in text
    assert "Reserves drivers" not in service.digest_message("telegram", "1", "daily", "2026-11-01T00:00:00", "en")


def test_over_the_full_history_every_answer_adds_up_and_says_what_is_missing(frames, shared_data):
    catalog, window = default_catalog(), set(_weeks(shared_data))
    ends = frames["h41_reserves"].index[1::26]   # every half year, 2002-12-25 to 2026
    assert ends[0].year == 2002 and ends[-1].year == 2026
    for end in ends:
        att = attribute("reserves", catalog, frames, 1, end.date())
        assert sum(f.effect for f in att.factors) + att.residual == pytest.approx(att.change), end
        missing = [n for n in att.notes if n.startswith("Not available here: ")]
        assert bool(missing) == (end.date() not in window or att.start not in window), end
        if missing:
            assert "WTFSRFL" in missing[0] and "WRBWFRBL" not in missing[0]


def test_slack_and_plain_text_alerts_print_the_drivers_line():
    from bot.chat.slack import blocks_for
    from bot.format import AlertMessage

    line = "Reserves drivers (1w to 2022-06-01): ON RRP -$30.7B → reserves +$30.7B"
    m = AlertMessage("reserves_below_3t", "reserves", "warning", "firing", "Bank reserves are $2.950T", "",
                     "2022-06-01", "FRED WRESBAL", drivers=line)
    assert line in m.to_text().splitlines()
    context = next(b for b in blocks_for(m) if b["type"] == "context")["elements"][0]["text"]
    assert "ON RRP -$30.7B → reserves +$30.7B" in context
