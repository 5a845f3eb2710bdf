"""Global central-bank liquidity (issue 23): the ECB and the BoJ from FRED's keyless CSV, in dollars
at the same date's exchange rate, and the split of a change into balance sheets and FX."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from bot.global_liquidity import Leg, Snapshot, convert_frame, snapshot_at, split
from bot.metrics import compute_metrics, needed_series
from bot.sources.fred import FredApiSource, FredCsvSource
from bot.sources.http import make_client
from bot.units import UnitError, fred_units_to_catalog
from tests.fakes.http import FakeServer
from tests.fakes.sources import FakeFred

# Real rows, as FRED's keyless fredgraph.csv serves them (header `observation_date,ID`, an empty
# cell for a missing day). ECBASSETSW: the raw fredgraph download in vicdecoc/Assignment-2---macro
# ECBASSETSW.csv @666c0a0b (values written "6935489.0000000000"); JPNASSETS: FRED's cache in
# 001delusionalfinance-spec/research donnees/brut/fred/JPNASSETS.csv @5c37b977 (100 million yen);
# DEXUSEU: the raw fredgraph download in 2tmb2/CorporateBondSpreadPrediction data/DEXUSEU.csv @eb183951
# (empty cell on 2024-01-01, New Year's Day); DEXJPUS: codejoncode/congenial-fortnight data/DEXJPUS.csv
# @a8656b3e. All four are the copies in ../shared/data/fred (PROVENANCE.md).
FRED_ROWS = {
    "ECBASSETSW": [("2023-12-22", "6986116.0000000000"), ("2023-12-29", "6935489.0000000000")],
    "JPNASSETS": [("2023-12-01", "7499632.0"), ("2024-01-01", "7564336.0")],
    "DEXUSEU": [("2023-12-29", "1.1062"), ("2024-01-01", "."), ("2024-01-02", "1.0957")],
    "DEXJPUS": [("2023-12-29", "140.92"), ("2024-01-01", "."), ("2024-01-02", "141.89")],
}
# FRED's own `units` text for each (series notes: "Millions of Euros", "100 Million Yen", H.10's quotes).
FRED_UNITS = {"ECBASSETSW": "Millions of Euros", "JPNASSETS": "100 Million Yen",
              "DEXUSEU": "U.S. Dollars to One Euro", "DEXJPUS": "Japanese Yen to One U.S. Dollar"}


@pytest.fixture
def server():
    with FakeServer() as s:
        yield s


def test_keyless_csv_of_the_four_new_series_in_base_units(server, catalog):
    FakeFred(server, FRED_ROWS)
    src = FredCsvSource(catalog, make_client(5), server.url)
    assert src.fetch(catalog.series["ECBASSETSW"], None)[-1] == ("2023-12-29", pytest.approx(6.935489e12))  # euros
    assert src.fetch(catalog.series["JPNASSETS"], None)[-1] == ("2024-01-01", pytest.approx(7.564336e14))   # yen
    assert src.fetch(catalog.series["DEXUSEU"], None) == [("2023-12-29", 1.1062), ("2024-01-02", 1.0957)]
    assert src.fetch(catalog.series["DEXJPUS"], None) == [("2023-12-29", 140.92), ("2024-01-02", 141.89)]


def test_fred_units_of_foreign_series_are_checked_never_read_as_dollars(server, catalog):
    assert {sid: fred_units_to_catalog(u) for sid, u in FRED_UNITS.items()} == {
        "ECBASSETSW": "millions_eur", "JPNASSETS": "hundred_millions_jpy",
        "DEXUSEU": "usd_per_eur", "DEXJPUS": "jpy_per_usd"}
    assert fred_units_to_catalog("Billions of Euros") is None   # a scale we do not know is refused
    FakeFred(server, FRED_ROWS, units=FRED_UNITS)
    api = FredApiSource(catalog, "k" * 32, server.url + "/fred", timeout=5)
    assert api.fetch(catalog.series["ECBASSETSW"], None)[-1][1] == pytest.approx(6.935489e12)
    FakeFred(server, FRED_ROWS, units={"ECBASSETSW": "Millions of U.S. Dollars"})
    with pytest.raises(UnitError, match="millions_eur"):
        FredApiSource(catalog, "k" * 32, server.url + "/fred", timeout=5).fetch(catalog.series["ECBASSETSW"], None)


def _frame(points: dict[str, float], known_lag_days: int = 0) -> pd.DataFrame:
    idx = pd.DatetimeIndex(list(points), name="date")
    return pd.DataFrame({"value": list(points.values()), "known": idx + pd.Timedelta(days=known_lag_days)}, index=idx)


def test_conversion_uses_the_same_dates_rate_or_the_last_before_never_a_later_one():
    boj = _frame({"2024-01-01": 7.564336e14}, known_lag_days=30)
    jpy = _frame({"2023-12-29": 140.92, "2024-01-02": 141.89}, known_lag_days=5)
    out = convert_frame(boj, jpy, "jpy_per_usd")
    # New Year's Day has no H.10 rate: Friday's 140.92, not Tuesday's 141.89.
    assert out["value"].iloc[0] == pytest.approx(7.564336e14 / 140.92)
    assert out["known"].iloc[0] == pd.Timestamp("2024-01-31")   # known once both were public
    stale = convert_frame(boj, _frame({"2023-12-01": 147.0}), "jpy_per_usd")
    assert stale.empty   # a month-old rate is not "the same date's"


def test_dollar_values_on_known_dates_from_the_real_history(history_store, catalog):
    frames = compute_metrics(catalog, history_store.load_series(needed_series(catalog)))
    ecb = frames["ecb_assets_usd"]["value"]
    assert ecb[pd.Timestamp("2023-12-29")] == pytest.approx(6.935489e12 * 1.1062)       # ~$7.672T
    boj = frames["boj_assets_usd"]["value"]
    assert boj[pd.Timestamp("2024-01-01")] == pytest.approx(7.564336e14 / 140.92)       # ~$5.368T, rate of 12-29
    total = frames["global_cb_assets_usd"].loc[pd.Timestamp("2024-01-03")]
    # The Fed's Wednesday, the ECB's Friday before it and the BoJ's month dated 2024-01-01.
    assert total["value"] == pytest.approx(7.681024e12 + 6.935489e12 * 1.1062 + 7.564336e14 / 140.92)
    assert total["known"] >= pd.Timestamp("2024-01-31")   # not before the BoJ month was out: no look-ahead


def test_q4_2023_global_liquidity_rose_while_the_fed_shrank_mostly_fx(history_store, catalog):
    frames = compute_metrics(catalog, history_store.load_series(needed_series(catalog)))
    start, end = snapshot_at(catalog, frames, date(2023, 10, 4)), snapshot_at(catalog, frames, date(2024, 1, 3))
    assert start is not None and end is not None
    assert end.legs["boj"].date == date(2024, 1, 1) and end.legs["boj"].fx_date == date(2023, 12, 29)
    assert end.legs["ecb"].date == date(2023, 12, 29)
    s = split(start, end)
    assert s.change == pytest.approx(262.5e9, abs=1e9)      # Fed + ECB + BoJ up ~$263B in dollars...
    assert s.fed == pytest.approx(-274.758e9)                # ...while the Fed shrank $275B (QT)
    assert s.ecb == pytest.approx(-141.7e9, abs=1e9)         # ECB shrank in euros too
    assert s.boj == pytest.approx(39.9e9, abs=1e9)
    assert s.eur_fx == pytest.approx(334.6e9, abs=1e9)       # the euro's rally, not ECB easing
    assert s.jpy_fx == pytest.approx(304.5e9, abs=1e9)
    assert s.change == pytest.approx(end.total - start.total)
    assert abs(s.residual) < 1.0                             # the midpoint split leaves no cross term


def test_split_a_currency_move_alone_is_all_fx():
    a = Snapshot(date(2024, 1, 3), {"fed": Leg("fed", date(2024, 1, 3), 7e12),
                                     "ecb": Leg("ecb", date(2023, 12, 29), 6e12, 1.10, date(2023, 12, 29)),
                                     "boj": Leg("boj", date(2024, 1, 1), 750e12, 1 / 150, date(2023, 12, 29))})
    b = Snapshot(date(2024, 1, 31), {**a.legs, "ecb": Leg("ecb", date(2024, 1, 26), 6e12, 1.00, date(2024, 1, 26))})
    s = split(a, b)
    assert s.eur_fx == pytest.approx(-0.6e12) and s.ecb == 0 and s.fed == 0 and s.boj == 0 and s.jpy_fx == 0


def test_backtest_finds_the_2022_global_drain(history_store, catalog):
    from bot.rules.loader import load_rules
    from bot.rules.replay import backtest
    from tests.test_rules_loader import RULES

    frames = compute_metrics(catalog, history_store.load_series(needed_series(catalog)))
    rules = load_rules([RULES / "global.yaml"], catalog).rules
    got = [(t.rule_id, t.state, str(t.data_date)) for t in backtest(rules, frames, catalog.units)]
    assert ("global_liquidity_drain_4w", "firing", "2022-05-04") in got    # QT starting and a surging dollar
    assert ("global_liquidity_turn", "regime", "2022-04-20") in got          # expanding -> contracting
    assert ("global_liquidity_turn", "regime", "2022-12-14") in got          # and back, before the 2023 rally
