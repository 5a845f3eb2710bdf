"""What the analyst sees: the /status verdict, alerts that explain, charts, English and 简体中文."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import date, datetime
from pathlib import Path

import pytest

from bot.catalog import default_catalog
from bot.chat.telegram import TelegramAdapter
from bot.commands import COMMANDS, CommandService, Ctx
from bot.config import Settings
from bot.delivery import Deliverer
from bot.format import payload, render, render_all
from bot.rules.lifecycle import Alert, Transition
from bot.rules.loader import load_rules
from tests.test_rules_loader import RULES
from tests.test_telegram import TOKEN, ask

NOW = datetime(2026, 11, 22, 12)
PO = Path(__file__).parents[1] / "bot" / "locale" / "zh" / "LC_MESSAGES" / "messages.po"


@pytest.fixture(scope="module")
def rules():
    return {r.id: r for r in load_rules(RULES, default_catalog()).rules}


def _service(store, rules) -> CommandService:
    return CommandService(store, default_catalog(), lambda: list(rules.values()), lambda: NOW)


def _regime(store, name: str) -> None:
    store.save_states([("reserves_regime", Alert(data_date=date(2026, 6, 10), regime=name), None)], "t")


@pytest.fixture(autouse=True)
def _no_regime_left_behind(history_store):
    """`_regime` writes to the session's shared store: take it back, so that other files'
    tests see the store as imported (no regime state), whatever order they run in."""
    yield
    history_store._run("DELETE FROM alert_state WHERE rule_id = 'reserves_regime'")


# ---- languages --------------------------------------------------------------------------
def test_every_message_in_the_code_and_the_catalog_has_a_chinese_translation():
    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po

    root = Path(__file__).parents[1] / "bot"
    found = {msg for _f, _l, msg, _c, _x in extract_from_dir(
        root, method_map=[("**.py", "python")], keywords={"_": None, "N_": None, "label": None})}
    cat = default_catalog()
    found |= {t for m in cat.metrics.values() for t in (m.label, m.short) if t}
    with PO.open("rb") as fh:
        po = {m.id: m.string for m in read_po(fh) if m.id}
    missing = sorted(m for m in found if not po.get(m))
    assert not missing, f"add these to {PO} (pybabel extract -k N_ -k label bot): {missing}"
    for msgid, text in po.items():  # a translation keeps every placeholder of its source
        assert set(re.findall(r"\{\w+", msgid)) == set(re.findall(r"\{\w+", text)), msgid


def test_shipped_rules_speak_chinese_too(rules):
    for r in rules.values():
        assert r.title and r.title_zh and r.message_zh and r.why_zh, r.id


# ---- /status ----------------------------------------------------------------------------
def test_status_states_the_verdict_first_in_40_character_lines(history_store, rules):
    _regime(history_store, "ample")
    reply = _service(history_store, rules).status_text()
    verdict = reply.text.splitlines()
    # NOW is months after the files end: no score from stale data, and no "little changed" either
    assert verdict[0] == "Stress score: too little fresh data"
    assert re.fullmatch(r"Ample and data \d+ days old", verdict[1])  # the regime rule's own state
    assert verdict[2].startswith("• Reserves ") and "in 4 weeks" in verdict[2]
    assert re.fullmatch(r"SOFR \d+\.\d\d% · EFFR \d+\.\d\d% · IORB \d+\.\d\d%", verdict[-2])   # rate levels
    assert re.fullmatch(r"Range \d+\.\d\d–\d+\.\d\d%", verdict[-1])
    assert any(line.startswith("• SOFR above IORB ") for line in verdict)
    lines = verdict + reply.table.splitlines() + reply.footer.splitlines()
    assert max(len(line) for line in lines) <= 40
    labels = [line.split("  ")[0] for line in reply.table.splitlines() if not line.startswith(" ")]
    assert labels == ["Reserves", "ON RRP", "TGA (daily)", "Fed assets", "Net liquidity", "SOFR−IORB", "EFFR−IORB", "SRF"]
    changes = [line for line in reply.table.splitlines() if line.startswith("  1w ")]
    assert len(changes) == 8 and all(re.match(r"  1w [+-]\S+.* 4w [+-]", c) for c in changes)  # explicit signs
    assert "$3.014T" in reply.table and "above the $3.000T line" in reply.table   # distance to the threshold
    assert "sofr_iorb_spread" not in reply.table


def test_status_in_chinese(history_store, rules):
    _regime(history_store, "scarce")
    reply = _service(history_store, rules).status_text("zh")
    assert reply.text.startswith("压力评分：新鲜数据不足\n流动性偏紧，")
    assert "准备金" in reply.table and "$3.014T" in reply.table and "天前" in reply.table


# ---- alerts -----------------------------------------------------------------------------
def _firing(rule_id: str, value: float, history=None) -> Transition:
    return Transition(rule_id, "firing", date(2026, 6, 10), datetime(2026, 6, 11, 21), value, history=history)


def test_an_alert_explains_itself(rules):
    cat = default_catalog()
    m = render(rules["reserves_below_3t"], _firing("reserves_below_3t", 2.95e12, (6, date(2019, 9, 18), date(2025, 10, 1))),
               cat, previous=3.0e12)
    text = m.to_text()
    assert m.title == "⚠️ FIRING: Reserves below $3T"
    assert "Value $2.950T · threshold $3.000T · -$50.0B since the previous print" in text
    assert "Last fired 2025-10-01; 6 times since 2019." in text
    assert "Source: Fed H.4.1 via FRED WRESBAL; data as of 2026-06-10." in text
    first = render(rules["reserves_below_3t"], _firing("reserves_below_3t", 2.95e12, (0, None, None)), cat)
    assert "First time this alert has fired" in first.to_text()


def test_no_double_negatives(rules):
    m = render(rules["net_liquidity_weekly_drop"], _firing("net_liquidity_weekly_drop", -1.704e11), default_catalog())
    assert "Net liquidity fell $170.4B" in m.headline and "--" not in m.headline and "fell -" not in m.headline


def test_a_chinese_alert(rules):
    m = render(rules["reserves_below_3t"], _firing("reserves_below_3t", 2.95e12, (2, date(2022, 1, 5), date(2025, 10, 1))),
               default_catalog(), "zh", previous=3.0e12)
    text = m.to_text()
    assert m.title == "⚠️ 触发: 准备金低于3万亿美元"
    assert "银行准备金为$2.950T，低于$3.000T" in text and "为何重要：" in text
    assert "上次触发于 2025-10-01；自 2022 年以来共 2 次。" in text and "数据截至 2026-06-10" in text


def test_a_chinese_alert_says_its_window_in_chinese(rules):
    drain = _firing("rrp_weekly_drain", -2.5e11)
    zh = render(rules["rrp_weekly_drain"], drain, default_catalog(), "zh").headline
    assert "5个工作日内" in zh and "business" not in zh
    assert "over 5 business days" in render(rules["rrp_weekly_drain"], drain, default_catalog()).headline


def test_a_rules_record_counts_its_firings_in_history(history_store, rules):
    """The engine's silent first replay counts past firings, so the first live alert has context."""
    from bot.rules.replay import backtest, first_run

    cat = default_catalog()
    frames = history_store.frames(cat)
    rule = rules["sofr_above_iorb"]
    fired = [t for t in backtest([rule], frames, cat.units) if t.state == "firing"]
    run = first_run(rule, frames, cat.units, NOW)
    assert run.alert.fired == len(fired) > 1
    assert run.alert.first_fired == fired[0].data_date and run.alert.last_fired == fired[-1].data_date


# ---- through the fake Telegram server ---------------------------------------------------
@pytest.fixture
async def tg(fake, history_store, rules):
    adapter = TelegramAdapter(_service(history_store, rules), Settings(telegram_bot_token=TOKEN,
                                                                        telegram_api_url=fake.server.url))
    await adapter.start()
    yield adapter
    await adapter.stop()


async def test_telegram_status_verdict_table_and_a_phone_sized_chart(tg, fake, history_store):
    from PIL import Image

    _regime(history_store, "ample")
    replies = await ask(fake, 4201, "/status", n=2)
    text = replies[0]
    assert text.split("\n")[1].startswith("Ample and ") and "<pre>" in text   # after the stress score
    table = text.split("<pre>")[1].split("</pre>")[0]
    assert all(len(line) <= 40 for line in table.splitlines()) and "Reserves" in table
    photo = fake.to(4201)[-1]
    assert photo.method == "sendPhoto"
    assert Image.open(io.BytesIO(photo.photo)).size >= (1280, 720)


async def test_telegram_chart_has_the_threshold_label(tg, fake):
    from bot.chart import build_figure

    await ask(fake, 4202, "/chart rrp 5y")
    assert fake.to(4202)[-1].method == "sendPhoto"
    spec, _ = tg.commands._chart_spec("rrp", "5y", "en")
    fig = build_figure(spec)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any(t == "ON RRP nearly empty: $200.0B" for t in texts)
    assert any(t.startswith("Last $") for t in texts)


async def test_a_chinese_chart_is_drawn_in_chinese_only_when_a_chinese_font_exists(tg, monkeypatch):
    from bot import chart

    monkeypatch.setattr(chart, "cjk_font", lambda: None)
    spec, _ = tg.commands._chart_spec("reserves", "3y", "zh")
    assert spec.title == "Bank reserves" and spec.last_word == "Last"  # not boxes
    assert tg.commands.chart_caption("reserves", "3y", "zh").startswith("银行准备金")  # the chat reads Chinese
    monkeypatch.setattr(chart, "cjk_font", lambda: "Noto Sans CJK SC")
    spec, _ = tg.commands._chart_spec("reserves", "3y", "zh")
    assert spec.title == "银行准备金" and spec.last_word == "最新"


async def test_lang_zh_changes_replies_and_alerts(tg, fake, history_store, rules):
    assert "简体中文" in (await ask(fake, 4203, "/lang zh"))[0]
    assert history_store.language("telegram", "4203") == "zh"
    assert "正在触发" in (await ask(fake, 4203, "/status", n=2))[0]
    assert "未知命令 /frobnicate" in (await ask(fake, 4203, "/frobnicate"))[0]
    assert "Which language?" in (await ask(fake, 4204, "/lang klingon"))[0]
    # an alert event carries every language; this chat gets the Chinese one
    history_store.subscribe("telegram", "4203", "reserves", "t")
    history_store.ensure_chat("telegram", "4205", "private", None, "t")
    history_store.subscribe("telegram", "4205", "reserves", "t")
    t = _firing("reserves_below_3t", 2.95e12, (0, None, None))
    messages = render_all(rules["reserves_below_3t"], t, default_catalog())
    history_store.record("reserves_below_3t", Alert(), [(
        {"topic": "reserves", "severity": "warning", "state": "firing", "data_date": "2026-06-10", "value": 2.95e12,
         "text": messages["en"].to_text(), "payload": payload(messages)},
        [("telegram", "4203", "sub"), ("telegram", "4205", "sub")])], "2026-06-11T00:00:00")
    await Deliverer(history_store, [tg], lambda: datetime(2026, 6, 11)).drain_once()
    zh, en = fake.to(4203)[-1].text, fake.to(4205)[-1].text
    assert zh.startswith("<b>⚠️ 触发: 准备金低于3万亿美元</b>") and "为何重要" in zh
    assert en.startswith("<b>⚠️ FIRING: Reserves below $3T</b>") and "Why it matters" in en


async def test_commands_for_another_bot_are_ignored_in_groups(tg, fake):
    fake.user_sends(-4206, "/status@some_other_bot", chat_type="supergroup", title="Desk")
    fake.user_sends(-4206, "/frobnicate@some_other_bot", chat_type="supergroup", title="Desk")
    replies = await ask(fake, -4206, "/help", chat_type="supergroup", title="Desk")
    await asyncio.sleep(0.5)
    assert len(fake.to(-4206)) == 1 and "Liquidity Bot watches" in replies[0]


async def test_one_registry_builds_menu_and_help(tg, fake, history_store, rules):
    svc = _service(history_store, rules)
    tg_help = svc.help_text(Ctx("telegram", "1"))
    slack_help = svc.help_text(Ctx("slack", "C1", prefix="/liquidity "))
    for cmd in COMMANDS:
        if cmd.menu:
            assert f"/{cmd.name}" in tg_help and f"/liquidity {cmd.name}" in slack_help
    assert {c["command"] for c in fake.menus[0]["commands"]} == {c.name for c in COMMANDS if c.menu}
    zh = [m for m in fake.menus if m["language_code"] == "zh"]
    assert zh and any(c["description"] == "最近的提醒" for c in zh[0]["commands"])


def test_a_chinese_regime_alert_names_the_bands_in_chinese(rules):
    # The regime is judged on reserves as a share of bank assets (percent), not dollars.
    t = Transition("reserves_regime", "regime", date(2026, 6, 10), datetime(2026, 6, 11, 21), 9.4,
                   from_regime="ample", to_regime="scarce")
    zh = render(rules["reserves_regime"], t, default_catalog(), "zh")
    assert "准备金状态由充足转为稀缺" in zh.headline and zh.title.startswith("ℹ️ 状态切换: 准备金状态")
    en = render(rules["reserves_regime"], t, default_catalog())
    assert "from ample to scarce" in en.headline and "9.40%" in en.headline, en.headline


def test_quiet_and_digest_mistakes_are_explained_in_the_chats_language(history_store, rules):
    svc = _service(history_store, rules)
    zh = Ctx("telegram", "77", lang="zh")
    assert svc.quiet(zh, ["22:00-07:00", "Mars/Base"]).text.startswith("未知时区 'Mars/Base'")
    assert "请选择 daily、weekly 或 off" in svc.digest(zh, ["hourly"]).text
    assert svc.quiet(Ctx("telegram", "77"), ["7pm-8am"]).text.startswith("'7pm' is not a time of day")
