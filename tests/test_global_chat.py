"""Global liquidity where people see it: `/why global`, `liquidity-bot why`, the /status line and
`/chart global`, over the real history in ../shared/data."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import date, datetime

import pytest

from bot.catalog import default_catalog
from bot.cli import main
from bot.commands import REGISTRY, CommandService, Ctx
from bot.why import attribute

NOW = datetime(2026, 11, 22, 12)


def _service(store) -> CommandService:
    return CommandService(store, default_catalog(), lambda: [], lambda: NOW)


def _ask(service: CommandService, name: str, *args: str, lang: str = "en"):
    return asyncio.run(service.dispatch(Ctx("telegram", "1", lang=lang), name, list(args)))


def test_why_global_splits_fed_ecb_boj_and_fx_largest_first(history_store):
    assert "why" in REGISTRY   # Telegram /why and Slack `/liquidity why` come from the registry
    text = _ask(_service(history_store), "why", "global", "13w")[0].text
    lines = text.splitlines()
    assert lines[0].startswith("Fed + ECB + BoJ assets (in dollars): ") and " from " in lines[0]
    factors = lines[1:6]
    assert all(f.startswith("• ") for f in factors)
    assert {w for f in factors for w in ("Fed", "ECB", "BoJ", "EUR/USD", "USD/JPY") if w in f} == {
        "Fed", "ECB", "BoJ", "EUR/USD", "USD/JPY"}
    effects = [abs(float(f.rsplit("$", 1)[1][:-1]) * (1e3 if f.endswith("T") else 1)) for f in factors]
    assert effects == sorted(effects, reverse=True)
    assert lines[6].startswith("• Residual ")
    assert "carried forward" in text and "half and half" in text


def test_why_other_metrics_say_not_yet_and_list_what_is(history_store):
    text = _ask(_service(history_store), "why", "sofr", "4w")[0].text
    assert text == "No breakdown of sofr yet. Supported: global, reserves, net_liquidity."
    assert "暂不支持" in _ask(_service(history_store), "why", "sofr", lang="zh")[0].text


def test_why_global_in_chinese(history_store):
    text = _ask(_service(history_store), "why", "global", lang="zh")[0].text
    assert text.startswith("美联储+欧洲央行+日本央行资产（美元计）：") and "汇率不变" in text


def test_cli_why_json_on_a_known_window(shared_data, tmp_path, capsys):
    code = main(["--db", str(tmp_path / "w.db"), "why", "global", "--weeks", "13", "--to", "2024-01-03", "--json",
                 "--data", str(shared_data / "fred")])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"metric", "from", "to", "change", "factors", "residual"}
    assert (out["metric"], out["from"], out["to"]) == ("global", "2023-10-04", "2024-01-03")
    assert [f["name"] for f in out["factors"]] == ["eur_fx", "jpy_fx", "fed", "ecb", "boj"]
    assert out["factors"][0]["label"] == "EUR/USD 1.0584 → 1.1062"
    assert out["change"] == pytest.approx(262.5e9, abs=1e9) and abs(out["residual"]) < 1.0
    assert sum(f["effect"] for f in out["factors"]) + out["residual"] == pytest.approx(out["change"])
    assert main(["--db", str(tmp_path / "w.db"), "why", "sofr"]) == 1
    assert "Supported: global" in capsys.readouterr().err


def test_attribution_registry_answers_one_shape(history_store, catalog):
    frames = history_store.frames(catalog)
    att = attribute("global", catalog, frames, weeks=1, to=date(2022, 5, 4))
    assert att.end == date(2022, 5, 4) and att.start == date(2022, 4, 27)
    assert att.change == pytest.approx(sum(f.effect for f in att.factors) + att.residual)


def test_status_has_one_global_line_within_40_characters(history_store):
    reply = _service(history_store).status_text()
    line = next(x for x in reply.text.splitlines() if x.startswith("• Global CBs $"))
    assert ", 4w " in line and len(line) <= 40
    zh = _service(history_store).status_text("zh").text
    assert any(x.startswith("• 全球央行 $") for x in zh.splitlines())


def test_chart_global_is_the_three_stacked_in_dollars(history_store):
    from PIL import Image

    service = _service(history_store)
    reply = _ask(service, "chart", "global", "max")[0]
    assert reply.chart == ("global", "max")
    png = asyncio.run(service.chart_png("global", "max"))
    assert png is not None and Image.open(io.BytesIO(png)).size == (1280, 720)
    assert service.chart_caption("global", "max") == "Fed + ECB + BoJ assets (in dollars), all history"


def test_why_offers_its_windows_when_given_another(history_store):
    assert _ask(_service(history_store), "why", "global", "2w")[0].text == "Windows: 1w, 4w, 13w"
    assert _ask(_service(history_store), "why", "1w")[0].text.startswith("Fed + ECB + BoJ assets (in dollars): ")


def test_personal_alerts_on_the_new_series_read_their_units(catalog):
    from bot.personal import AlertSyntaxError, parse

    assert parse(["ecb_assets", "<", "6T"], catalog) == ("ecb_assets", "<", 6e12, 1)          # euros
    assert parse(["usd_per_eur", ">", "1.20"], catalog) == ("usd_per_eur", ">", 1.2, 1)
    assert parse(["global_cb_assets_usd", "<", "18.5T"], catalog)[2] == 18.5e12
    with pytest.raises(AlertSyntaxError, match="plain number"):
        parse(["jpy_per_usd", ">", "150B"], catalog)
