"""Global central-bank liquidity: the ECB's and the BoJ's balance sheets in dollars, and the split
of a change in Fed + ECB + BoJ into balance-sheet moves and exchange-rate moves. Pure.

Dates are aligned honestly: each balance sheet is converted at the exchange rate of its OWN date
(or the last FX fixing before it, within FX_TOLERANCE_DAYS), and a slower print (the BoJ's monthly
one) is carried forward to later dates with its own date kept, never interpolated or taken from
the future. A euro rally raises the ECB's dollar value without any ECB easing: `split` says how much.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from bot.catalog import Catalog
from bot.metrics import last_at

# H.10 rates are missing on US holidays: the fixing of the last business day before is the rate.
FX_TOLERANCE_DAYS = 7
# The catalog metrics each bank's leg is read from: (amount in its currency, FX rate or None).
LEG_METRICS: dict[str, tuple[str, str | None]] = {
    "fed": ("fed_assets", None), "ecb": ("ecb_assets", "usd_per_eur"), "boj": ("boj_assets", "jpy_per_usd")}


def usd_per_unit(rate: float | np.ndarray, rate_unit: str) -> float | np.ndarray:
    """Dollars for one unit of the foreign currency: DEXUSEU is already USD per EUR, DEXJPUS is
    JPY per USD and is inverted."""
    if rate_unit == "usd_per_eur":
        return rate
    if rate_unit == "jpy_per_usd":
        return 1.0 / rate
    raise ValueError(f"not an exchange-rate unit: {rate_unit!r}")


def convert_frame(amount: pd.DataFrame, fx: pd.DataFrame, rate_unit: str) -> pd.DataFrame:
    """A foreign-currency metric frame (value, known) in dollars, on the amount's own dates, at the
    FX of the same date; known once both were public. Dates without a rate are dropped."""
    if amount.empty or fx.empty:
        return pd.DataFrame({"value": pd.Series(dtype=float), "known": pd.Series(dtype="datetime64[ns]")},
                            index=pd.DatetimeIndex([], name="date"))
    src = fx.sort_index()
    pos = src.index.searchsorted(amount.index, side="right") - 1
    ok = pos >= 0
    safe = np.where(ok, pos, 0)
    fx_dates = src.index[safe]
    ok &= (amount.index - fx_dates) <= pd.Timedelta(days=FX_TOLERANCE_DAYS)
    rate = np.where(ok, src["value"].to_numpy()[safe], np.nan)
    known = np.maximum(amount["known"].to_numpy(), src["known"].to_numpy()[safe])
    out = pd.DataFrame({"value": amount["value"].to_numpy() * usd_per_unit(rate, rate_unit), "known": known},
                       index=pd.DatetimeIndex(amount.index, name="date"))
    return out[ok].dropna()


@dataclass(frozen=True)
class Leg:
    """One central bank's balance sheet as used at some date: its own print date and value in its
    own currency, and the exchange rate (dollars per unit) of the FX date used to convert it."""

    bank: str
    date: dt.date
    local: float
    usd_per_unit: float = 1.0
    fx_date: dt.date | None = None

    @property
    def usd(self) -> float:
        return self.local * self.usd_per_unit


@dataclass(frozen=True)
class Snapshot:
    """Fed, ECB and BoJ as they stood at `at` (each leg dated by its own latest print)."""

    at: date
    legs: dict[str, Leg]

    @property
    def total(self) -> float:
        return sum(leg.usd for leg in self.legs.values())


def tolerance(catalog: Catalog, metric: str) -> int:
    """How old a print may be and still stand for a later date: the rule formula metrics use."""
    return 2 * catalog.metrics[metric].cadence_days + 7


def snapshot_at(catalog: Catalog, frames: dict[str, pd.DataFrame], at: date) -> Snapshot | None:
    """The three legs at `at`, or None when one of them has no print recent enough."""
    ts = pd.Timestamp(at)
    legs: dict[str, Leg] = {}
    for bank, (amount_metric, fx_metric) in LEG_METRICS.items():
        found = last_at(frames.get(amount_metric), ts, tolerance(catalog, amount_metric))
        if found is None:
            return None
        d, local = found
        if fx_metric is None:
            legs[bank] = Leg(bank, d, local)
            continue
        fx = last_at(frames.get(fx_metric), pd.Timestamp(d), FX_TOLERANCE_DAYS)
        if fx is None:
            return None
        rate = float(usd_per_unit(fx[1], catalog.metrics[fx_metric].unit))
        legs[bank] = Leg(bank, d, local, rate, fx[0])
    return Snapshot(at, legs)


@dataclass(frozen=True)
class Split:
    """A change in Fed + ECB + BoJ in dollars, split into what each bank did (balance sheet at
    constant FX) and what the euro and the yen did (FX at constant balance sheet), in dollars.

    The cross term (balance sheet and FX moving together) is split half and half: each move is
    valued at the AVERAGE of the start and end rate (or balance sheet), which makes the factors add
    up to the change exactly; `residual` is what is left (rounding only)."""

    start: Snapshot
    end: Snapshot
    fed: float
    ecb: float
    boj: float
    eur_fx: float
    jpy_fx: float

    @property
    def change(self) -> float:
        return self.end.total - self.start.total

    @property
    def residual(self) -> float:
        return self.change - (self.fed + self.ecb + self.boj + self.eur_fx + self.jpy_fx)


def _halves(a: Leg, b: Leg) -> tuple[float, float]:
    """(balance-sheet effect, FX effect) of one leg from a to b, in dollars (midpoint split)."""
    balance = (b.local - a.local) * (a.usd_per_unit + b.usd_per_unit) / 2
    fx = (b.usd_per_unit - a.usd_per_unit) * (a.local + b.local) / 2
    return balance, fx


def split(start: Snapshot, end: Snapshot) -> Split:
    """The change from `start` to `end`, factor by factor (see Split)."""
    ecb, eur_fx = _halves(start.legs["ecb"], end.legs["ecb"])
    boj, jpy_fx = _halves(start.legs["boj"], end.legs["boj"])
    fed = end.legs["fed"].usd - start.legs["fed"].usd
    return Split(start, end, fed, ecb, boj, eur_fx, jpy_fx)
