"""The liquidity calendar people read: /calendar in both languages, `liquidity-bot calendar`, the
digest's week-ahead line; events from rules and the Fed's published schedule (bot/fomc.yaml)."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime

from bot.catalog import default_catalog
from bot.cli import main
from bot.commands import REGISTRY, CommandService, Ctx
from bot.liquidity_calendar import events, occurrences, week_ahead_line

NOW = datetime(2026, 12, 7, 15)   # naive UTC: Monday 2026-12-07, 10:00 in New York


def _ask(store, *args: str, lang: str = "en", now: datetime = NOW) -> str:
    service = CommandService(store, default_catalog(), lambda: [], lambda: now)
    return asyncio.run(service.dispatch(Ctx("telegram", "1", lang=lang), "calendar", list(args)))[0].text


def _kinds(day: date) -> set[str]:
    return {e.kind for e in events(day, 1)}


def test_tax_dates_and_coupon_settlements_move_to_the_next_business_day():
    assert "tax_individual" in _kinds(date(2024, 1, 16))     # Jan 15 2024 was Martin Luther King Jr. Day
    assert "tax" in _kinds(date(2024, 9, 16))                # Sep 15 2024 was a Sunday
    assert "tax" not in _kinds(date(2024, 9, 15))
    assert "coupon" in _kinds(date(2026, 6, 1))              # May 31 2026 is a Sunday: settles Monday
    assert "coupon" in _kinds(date(2026, 3, 2))              # Feb 28 2026 is a Saturday


def test_period_ends_are_the_last_business_day_and_say_which_end():
    assert "quarter_end" in _kinds(date(2024, 6, 28))        # June 30 2024 was a Sunday
    assert "year_end" in _kinds(date(2026, 12, 31)) and "quarter_end" not in _kinds(date(2026, 12, 31))
    assert "month_end" in _kinds(date(2026, 11, 30))
    assert occurrences("quarter_end", date(2026, 12, 1), 4) == [
        date(2026, 9, 30), date(2026, 6, 30), date(2026, 3, 31), date(2025, 12, 31)]


def test_h41_thursdays_follow_holidays_and_fomc_days_follow_the_published_schedule():
    thanksgiving_week = [e.day for e in events(date(2026, 11, 23), 7) if e.kind == "h41"]
    assert thanksgiving_week == [date(2026, 11, 25)]         # Thursday is Thanksgiving: Wednesday
    fomc = [e.day for e in events(date(2026, 1, 1), 365) if e.kind == "fomc"]
    assert fomc == [date(2026, 1, 28), date(2026, 3, 18), date(2026, 4, 29), date(2026, 6, 17),
                    date(2026, 7, 29), date(2026, 9, 16), date(2026, 10, 28), date(2026, 12, 9)]


def test_calendar_command_in_english(store):
    assert "calendar" in REGISTRY   # Telegram /calendar and Slack `/liquidity calendar`
    text = _ask(store, "14d")
    lines = text.splitlines()
    assert lines[0] == "Liquidity calendar 2026-12-07 to 2026-12-20 (US/Eastern):"
    assert "• 2026-12-09 Wed · FOMC decision (2 pm ET)" in lines
    assert "• 2026-12-15 Tue · Corporate tax date" in lines
    assert "• 2026-12-15 Tue · Treasury coupon settlement" in lines
    assert [x for x in lines if "H.4.1" in x] == ["• 2026-12-10 Thu · H.4.1 release (Fed balance sheet, 4:30 pm ET)",
                                                   "• 2026-12-17 Thu · H.4.1 release (Fed balance sheet, 4:30 pm ET)"]
    assert lines[lines.index("• 2026-12-15 Tue · Corporate tax date") + 1].startswith(
        "  Why: corporate estimated tax payments move cash into the TGA. Typical: TGA up, reserves down")
    assert "Year-end" not in text and "Year-end" in _ask(store, "4w")


def test_calendar_command_in_chinese_and_its_mistakes(store):
    text = _ask(store, lang="zh")
    assert text.startswith("流动性日历 2026-12-07 至 2026-12-20（美东时间）：")
    assert "• 2026-12-09 周三 · FOMC 议息决议（美东时间下午 2 点）" in text and "企业缴税日" in text
    assert "原因：" in text and "通常影响：" in text
    assert _ask(store, "soon") == "Say how many days ahead, from 1d to 92d, e.g. calendar 14d."
    assert _ask(store, "400d", lang="zh") == "请说明向前看几天，1d 到 92d，例如 calendar 14d。"


def test_cli_calendar_json_has_exactly_the_four_keys(cli_env, capsys):
    assert main(["calendar", "--from", "2026-12-28", "--days", "7", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert all(set(x) == {"date", "event", "why it matters", "typical effect"} for x in out)
    assert [(x["date"], x["event"]) for x in out] == [
        ("2026-12-31", "Year-end"), ("2026-12-31", "Treasury coupon settlement"),
        ("2026-12-31", "H.4.1 release (Fed balance sheet, 4:30 pm ET)")]
    assert main(["calendar", "--from", "2026-12-28", "--days", "3", "--lang", "zh"]) == 0
    assert "这几天没有已知事件。" in capsys.readouterr().out
    assert main(["calendar", "--days", "0"]) == 1


def test_week_ahead_line_names_the_days_in_both_languages():
    assert week_ahead_line(date(2026, 12, 12)) == (
        "Week ahead: Tue 12-15 Corporate tax date; Tue 12-15 Treasury coupon settlement.")
    assert week_ahead_line(date(2026, 12, 12), "zh") == "未来一周：周二 12-15 企业缴税日；周二 12-15 国债付息结算日。"
    assert week_ahead_line(date(2026, 12, 19)).startswith("Week ahead: Thu 12-24 H.4.1")   # nothing else that week


def _csv(path) -> dict[date, float]:
    rows = path.read_text().splitlines()[1:]
    return {date.fromisoformat(d): float(v) for d, v in (r.split(",") for r in rows if not r.endswith(","))}


def test_a_quarter_end_is_compared_with_the_last_8_from_the_store(history_store, catalog, shared_data):
    from statistics import median

    from bot.surprise import surprise_line

    frames = history_store.frames(catalog)
    line = surprise_line("rrp", catalog, frames, date(2026, 6, 30))
    # independently from the FRED file: the last 8 quarter-ends before 2026-06-30 (billions)
    rrp = _csv(shared_data / "fred" / "RRPONTSYD.csv")
    quarter_ends = [date(2024, 6, 28), date(2024, 9, 30), date(2024, 12, 31), date(2025, 3, 31), date(2025, 6, 30),
                    date(2025, 9, 30), date(2025, 12, 31), date(2026, 3, 31)]
    past = [rrp[d] for d in quarter_ends]
    assert rrp[date(2026, 6, 30)] == 26.9 and min(past) == 15.782 and sorted(past)[1] > 26.9
    assert line == (f"Quarter-end: ON RRP on the last 8 quarter-ends ranged $15.8B–${max(past):.1f}B, "
                    f"median ${median(past):.1f}B — today $26.9B is the 2nd smallest.")
    zh = surprise_line("rrp", catalog, frames, date(2026, 6, 30), "zh")
    assert zh.startswith("季末：ON RRP 在最近 8 个季末介于 $15.8B–") and "今天 $26.9B 为第 2 小。" in zh


def test_srf_take_up_on_the_2019_year_end_and_no_line_on_ordinary_days(history_store, catalog):
    from bot.surprise import surprise_line

    frames = history_store.frames(catalog)
    # before the Sep 2019 repo operations there was no take-up (no print = $0); only earlier days count
    assert surprise_line("srf_usage", catalog, frames, date(2019, 12, 31)) == (
        "Year-end: Repo / SRF usage on the last 8 quarter-ends ranged $0–$49.8B, median $0 — "
        "today $15.2B is the 2nd largest.")
    assert surprise_line("rrp", catalog, frames, date(2026, 6, 24)) is None       # no event that day
    assert surprise_line("rrp", catalog, frames, date(2003, 3, 31)) is None       # too little history before it


def test_a_weekly_digest_ends_with_the_week_ahead(store):
    from bot.digest import queue_due_digests

    service = CommandService(store, default_catalog(), lambda: [], lambda: datetime(2026, 12, 11, 8))
    store.ensure_chat("telegram", "9", "private", None, "t")
    ctx = Ctx("telegram", "9", lang="zh")
    asyncio.run(service.dispatch(ctx, "lang", ["zh"]))
    assert "17:00" in asyncio.run(service.dispatch(ctx, "digest", ["weekly", "17:00", "UTC"]))[0].text
    assert queue_due_digests(service, {"telegram"}, datetime(2026, 12, 11, 17, 0)) == 1   # Friday
    text = store._rows("SELECT text FROM alert_events WHERE rule_id = 'digest'")[0][0]
    assert text.endswith("\n\n未来一周：周二 12-15 企业缴税日；周二 12-15 国债付息结算日。")


def test_an_alert_on_a_corporate_tax_date_says_so_in_every_quarter():
    """The alert's calendar note knows the four corporate tax dates the calendar lists, December's too,
    and says nothing on an ordinary day."""
    from bot.format import calendar_note

    for d in (date(2026, 4, 15), date(2026, 6, 16), date(2026, 9, 15), date(2026, 12, 15)):
        assert calendar_note(d).startswith("tax date:"), d
    assert calendar_note(date(2026, 12, 15), "zh") != calendar_note(date(2026, 12, 15))   # translated
    assert calendar_note(date(2026, 11, 12)) is None
